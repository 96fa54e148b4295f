"""An interpreter of the Lambda runtime's Python version, only to write the bytecode the assets ship.

Bytecode is specific to a Python version (3.11's is ignored by 3.14) but not to a machine, so any
CPython of the runtime's version can compile for Lambda. Looked for the ordinary ways first, each
without the network and with a time limit: `python3.14` on PATH, a pyenv build
(`$PYENV_ROOT`, ~/.pyenv or `pyenv root`: versions/3.14*, then `pyenv which python3.14`),
`uv python find 3.14` (uv's installed interpreters, downloads off). Else a copy provisioned under
`.build/python3.14/` from Debian's own binary packages (the `sid` suite carries python3.14):
`apt-get download` with a private package list, checked against the Debian archive keyring, unpacked
with `dpkg-deb -x`, and run through the glibc it was built against (its own dynamic loader), so it runs
on an older Debian too. The archive is the machine's own: the first binary (`deb`) source of its apt
configuration (/etc/apt/sources.list, then sources.list.d/*.list and *.sources) with the `main`
component that serves Debian (a Debian suite, the Debian keyring or a `/debian` path; security-only
sources skipped). No archive is named here. Done once per version: later synths find it under
`.build/`. Where apt, an archive or the network is missing, there is none, and the assets ship
sources only.

`python -m infra.runtime_python` provisions it and prints its path (or exits 1).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_VERSION = "3.14"
APT_ETC = Path("/etc/apt")  # the machine's apt configuration: where its archives are named
DEBIAN_SUITE = "sid"  # the suite that carries python3.14 while the stable one has 3.11
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# Debian's suites and codenames (before any "-updates", "-backports"...): a source with one serves Debian.
DEBIAN_SUITES = frozenset(
    {
        *("sid", "unstable", "testing", "stable", "oldstable", "oldoldstable", "experimental"),
        *("buster", "bullseye", "bookworm", "trixie", "forky", "duke"),
    }
)
# The interpreter and its standard library, with the libraries they were linked against, glibc first.
DEBIAN_PACKAGES = (
    f"python{RUNTIME_VERSION}-minimal",
    f"libpython{RUNTIME_VERSION}-minimal",
    f"libpython{RUNTIME_VERSION}-stdlib",
    "libc6",
    "libexpat1",
    "libssl3t64",
    "zlib1g",
    "libffi8",
    "libzstd1",
)
WRAPPER = f"bin/python{RUNTIME_VERSION}"
RETRY_PROVISION_SECONDS = 3600
PROBE_SECONDS = 15  # the longest `pyenv`/`uv` may take to answer where an interpreter is
RUN_SECONDS = 60  # the longest an interpreter may take to say its version
APT_SECONDS = 900  # the longest one `apt-get update`/`download` of the provisioning may take
_CHECK = "import sys; print('%d.%d' % sys.version_info[:2])"


@cache
def runtime_interpreter(build_dir: Path = PROJECT_ROOT / ".build") -> str | None:
    """The path of a CPython of the runtime's version, or None (logged) if none can be had."""
    name = f"python{RUNTIME_VERSION}"
    for candidate in [*_installed_interpreters(), str(build_dir / name / WRAPPER)]:
        if _runs(candidate):
            return candidate
    failed = build_dir / f"{name}.failed"  # every synth process asks: after a failure, wait a while
    age = time.time() - failed.stat().st_mtime if failed.is_file() else None  # noqa: TID251 (a file's age)
    recently_failed = age is not None and age < RETRY_PROVISION_SECONDS
    provisioned = None if recently_failed else provision(build_dir)
    if provisioned is None:
        if not recently_failed:
            build_dir.mkdir(parents=True, exist_ok=True)
            failed.touch()
        _log(f"no {name} on PATH, from pyenv, from uv or from Debian: Lambda assets ship WITHOUT bytecode")
    else:
        failed.unlink(missing_ok=True)
    return provisioned


def _installed_interpreters() -> Iterator[str]:
    """Where this machine may already have the runtime's Python, most ordinary first (lazily: cheap)."""
    name = f"python{RUNTIME_VERSION}"
    if on_path := shutil.which(name):
        yield on_path
    pyenv = shutil.which("pyenv")
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    if pyenv is not None:
        roots.append(_output([pyenv, "root"], PROBE_SECONDS))
    for root in dict.fromkeys(root for root in roots if root):
        builds = Path(root).glob(f"versions/{RUNTIME_VERSION}*/bin/{name}")
        yield from sorted(map(str, builds), reverse=True)
    if pyenv is not None and (selected := _output([pyenv, "which", name], PROBE_SECONDS)):
        yield selected  # the version pyenv selects here (.python-version, PYENV_VERSION)
    if (uv := shutil.which("uv")) is not None:
        offline = {**os.environ, "UV_OFFLINE": "1", "UV_PYTHON_DOWNLOADS": "never"}
        if found := _output([uv, "python", "find", RUNTIME_VERSION], PROBE_SECONDS, env=offline):
            yield found


def provision(build_dir: Path) -> str | None:
    """Fetch and unpack Debian's python3.14 into build_dir/python3.14; the wrapper's path, or None."""
    target = build_dir / f"python{RUNTIME_VERSION}"
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt_get is None or dpkg_deb is None or not DEBIAN_KEYRING.is_file():
        _log("apt-get, dpkg-deb or the Debian archive keyring missing: cannot fetch Debian's python")
        return None
    archive = debian_archive(apt_sources_files(APT_ETC))
    if archive is None:
        _log(f"no Debian archive (deb, main) in {APT_ETC}'s sources: cannot fetch Debian's python")
        return None
    _log(
        f"fetching python{RUNTIME_VERSION} from Debian {DEBIAN_SUITE} at {archive.uri} into {target}"
        " (once per version)"
    )
    build_dir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=build_dir))
    try:
        debs = _download(apt_get, partial / "apt", archive.uri)
        root = partial / "root"
        for deb in debs:
            subprocess.run([dpkg_deb, "-x", str(deb), str(root)], check=True)  # noqa: S603 - no shell
        versions = "".join(f"{deb.name}\n" for deb in debs)
        (partial / "PACKAGES").write_text(versions, encoding="utf-8")
        shutil.rmtree(partial / "apt")
        _write_wrapper(partial)
        if not _runs(str(partial / WRAPPER)):
            _log(f"Debian's python{RUNTIME_VERSION} does not run on this machine")
            return None
        # The standard library's bytecode, as the package's install script writes it (and Lambda has it).
        stdlib = partial / "root" / "usr" / "lib" / f"python{RUNTIME_VERSION}"
        compile_stdlib = [str(partial / WRAPPER), "-m", "compileall", "-q", str(stdlib)]
        subprocess.run(compile_stdlib, check=False, stdout=subprocess.DEVNULL)  # noqa: S603 - no shell
        shutil.rmtree(target, ignore_errors=True)  # one that no longer runs (a moved checkout)
        with contextlib.suppress(OSError):  # another synth provisioned it first
            partial.rename(target)
        return str(target / WRAPPER) if _runs(str(target / WRAPPER)) else None
    except (subprocess.SubprocessError, OSError) as error:  # failed or timed out
        _log(f"could not fetch python{RUNTIME_VERSION} from Debian: {error}")
        return None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _download(apt_get: str, work: Path, archive: str) -> list[Path]:
    """`apt-get download` from the Debian suite with a private list: nothing of the machine's apt changes."""
    for directory in ("lists/partial", "cache/archives/partial", "debs"):
        (work / directory).mkdir(parents=True)
    (work / "sources.list").write_text(private_sources_list(archive, DEBIAN_KEYRING), encoding="utf-8")
    (work / "status").touch()
    options = {
        "Dir::Etc::SourceList": work / "sources.list",
        "Dir::Etc::SourceParts": "/dev/null",
        "Dir::Etc::Preferences": "/dev/null",
        "Dir::Etc::PreferencesParts": "/dev/null",
        "Dir::State::Lists": work / "lists",
        "Dir::State::Status": work / "status",
        "Dir::Cache": work / "cache",
        "Acquire::Languages": "none",
        "APT::Sandbox::User": "root" if os.geteuid() == 0 else os.environ.get("USER", ""),
    }
    command = [apt_get, "-qq", *(f"-o{key}={value}" for key, value in options.items())]
    quiet: dict[str, Any] = {"check": True, "stdout": subprocess.DEVNULL, "timeout": APT_SECONDS}
    subprocess.run([*command, "update"], **quiet)  # noqa: S603 - no shell
    subprocess.run([*command, "download", *DEBIAN_PACKAGES], cwd=work / "debs", **quiet)  # noqa: S603
    return sorted((work / "debs").glob("*.deb"))


def private_sources_list(archive: str, keyring: Path = DEBIAN_KEYRING) -> str:
    """The one-line list `_download` gives apt: the archive's sid suite, verified with the Debian keyring."""
    return f"deb [signed-by={keyring}] {archive} {DEBIAN_SUITE} main\n"


@dataclass(frozen=True)
class AptSource:
    """One suite of one binary (`deb`) source in apt's configuration."""

    uri: str
    suite: str
    components: tuple[str, ...]
    signed_by: str | None = None  # the keyring file(s) named, if any (an inline key is not kept)


def apt_sources_files(etc_apt: Path = APT_ETC) -> list[tuple[str, str]]:
    """The machine's apt source files as (name, contents) in apt's order: sources.list, sources.list.d/."""
    paths = [etc_apt / "sources.list"]
    with contextlib.suppress(OSError):
        parts = (etc_apt / "sources.list.d").iterdir()
        paths += sorted(
            (path for path in parts if path.suffix in (".list", ".sources")), key=lambda p: p.name
        )
    files = []
    for path in paths:
        with contextlib.suppress(OSError, ValueError):  # missing, unreadable or not text: not a source
            files.append((path.name, path.read_text(encoding="utf-8")))
    return files


def apt_sources(files: Iterable[tuple[str, str]]) -> list[AptSource]:
    """Every enabled binary source of apt source files given as (name, contents), in order.

    `*.sources` files are deb822 stanzas (Types, URIs, Suites, Components, Signed-By, Enabled), the others
    one-line entries (`deb [options] URI suite component...`). Comments, `deb-src` entries, CD-ROMs and flat
    repositories (a suite ending in "/", no components) are left out.
    """
    sources: list[AptSource] = []
    for name, text in files:
        sources += _deb822_sources(text) if name.endswith(".sources") else _one_line_sources(text)
    return sources


def debian_archive(files: Iterable[tuple[str, str]]) -> AptSource | None:
    """Where to fetch Debian's packages from, by the apt source files given as (name, contents); or None.

    The candidates are the binary sources with the `main` component, less the security-only ones (a
    "-security" URI or suite: they carry no interpreter). The first wins that has a Debian suite and is
    signed by the Debian keyring or served under a `/debian` path; else the first with a Debian suite (a
    mirror at another path); else the first signed by the Debian keyring or under `/debian` (a suite newer
    than DEBIAN_SUITES). So a vendor's `stable main` listed earlier does not win over Debian's own archive.
    """
    candidates = [
        source for source in apt_sources(files) if "main" in source.components and not _security(source)
    ]
    tiers = (
        [source for source in candidates if _debian_suite(source.suite) and _looks_debian(source)],
        [source for source in candidates if _debian_suite(source.suite)],
        [source for source in candidates if _looks_debian(source)],
    )
    return next((tier[0] for tier in tiers if tier), None)


# deb [options] URI suite components; a CD-ROM's URI has spaces inside its brackets.
_ONE_LINE = re.compile(
    r"(?P<type>deb(?:-src)?)\s+(?:\[(?P<options>[^\]]*)\]\s*)?"
    r"(?P<uri>cdrom:\[[^\]]*\]\S*|\S+)\s+(?P<suite>\S+)(?P<components>(?:\s+\S+)*)"
)


def _one_line_sources(text: str) -> Iterator[AptSource]:
    for line in text.splitlines():
        entry = _ONE_LINE.fullmatch(line.split("#", 1)[0].strip())
        if entry is None or entry["type"] != "deb":
            continue
        options = dict(option.split("=", 1) for option in (entry["options"] or "").split() if "=" in option)
        components = tuple(entry["components"].split())
        yield from _sources([entry["uri"]], [entry["suite"]], components, options.get("signed-by"))


def _deb822_sources(text: str) -> Iterator[AptSource]:
    for stanza in _deb822_stanzas(text):
        if stanza.get("enabled", "yes").lower() in ("no", "false", "0"):
            continue
        if "deb" not in stanza.get("types", "").split():
            continue
        keyrings = stanza.get("signed-by", "").split()
        signed_by = keyrings[0] if keyrings and keyrings[0].startswith("/") else None  # not an inline key
        components = tuple(stanza.get("components", "").split())
        yield from _sources(
            stanza.get("uris", "").split(), stanza.get("suites", "").split(), components, signed_by
        )


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    """deb822 paragraphs as {lower-case field: value}; "#" lines are comments, blank lines end a paragraph."""
    fields: dict[str, str] = {}
    field = None
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                yield fields
            fields, field = {}, None
        elif line[0] in " \t":
            if field is not None:  # a continuation line (an inline key's)
                fields[field] += "\n" + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            field = name.strip().lower()
            fields[field] = value.strip()


def _sources(
    uris: Sequence[str], suites: Sequence[str], components: tuple[str, ...], signed_by: str | None
) -> Iterator[AptSource]:
    for uri in uris:
        if uri.startswith("cdrom:"):
            continue
        for suite in suites:
            if components and not suite.endswith("/"):  # else a flat repository
                yield AptSource(uri.rstrip("/"), suite, components, signed_by)


def _security(source: AptSource) -> bool:
    return "-security" in source.uri or "-security" in source.suite or source.suite.endswith("/updates")


def _debian_suite(suite: str) -> bool:
    return re.split(r"[-/]", suite, maxsplit=1)[0] in DEBIAN_SUITES  # bookworm-updates, stable-backports


def _looks_debian(source: AptSource) -> bool:
    keyrings = (source.signed_by or "").split(",")
    signed_by_debian = any(Path(keyring).stem == DEBIAN_KEYRING.stem for keyring in keyrings if keyring)
    return signed_by_debian or urlsplit(source.uri).path.rstrip("/").endswith("/debian")


def _write_wrapper(home: Path) -> None:
    """bin/python3.14: Debian's binary run by its own loader and libraries, found relative to the script."""
    (loader,) = (home / "root").glob("usr/lib/*/ld-linux*.so.*")
    libraries = loader.parent.relative_to(home)
    wrapper = home / WRAPPER
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(
        "#!/bin/sh\n"
        f"# Debian's python{RUNTIME_VERSION} with the glibc it was built against (infra/runtime_python.py).\n"
        'home="$(cd "$(dirname "$0")/.." && pwd)"\n'
        f'exec "$home/{libraries}/{loader.name}" --library-path "$home/{libraries}" '
        f'"$home/root/usr/bin/python{RUNTIME_VERSION}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)


def _runs(command: str) -> bool:
    if not os.access(command, os.X_OK):
        return False
    return _output([command, "-c", _CHECK], RUN_SECONDS) == RUNTIME_VERSION


def _output(command: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> str | None:
    """A command's stdout (stripped) if it succeeds within timeout; its whole process group ends if not."""
    try:
        process = subprocess.Popen(  # noqa: S603 - a program we found, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,  # so that a timeout ends its children too (pyenv is a shell script)
        )
    except OSError:
        return None
    try:
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None
    return stdout.strip() if process.returncode == 0 else None


def _log(message: str) -> None:
    print(f"bundling: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    found = runtime_interpreter()
    print(found or "")
    sys.exit(0 if found else 1)
