"""Port: the abuse limits' counters (shared/domain/limits.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shared.domain.limits import Charge


class Limiter(Protocol):
    def spend(self, charges: Sequence[Charge], now: datetime) -> None:
        """Spend every charge in the windows that hold `now`, all or none: raises `LimitReached`
        (naming a limit that refused) and spends nothing when one would pass its count."""
        ...
