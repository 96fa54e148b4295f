"""The `Limiter` port in memory, with the table's semantics (shared/adapters/dynamodb/limits_repository.py):
a counter per limit, subject and window; a spend is all or none."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain.limits import Charge, LimitReached


@dataclass
class FakeLimiter:
    counters: Counter[tuple[str, str, datetime]] = field(default_factory=Counter)
    spends: int = 0  # calls of `spend` (refused ones too)

    def spend(self, charges: Sequence[Charge], now: datetime) -> None:
        self.spends += 1
        for charge in charges:
            if self.counters[self._key(charge, now)] + charge.amount > charge.limit.count:
                raise LimitReached(charge.limit, now)
        for charge in charges:
            self.counters[self._key(charge, now)] += charge.amount

    def spent(self, charge: Charge, now: datetime) -> int:
        return self.counters[self._key(charge, now)]

    @staticmethod
    def _key(charge: Charge, now: datetime) -> tuple[str, str, datetime]:
        return charge.limit.name, charge.subject_id, charge.limit.window_start(now)
