"""The calendar matrix (issue 12): every test marked `calendar` runs once at the suite's instant and
once more at each of the calendar's hard moments, with the firm in the moment's time zone.

The marked tests cover every date rule: imports' windows (the previous day's close in the firm's
zone), the 7/30-day reminders and the 45-day invitation expiry, consent expiry and "expiring soon",
one Data Refresh per firm-local day, and the dashboard's "today". The run prints
`BAR calendar: instants=N, tests=M, failures=F` (tests = test runs at a hard moment).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
MARKER = "calendar"
PROPERTY = "calendar_moment"


@dataclass(frozen=True)
class Moment:
    name: str
    instant: datetime
    zone: str  # the demo firm's time zone for this run

    def __str__(self) -> str:
        return f"cal-{self.name}"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


MOMENTS: tuple[Moment, ...] = (
    # Europe/London: clocks go forward at 01:00 UTC on 28 March 2027 and back at 01:00 UTC on 31 October.
    Moment("london-spring-before", _at("2027-03-28T00:55:00+00:00"), LONDON),  # 00:55 GMT
    Moment("london-spring-after", _at("2027-03-28T01:05:00+00:00"), LONDON),  # 02:05 BST
    Moment("london-autumn-before", _at("2027-10-31T00:55:00+00:00"), LONDON),  # 01:55 BST
    Moment("london-autumn-after", _at("2027-10-31T01:05:00+00:00"), LONDON),  # 01:05 GMT, the second time
    # America/New_York: forward at 07:00 UTC on 14 March 2027, back at 06:00 UTC on 7 November.
    Moment("new-york-spring-before", _at("2027-03-14T06:55:00+00:00"), NEW_YORK),  # 01:55 EST
    Moment("new-york-spring-after", _at("2027-03-14T07:05:00+00:00"), NEW_YORK),  # 03:05 EDT
    Moment("new-york-autumn-before", _at("2027-11-07T05:55:00+00:00"), NEW_YORK),  # 01:55 EDT
    Moment("new-york-autumn-after", _at("2027-11-07T06:05:00+00:00"), NEW_YORK),  # 01:05 EST
    # A month end: 00:30 on 1 May in London is still 30 April in UTC.
    Moment("month-end", _at("2027-04-30T23:30:00+00:00"), LONDON),
    # The leap day: 00:30 on 29 February 2028 (the previous day is the 28th, the next 1 March).
    Moment("leap-day", _at("2028-02-29T00:30:00+00:00"), LONDON),
    # New Year's Eve, one minute before midnight local, in both zones.
    Moment("new-years-eve-london", _at("2027-12-31T23:59:00+00:00"), LONDON),
    Moment("new-years-eve-new-york", _at("2027-12-31T23:59:00-05:00"), NEW_YORK),
    # 00:30 local on an ordinary day: the UTC date is still yesterday's.
    Moment("ordinary-0030-london", _at("2027-06-15T23:30:00+00:00"), LONDON),
    Moment("ordinary-0030-new-york", _at("2027-06-16T00:30:00-04:00"), NEW_YORK),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: a test of a date rule, run again at each of the calendar's hard moments"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The suite's instant (None) and every moment, as the `business_clock` fixture's parameter."""
    if metafunc.definition.get_closest_marker(MARKER) is not None:
        metafunc.parametrize(
            "business_clock", [None, *MOMENTS], indirect=True, ids=["suite", *map(str, MOMENTS)]
        )


def apply(moment: Moment, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run this test with the demo firm (and any firm created without a zone) in the moment's zone,
    and mark its reports for the BAR line."""
    import local.demo_data

    monkeypatch.setattr(
        local.demo_data, "DEMO_FIRM", replace(local.demo_data.DEMO_FIRM, timezone=moment.zone)
    )
    monkeypatch.setenv("DEFAULT_FIRM_TIMEZONE", moment.zone)
    request.node.user_properties.append((PROPERTY, moment.name))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    moments: set[str] = set()
    runs: set[str] = set()
    failed: set[str] = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            moment = dict(getattr(report, "user_properties", ()) or ()).get(PROPERTY)
            if moment is None or not hasattr(report, "when"):
                continue
            moments.add(moment)
            runs.add(report.nodeid)
            if report.failed:
                failed.add(report.nodeid)
    if runs:
        terminalreporter.section("calendar matrix")
        terminalreporter.write_line(
            f"BAR calendar: instants={len(moments)}, tests={len(runs)}, failures={len(failed)}"
        )


def demo_firm_zone() -> str:
    """The demo firm's time zone for the running test (the moment's, in the matrix)."""
    import local.demo_data

    return local.demo_data.DEMO_FIRM.timezone


def scheduled_run(sent_at: datetime, day: int, zone: str, schedule: str = "invitation-reminders") -> datetime:
    """When the daily schedule runs on the firm-local day `day` days after `sent_at`'s local day:
    its first fire time after that day's local midnight (days are the firm's local days)."""
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from infra.spec import SCHEDULES
    from local.aws_cron import CronExpression

    local_day = sent_at.astimezone(ZoneInfo(zone)).date() + timedelta(days=day)
    midnight = datetime.combine(local_day, time(0), ZoneInfo(zone))
    spec = SCHEDULES[schedule]
    fire = CronExpression.parse(spec.expression).next_fire(midnight, ZoneInfo(spec.timezone))
    assert fire is not None
    return fire.astimezone(UTC)
