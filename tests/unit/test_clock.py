"""The one business clock and the local system's way of setting and moving it (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.clock import ClockError, change_clock, parse_instant, pin_from_environment
from shared.clock import CLOCK, Clock, now

AT = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)


def test_a_set_clock_ticks_from_its_instant_and_advances_forward():
    clock = Clock()
    clock.set(AT)
    first = clock.now()
    assert timedelta(0) <= first - AT < timedelta(seconds=5)
    assert clock.now() >= first  # it keeps ticking
    clock.advance(timedelta(days=7))
    assert timedelta(days=7) <= clock.now() - AT < timedelta(days=7, seconds=5)
    clock.reset()
    assert abs(clock.offset) == timedelta(0)


def test_the_suite_runs_on_the_pinned_instant_not_the_machines_date(business_clock):
    """Every test starts at the suite's instant (CLOCK_AT, or the fixed default)."""
    from tests.conftest import suite_instant

    assert timedelta(0) <= now() - suite_instant() < timedelta(minutes=1)
    assert business_clock is CLOCK


def test_an_instant_needs_its_offset_and_is_kept_in_utc():
    assert parse_instant("2027-03-28T01:30:00+01:00") == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert parse_instant("2027-03-28T00:30:00Z") == AT
    for bad in ("2027-03-28T00:30:00", "tomorrow", "2027-02-30T00:00:00Z"):
        with pytest.raises(ClockError):
            parse_instant(bad)


def test_clock_at_sets_the_clock_and_without_it_nothing_changes():
    clock_at = pin_from_environment({"CLOCK_AT": "2027-03-28T00:30:00Z"})
    assert clock_at == AT and timedelta(0) <= now() - AT < timedelta(seconds=5)
    assert pin_from_environment({}) is None
    with pytest.raises(ClockError):
        pin_from_environment({"CLOCK_AT": "soon"})


@pytest.mark.parametrize(
    "body",
    [
        {"advance": "-P1D"},  # back in time
        {"to": "2000-01-01T00:00:00Z"},  # back in time
        {"advance": "P1D", "to": "2030-01-01T00:00:00Z"},  # both
        {},  # neither
        {"advance": "soon"},
        {"advance": "P1D", "extra": 1},
        ["P1D"],
        None,
    ],
)
def test_the_clock_moves_only_forward_and_only_as_asked(body):
    clock = Clock()
    clock.set(AT)
    with pytest.raises(ClockError):
        change_clock(body, clock)
    assert clock.now() - AT < timedelta(seconds=5)


def test_the_clock_moves_forward_by_a_duration_or_to_an_instant():
    clock = Clock()
    clock.set(AT)
    moved = change_clock({"advance": "P7DT1H"}, clock)
    assert datetime.fromisoformat(moved["now"]) - AT >= timedelta(days=7, hours=1)
    change_clock({"to": "2027-05-01T09:00:00Z"}, clock)
    assert clock.now() - datetime(2027, 5, 1, 9, tzinfo=UTC) < timedelta(seconds=5)
