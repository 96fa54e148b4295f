"""EventBridge Scheduler cron expressions and their next fire time in a time zone.

`cron(minutes hours day-of-month month day-of-week year)`, with `* , - /`, month and day
names, and `?` in exactly one of the two day fields; day-of-week counts 1 = SUN .. 7 = SAT.
`L`, `W` and `#` are refused (nothing in the spec uses them). As EventBridge Scheduler
does across daylight saving changes: a local time that does not exist (spring forward) is
skipped, and a local time that happens twice (fall back) fires once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}


@dataclass(frozen=True)
class CronExpression:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: `?`, the day is chosen by day-of-week
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # None: `?`, the day is chosen by day-of-month
    years: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> CronExpression:
        found = re.fullmatch(r"\s*cron\((.*)\)\s*", expression)
        if found is None:
            raise ValueError(f"the local scheduler supports cron(...) expressions only, not {expression!r}")
        fields = found.group(1).split()
        if len(fields) != 6:
            raise ValueError(f"a cron expression has 6 fields, {expression!r} has {len(fields)}")
        minutes, hours, day_of_month, month, day_of_week, year = (field.upper() for field in fields)
        if (day_of_month == "?") == (day_of_week == "?"):
            raise ValueError(f"exactly one of day-of-month and day-of-week must be '?': {expression!r}")
        return cls(
            minutes=_parse_field(minutes, 0, 59),
            hours=_parse_field(hours, 0, 23),
            days_of_month=None if day_of_month == "?" else _parse_field(day_of_month, 1, 31),
            months=_parse_field(month, 1, 12, MONTHS),
            days_of_week=None if day_of_week == "?" else _parse_field(day_of_week, 1, 7, WEEKDAYS),
            years=_parse_field(year, 1970, 2199),
        )

    def next_fire(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first fire time strictly after `after` (an aware datetime), evaluated in `zone`
        and returned in UTC (unambiguous, unlike a local time in a fall-back hour); None if
        the expression never fires again."""
        day = after.astimezone(zone).date()
        while day.year <= max(self.years):
            if self._fires_on(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        # fold=0: of a local time that happens twice, the first occurrence
                        wall = datetime.combine(day, time(hour, minute), tzinfo=zone)
                        if _exists(wall) and wall.astimezone(UTC) > after.astimezone(UTC):
                            return wall.astimezone(UTC)
            day += timedelta(days=1)
        return None

    def _fires_on(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        assert self.days_of_week is not None
        return day.isoweekday() % 7 + 1 in self.days_of_week  # ISO Monday=1 -> AWS MON=2


def _parse_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    def number(token: str) -> int:
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise ValueError(f"{token!r} is not supported by the local scheduler (L, W and # are not)")
        return int(token)

    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = number(first), number(last)
        else:
            start = number(span)
            end = high if step_text else start  # `5/15` is 5, 20, 35, 50
        if step < 1 or not low <= start <= end <= high:
            raise ValueError(f"{part!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _exists(wall: datetime) -> bool:
    """False for a local time skipped by a daylight saving change."""
    round_trip = wall.astimezone(UTC).astimezone(wall.tzinfo)
    return round_trip.replace(tzinfo=None) == wall.replace(tzinfo=None)
