"""Secrets and personal data in log records, across the whole suite (issue 8).

A pytest plugin (listed in `pytest_plugins` of tests/conftest.py). Every log record that any
`logging` logger emits during a test (setup, call and teardown) is captured and scanned; a test
whose records leak fails, with the record (logger, level, file:line, what was found) in its report.
The totals are one summed line at the end of the run, also under pytest-xdist:

    BAR log hygiene: tests=…, records=…, leaks=0

Capture point: `logging.Logger.callHandlers`, through which every emitted record of every logger
passes exactly once, after the level check and before any handler. That holds for Powertools'
Logger (a standard `logging.Logger` with its own stdout handler, so nothing depends on stdout
capture), the local system's `local.*` loggers and libraries alike, for loggers created during a
test, and for records logged from other threads. What is scanned is what would be written: the
message with its arguments, every `extra` field, the exception and stack text, and, for a logger
with a Powertools handler, the JSON line its formatter renders (so appended keys count too).
Records below a logger's level are not emitted and not scanned: Powertools logs at INFO in tests
as in the stack (`POWERTOOLS_LOG_LEVEL` INFO).

What counts as a leak (Idempotency keys are fine; ids and counts are what logs carry):
- a secret: the sandbox credentials (`infra/spec.py` SECRETS local_value, the sandboxes' own);
- a bearer credential: a JWT (ours, GoCardless', Plaid's webhook JWTs), a Plaid access or public
  token, an `Authorization: Bearer …` value;
- a token we issued: every value `secrets.token_urlsafe` returned in this process (invitation and
  file-invitation tokens, GoCardless callback references) is remembered and looked for;
- personal data: an email address (test-only `@example.org` addresses included) or an IBAN
  (ISO 13616 shape with a valid mod-97 checksum).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.bars import SUM_KEY

NAME = "log hygiene"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_PLAID_TOKEN = re.compile(r"\b(?:access|public|processor)-(?:sandbox|development|production)-[0-9a-f-]{20,}")
_BEARER = re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{12,}=*", re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b")
_URLSAFE_RUN = re.compile(r"[A-Za-z0-9_-]{16,}")

# LogRecord's own attributes: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _known_secrets() -> dict[str, str]:
    """Secret value -> where it is declared."""
    from infra.spec import SECRETS
    from local.sandbox import gocardless, plaid

    found = {
        value: f"infra/spec.py SECRETS[{name!r}][{key!r}]"
        for name, spec in SECRETS.items()
        for key, value in spec.local_value.items()
    }
    for module in (gocardless, plaid):
        for attribute in dir(module):
            value = getattr(module, attribute)
            if attribute.startswith("SANDBOX_SECRET") and isinstance(value, str):
                found.setdefault(value, f"{module.__name__}.{attribute}")
    return {value: where for value, where in found.items() if len(value) >= 6}


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in moved)
    return int(digits) % 97 == 1


@dataclass(frozen=True)
class Finding:
    kind: str
    excerpt: str  # masked: enough to recognise it, not the whole value


@dataclass
class _TestLog:
    records: int = 0
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (where the record is, finding)
    reported: int = 0


class LogScanner:
    """Holds what the current test's records revealed; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: set[str] = set()
        self._issued_lengths: set[int] = set()
        self._secrets: dict[str, str] | None = None
        self.current = _TestLog()

    # -- tokens we issue
    def remember_token(self, token: str) -> None:
        with self._lock:
            self._issued.add(token)
            self._issued_lengths.add(len(token))

    def _issued_in(self, text: str) -> Iterator[str]:
        with self._lock:
            issued, lengths = self._issued, sorted(self._issued_lengths)
            if not issued:
                return
            for match in _URLSAFE_RUN.finditer(text):
                run = match.group()
                for length in lengths:
                    for start in range(len(run) - length + 1):
                        if run[start : start + length] in issued:
                            yield run[start : start + length]

    # -- scanning
    def scan(self, text: str) -> list[Finding]:
        if self._secrets is None:
            self._secrets = _known_secrets()
        found: list[Finding] = []
        for value, where in self._secrets.items():
            if value in text:
                found.append(Finding(f"secret ({where})", _mask(value)))
        for kind, pattern in (
            ("JWT", _JWT),
            ("Plaid token", _PLAID_TOKEN),
            ("bearer credential", _BEARER),
            ("email address", _EMAIL),
        ):
            found.extend(Finding(kind, _mask(match.group())) for match in pattern.finditer(text))
        found.extend(
            Finding("IBAN", _mask(match.group()))
            for match in _IBAN.finditer(text)
            if _iban_valid(match.group())
        )
        found.extend(Finding("issued token", _mask(token)) for token in self._issued_in(text))
        return list(dict.fromkeys(found))  # once per record, however many places repeat it

    def capture(self, logger: logging.Logger, record: logging.LogRecord) -> None:
        text = render(logger, record)
        findings = self.scan(text)
        where = f"{record.name} {record.levelname} {record.pathname}:{record.lineno} {record.msg!r}"
        with self._lock:
            self.current.records += 1
            self.current.findings.extend((where, finding) for finding in findings)

    def start_test(self) -> None:
        with self._lock:
            self.current = _TestLog()

    def unreported(self) -> list[tuple[str, Finding]]:
        with self._lock:
            new = self.current.findings[self.current.reported :]
            self.current.reported = len(self.current.findings)
            return new


def _mask(value: str) -> str:
    if len(value) <= 8:
        return value[:2] + "…"
    return f"{value[:6]}…{value[-2:]} ({len(value)} chars)"


def render(logger: logging.Logger, record: logging.LogRecord) -> str:
    """Everything the record would put in a log: message, extras, exception, stack, and what the
    logger's Powertools handler writes (the JSON line, appended keys included)."""
    parts: list[str] = []
    try:
        parts.append(record.getMessage())
    except Exception:  # a bad format string: scan its pieces
        parts.append(f"{record.msg!s} {record.args!r}")
    for key, value in vars(record).items():
        if key not in _STANDARD:
            parts.append(f"{key}={value if isinstance(value, str) else repr(value)}")
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    for text in (record.exc_text, record.stack_info):
        if text:
            parts.append(text)
    for handler in logger.handlers:
        formatter = handler.formatter
        if formatter is not None and type(formatter).__module__.startswith("aws_lambda_powertools"):
            try:
                parts.append(formatter.format(record))
            except Exception:  # never break the code under test's logging
                parts.append("")
    return "\n".join(parts)


SCANNER = LogScanner()
_original_call_handlers: Callable[[logging.Logger, logging.LogRecord], None] | None = None
_original_token_urlsafe: Callable[..., str] | None = None


def _call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
    with contextlib.suppress(Exception):  # the scan must never change what the code under test does
        SCANNER.capture(self, record)
    assert _original_call_handlers is not None
    _original_call_handlers(self, record)


def _token_urlsafe(nbytes: int | None = None) -> str:
    assert _original_token_urlsafe is not None
    token = _original_token_urlsafe(nbytes)
    SCANNER.remember_token(token)
    return token


def pytest_configure(config: pytest.Config) -> None:
    global _original_call_handlers, _original_token_urlsafe
    if _original_call_handlers is None:
        _original_call_handlers = logging.Logger.callHandlers
        logging.Logger.callHandlers = _call_handlers  # type: ignore[method-assign]
    if _original_token_urlsafe is None:
        _original_token_urlsafe = secrets.token_urlsafe
        secrets.token_urlsafe = _token_urlsafe


def pytest_unconfigure(config: pytest.Config) -> None:
    global _original_call_handlers, _original_token_urlsafe
    if _original_call_handlers is not None:
        logging.Logger.callHandlers = _original_call_handlers  # type: ignore[method-assign]
        _original_call_handlers = None
    if _original_token_urlsafe is not None:
        secrets.token_urlsafe = _original_token_urlsafe
        _original_token_urlsafe = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    SCANNER.start_test()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    # Records of setup and call are judged with the call; the teardown's (or everything, when
    # setup did not pass and there is no call) with the teardown.
    if call.when == "setup" and report.passed:
        return report
    leaks = SCANNER.unreported()
    if leaks:
        message = "\n".join(
            [f"{len(leaks)} secret(s) or personal data in log records (tests/log_hygiene.py):"]
            + [f"  {finding.kind}: {finding.excerpt} in record {where}" for where, finding in leaks]
        )
        if report.passed:
            report.outcome = "failed"
            report.longrepr = message
        else:
            report.sections.append((f"log hygiene ({call.when})", message))
    if call.when == "teardown":
        current = SCANNER.current
        figures = {"tests": 1, "records": current.records, "leaks": len(current.findings)}
        report.user_properties = [*report.user_properties, (SUM_KEY, [NAME, figures])]
    return report
