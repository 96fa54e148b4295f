"""Setting and moving the business clock of the local system and of the tests.

`CLOCK_AT=2027-03-28T00:30:00Z` starts the clock at that instant (it keeps ticking from there);
`POST /_local/clock {"advance": "P7D"}` moves a running local system forward. Only the local
system and the tests read `CLOCK_AT`: a deployed function always runs on the system's time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, TypeAdapter, ValidationError

from shared.clock import CLOCK, Clock

ENVIRONMENT_VARIABLE = "CLOCK_AT"

_INSTANT: TypeAdapter[AwareDatetime] = TypeAdapter(AwareDatetime)


class ClockError(ValueError):
    """A clock setting that cannot be applied; the message says why, for a person."""


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its UTC offset (`2027-03-28T00:30:00Z`), as UTC."""
    try:
        return _INSTANT.validate_python(text.strip()).astimezone(UTC)
    except ValidationError:
        raise ClockError(
            f"{ENVIRONMENT_VARIABLE} takes an ISO 8601 instant with its offset, e.g. 2027-03-28T00:30:00Z"
        ) from None


def pin_from_environment(environ: dict[str, str]) -> datetime | None:
    """Set the clock from `CLOCK_AT`, if given; the instant set."""
    text = environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not text:
        return None
    instant = parse_instant(text)
    CLOCK.set(instant)
    return instant


class ClockChange(BaseModel):
    """`{"advance": "P7D"}` (an ISO 8601 duration) or `{"to": "2027-04-04T09:00:00Z"}`: forward only."""

    model_config = ConfigDict(extra="forbid")
    advance: timedelta | None = None
    to: AwareDatetime | None = None


def change_clock(body: Any, clock: Clock = CLOCK) -> dict[str, str]:
    """Move the clock forward as `body` says; what it reads now. Time never goes back: ids,
    claims and reminders were written in order, and a clock moved back would contradict them."""
    try:
        change = ClockChange.model_validate(body)
    except ValidationError as error:
        problem = error.errors()[0]["msg"]
        raise ClockError(f"expected {{'advance': 'P7D'}} or {{'to': '<instant>'}}: {problem}") from None
    if (change.advance is None) == (change.to is None):
        raise ClockError("give exactly one of 'advance' (an ISO 8601 duration) or 'to' (an instant)")
    step = change.advance if change.advance is not None else change.to - clock.now()  # type: ignore[operator]
    if step < timedelta(0):
        raise ClockError("the clock only moves forward")
    clock.advance(step)
    return reading(clock)


def reading(clock: Clock = CLOCK) -> dict[str, str]:
    """What the clock reads, and how far it is from the system's time."""
    return {
        "now": clock.now().isoformat().replace("+00:00", "Z"),
        "offset_seconds": f"{clock.offset.total_seconds():.0f}",
    }
