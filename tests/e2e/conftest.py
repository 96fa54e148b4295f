from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser_support import browser, page, screens  # noqa: F401  # fixtures
from tests.local_system_support import LocalProcess, running_local_system


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    """One local system (`python -m local`, as `make run` starts it) for every journey."""
    with running_local_system(tmp_path_factory.mktemp("e2e-local")) as system:
        yield system


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """`BAR e2e: journeys=N, failures=F`: every journey run in the browser, and how many failed."""
    stats = terminalreporter.stats
    passed, failed = len(stats.get("passed", [])), len(stats.get("failed", [])) + len(stats.get("error", []))
    if passed or failed:
        terminalreporter.write_line(f"BAR e2e: journeys={passed + failed}, failures={failed}")
