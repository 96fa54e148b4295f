"""`BAR <name>: <figures>` lines (issue 8).

A check calls the `bar` fixture with its name and figures; the line is kept on the test's report
(so it crosses pytest-xdist workers) and every line is printed together at the end of the run, where a
reader or a script (`grep '^BAR '`) finds where the project stands.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

BarRecorder = Callable[..., str]
# A plugin that adds up figures over many tests puts `(SUM_KEY, [name, {figure: number}])` on a
# report's user_properties: one `BAR name: …` line with the sums is printed (tests/log_hygiene.py).
SUM_KEY = "bar_sum"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def bar_line(name: str, **figures: Any) -> str:
    return f"BAR {name}: " + ", ".join(f"{key}={_figure(value)}" for key, value in figures.items())


@pytest.fixture
def bar(request: pytest.FixtureRequest) -> BarRecorder:
    """Record one `BAR` line for this test: `bar("cross-tenant", routes=41, leaked=0)`."""

    def record(name: str, **figures: Any) -> str:
        line = bar_line(name, **figures)
        request.node.user_properties.append(("bar", line))
        return line

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines: list[str] = []
    sums: dict[str, dict[str, Any]] = {}
    # A test's own user_properties (request.node's) ride on its call and its teardown report: a
    # figure it put there is counted once (by test, place in the list and value).
    counted: set[tuple[str, int, str]] = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            for place, (key, value) in enumerate(getattr(report, "user_properties", ()) or ()):
                if key == "bar" and value not in lines:
                    lines.append(value)
                elif key == SUM_KEY and (report.nodeid, place, repr(value)) not in counted:
                    counted.add((report.nodeid, place, repr(value)))
                    name, figures = value
                    total = sums.setdefault(name, {})
                    for figure, number in figures.items():
                        total[figure] = total.get(figure, 0) + number
    lines.extend(bar_line(name, **_fractions(figures)) for name, figures in sums.items())
    if lines:
        terminalreporter.section("quality bars")
        for line in lines:
            terminalreporter.write_line(line)


def _fractions(figures: dict[str, Any]) -> dict[str, Any]:
    """`<base>_detected` with its `<base>_made` shows as one figure, `<base>_detected=<d>/<m>` (what a
    check caught of what it planted); the privacy line's `audit_chain_breaks_detected=50/50`."""
    shown = dict(figures)
    for name in list(shown):
        if name.endswith("_made") and (detected := name.removesuffix("_made") + "_detected") in shown:
            shown[detected] = f"{shown[detected]}/{shown.pop(name)}"
    return shown
