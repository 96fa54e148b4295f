"""The static checks of `make lint` (issue 8), each printing one `BAR <name>: <figures>` line.

    python -m tools.static_checks                 # ruff, ruff-format, mypy, bandit, lock, pip-audit
    python -m tools.static_checks bandit lock     # only those
    python -m tools.static_checks --require-audit # also fail when pip-audit could not audit a package

Every check runs even when an earlier one fails (so every figure is printed); the exit status is 1 when
any figure misses its target:
- ruff: violations 0 and files needing reformatting 0 (config in pyproject.toml);
- mypy on shared/ and functions/ (pyproject.toml): errors 0;
- bandit on the shipped and tooling code (BANDIT_TARGETS; tests are excluded in [tool.bandit]): findings of
  severity medium or high 0, unless the line carries a justified `# nosec B<id> # reason` naming that test
  (bandit runs with --ignore-nosec so that a bare or unjustified `# nosec` cannot hide anything);
- lock: requirements.lock pins exactly what requirements-dev.txt installs here (tools/lock.py);
- pip-audit on requirements.lock (--no-deps --disable-pip: the pins themselves, no temporary venv), using
  PyPI's JSON API per release (/pypi/<name>/<version>/json): known vulnerabilities 0. A package the service
  could not look up (a 404 from a proxy that serves only /simple and /pypi/<name>/json, or no network) is
  counted as not_audited and reported; it fails the run only with --require-audit.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BANDIT_TARGETS = ("shared", "functions", "local", "infra", "tools", "app.py")
GATED_SEVERITIES = {"MEDIUM", "HIGH"}
LOCK = "requirements.lock"

NOSEC = re.compile(r"#\s*nosec\b:?(?P<rest>.*)", re.IGNORECASE)
TEST_ID = re.compile(r"\bB\d{3}\b")
MIN_REASON = 12  # characters of prose after the test ids
UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|Max retries exceeded|Temporary failure in name resolution"
)


@dataclass
class Outcome:
    name: str
    figures: dict[str, Any]
    failures: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        return f"BAR {self.name}: " + ", ".join(f"{key}={value}" for key, value in self.figures.items())


def run(*command: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  # nosec B603 # fixed argument lists, never a shell
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ruff and mypy ------------------------------------------------------------------------------------------


def check_ruff() -> Outcome:
    lint = run("ruff", "check", "--output-format", "json", ".")
    violations = json.loads(lint.stdout or "[]")
    formatting = run("ruff", "format", "--check", ".")
    unformatted = [line for line in formatting.stdout.splitlines() if line.startswith("Would reformat")]
    outcome = Outcome("ruff", {"violations": len(violations), "unformatted": len(unformatted)})
    for v in violations:
        where = f"{Path(v['filename']).relative_to(ROOT)}:{v['location']['row']}:{v['location']['column']}"
        outcome.failures.append(f"{where}: {v['code']} {v['message']}")
    outcome.failures.extend(unformatted)
    if lint.returncode not in (0, 1) or formatting.returncode not in (0, 1):
        outcome.failures.append(f"ruff did not run: {lint.stderr.strip()} {formatting.stderr.strip()}")
    return outcome


MYPY_SUMMARY = re.compile(
    r"^(?:Success: no issues found in (?P<ok>\d+) source files?"
    r"|Found (?P<errors>\d+) errors? in \d+ files? \(checked (?P<checked>\d+) source files?\))$",
    re.MULTILINE,
)


def check_mypy() -> Outcome:
    result = run("mypy")
    summary = MYPY_SUMMARY.search(result.stdout)
    if summary is None:
        return Outcome("mypy", {"files": "?", "errors": "?"}, [f"mypy did not run: {result.stderr.strip()}"])
    files = int(summary["ok"] or summary["checked"])
    errors = int(summary["errors"] or 0)
    outcome = Outcome("mypy", {"files": files, "errors": errors})
    if errors:
        outcome.failures.extend(line for line in result.stdout.splitlines() if ": error:" in line)
    return outcome


# bandit ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nosec:
    tests: frozenset[str]
    reason: str

    @property
    def justified(self) -> bool:
        return bool(self.tests) and len(self.reason) >= MIN_REASON


def parse_nosec(comment: str) -> Nosec | None:
    """`# nosec B310 # why` (or `# nosec B310  why`) → the test ids it names and the reason it gives."""
    found = NOSEC.search(comment)
    if found is None:
        return None
    rest = found["rest"]
    tests = frozenset(TEST_ID.findall(rest))
    reason = TEST_ID.sub("", rest).strip(" \t#,:-")
    return Nosec(tests, reason)


def nosec_comments(source: str) -> dict[int, Nosec]:
    """{line: Nosec} for the real comments of a module (not strings that happen to say nosec)."""
    found: dict[int, Nosec] = {}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in tokens:
        if token.type == tokenize.COMMENT and (nosec := parse_nosec(token.string)) is not None:
            found[token.start[0]] = nosec
    return found


def gate_bandit(results: Iterable[dict[str, Any]], comments: Callable[[str], dict[int, Nosec]]) -> Outcome:
    """Split bandit's findings (run with --ignore-nosec) into justified, gated and ungated ones."""
    gated: list[str] = []
    justified = low = 0
    for result in results:
        if result["issue_severity"] not in GATED_SEVERITIES:
            low += 1
            continue
        lines = result.get("line_range") or [result["line_number"]]
        notes = comments(result["filename"])
        if any(result["test_id"] in n.tests and n.justified for n in (notes.get(i) for i in lines) if n):
            justified += 1
            continue
        gated.append(
            f"{result['filename']}:{result['line_number']}: {result['test_id']} "
            f"({result['issue_severity'].lower()}) {result['issue_text']}"
        )
    figures = {"medium_or_higher": len(gated), "nosec": justified, "low": low}
    return Outcome("bandit", figures, gated)


def check_bandit() -> Outcome:
    result = run(
        "bandit", "-c", "pyproject.toml", "-r", *BANDIT_TARGETS, "--ignore-nosec", "-f", "json", "-q"
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return Outcome("bandit", {"files": "?"}, [f"bandit did not run: {result.stderr.strip()}"])
    files = sorted(name for name in report["metrics"] if name != "_totals")
    cache: dict[str, dict[int, Nosec]] = {}

    def comments(filename: str) -> dict[int, Nosec]:
        if filename not in cache:
            cache[filename] = nosec_comments((ROOT / filename).read_text(encoding="utf-8"))
        return cache[filename]

    outcome = gate_bandit(report["results"], comments)
    unjustified = [
        f"{name}:{line}: `# nosec` needs a test id and a reason (`# nosec B310 # why`)"
        for name in files
        for line, note in comments(name).items()
        if not note.justified
    ]
    outcome.figures = {"files": len(files), **outcome.figures, "unjustified_nosec": len(unjustified)}
    outcome.failures.extend(unjustified)
    outcome.failures.extend(f"bandit could not scan {e['filename']}: {e['reason']}" for e in report["errors"])
    return outcome


# the lock and pip-audit ---------------------------------------------------------------------------------


def locked_names() -> list[str]:
    lines = (ROOT / LOCK).read_text(encoding="utf-8").splitlines()
    return [line.split("==", 1)[0] for line in lines if "==" in line and not line.startswith("#")]


def check_lock() -> Outcome:
    result = run("tools.lock", "--check")
    pinned = len(locked_names())
    outcome = Outcome("lock", {"pinned": pinned, "stale": int(result.returncode != 0)})
    if result.returncode:
        outcome.failures.append(result.stderr.strip() or result.stdout.strip())
    return outcome


def summarise_audit(report: dict[str, Any]) -> tuple[dict[str, int], list[str], list[str]]:
    """pip-audit's JSON → figures, the vulnerabilities found, and the packages it could not look up."""
    dependencies = report["dependencies"]
    vulnerable = [
        f"{d['name']}=={d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions') or []) or '-'})"
        for d in dependencies
        for v in d.get("vulns", [])
    ]
    skipped = [f"{d['name']}: {d['skip_reason']}" for d in dependencies if "skip_reason" in d]
    figures = {
        "packages": len(dependencies),
        "audited": len(dependencies) - len(skipped),
        "not_audited": len(skipped),
        "vulnerabilities": len(vulnerable),
    }
    return figures, vulnerable, skipped


def check_pip_audit(require_audit: bool) -> Outcome:
    result = run(
        "pip_audit", "-r", LOCK, "--no-deps", "--disable-pip", "-f", "json", "--progress-spinner", "off"
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        if not UNREACHABLE.search(error):
            return Outcome("pip-audit", {"packages": "?"}, [f"pip-audit did not run: {error}"])
        # The vulnerability service cannot be reached at all: every pin is unaudited.
        report = {"dependencies": [{"name": name, "skip_reason": error} for name in locked_names()]}
    figures, vulnerable, skipped = summarise_audit(report)
    outcome = Outcome("pip-audit", figures, vulnerable)
    if skipped:
        note = (
            f"pip-audit could not look up {len(skipped)} of {figures['packages']} packages "
            f"(first: {skipped[0]}): their vulnerabilities are unknown"
        )
        if require_audit:
            outcome.failures.append(note)
        else:
            print(f"warning: {note}", file=sys.stderr)
    return outcome


# runner ---------------------------------------------------------------------------------------------------


def checks(require_audit: bool) -> dict[str, Callable[[], Outcome]]:
    return {
        "ruff": check_ruff,
        "mypy": check_mypy,
        "bandit": check_bandit,
        "lock": check_lock,
        "pip-audit": lambda: check_pip_audit(require_audit),
    }


def report(outcomes: Iterable[Outcome]) -> Iterator[str]:
    for outcome in outcomes:
        yield from (f"  {failure}" for failure in outcome.failures)
        yield outcome.line + ("" if not outcome.failures else "  <- FAILED")


def main(argv: list[str] | None = None) -> int:
    available = checks(require_audit=False)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", metavar="CHECK", help=f"any of {', '.join(available)} (default all)"
    )
    parser.add_argument(
        "--require-audit", action="store_true", help="fail on packages pip-audit cannot audit"
    )
    args = parser.parse_args(argv)
    if unknown := set(args.names) - set(available):
        parser.error(f"unknown checks: {', '.join(sorted(unknown))}")
    selected = checks(args.require_audit)
    failed = False
    for name in args.names or list(selected):
        outcome = selected[name]()
        for line in report([outcome]):
            print(line, flush=True)
        failed = failed or bool(outcome.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
