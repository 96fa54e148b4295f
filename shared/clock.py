"""Business time: the one clock every rule, worker, schedule and sandbox reads.

Deployed, it is the system's UTC time. The local system and the tests may set it to another
instant, from which it keeps ticking (`CLOCK_AT`), or move it forward (`POST /_local/clock`);
nothing else reads the system clock for business time (ruff's banned-api rule in
pyproject.toml refuses `datetime.now`, `date.today` and `time.time` elsewhere).

Services and adapters take a `Now` (any callable returning an aware UTC datetime) and
default to `now`, so a test may still hand one a clock of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Now = Callable[[], datetime]


class Clock:
    """The system's UTC time plus an offset; setting or advancing it changes only the offset,
    so time keeps passing at the normal rate from wherever it was put."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def set(self, instant: datetime) -> None:
        """From now on the clock reads `instant`, ticking from it."""
        if instant.tzinfo is None:
            raise ValueError("the clock is set to an aware instant (with its UTC offset)")
        with self._lock:
            self._offset = instant.astimezone(UTC) - datetime.now(UTC)

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._offset += by

    def reset(self) -> None:
        """Back to the system's time."""
        with self._lock:
            self._offset = timedelta(0)


CLOCK = Clock()
"""The process's clock: shared by the functions, the workers and the sandboxes of the local
system, which run in one process."""


def now() -> datetime:
    """Business time now (aware, UTC)."""
    return CLOCK.now()
