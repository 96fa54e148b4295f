"""In-memory digest preferences (the `DigestPreferenceStore` port) with the table's semantics: the
preference is the index entry while the digest is on, and a claim moves its due time only if it is
still as read. `tests/integration/test_staff_notifications.py` runs one contract on this fake and
the DynamoDB adapter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from shared.domain.notifications import DigestPreference


def _second(at: datetime) -> datetime:
    """Due times are kept to the second, in UTC (as the table stores them)."""
    return at.astimezone(UTC).replace(microsecond=0)


@dataclass
class FakeDigestPreferences:
    rows: dict[str, DigestPreference] = field(default_factory=dict)

    def get_preference(self, user_id: str) -> DigestPreference | None:
        return self.rows.get(user_id)

    def save_preference(self, preference: DigestPreference) -> None:
        due = preference.next_due if preference.daily_digest else None
        self.rows[preference.user_id] = replace(preference, next_due=_second(due) if due else None)

    def due_digests(self, until: datetime) -> Iterator[DigestPreference]:
        due = [p for p in self.rows.values() if p.daily_digest and p.next_due and p.next_due <= until]
        yield from sorted(due, key=lambda p: (p.next_due, p.user_id))

    def claim_digest(self, preference: DigestPreference, next_due: datetime) -> bool:
        return preference.next_due is not None and self._move(
            preference.user_id, preference.next_due, next_due
        )

    def release_digest(self, preference: DigestPreference, claimed: datetime) -> None:
        if preference.next_due is not None:
            self._move(preference.user_id, claimed, preference.next_due)

    def _move(self, user_id: str, expected: datetime, to: datetime) -> bool:
        stored = self.rows.get(user_id)
        if stored is None or not stored.daily_digest or stored.next_due != _second(expected):
            return False
        self.rows[user_id] = replace(stored, next_due=_second(to))
        return True
