"""Port: People's in-app notifications, and staff members' daily digest preference.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from shared.domain.notifications import DigestPreference, Notification


class NotificationStore(Protocol):
    """People's in-app notifications."""

    def add(self, notification: Notification) -> None: ...

    def add_once(self, event_key: str, notifications: Sequence[Notification]) -> int:
        """The notifications of one event (one per person), each written with a marker of the
        event for its person, only if that person has none: written together (one transaction per
        50 people), so a retried worker or a duplicate delivery notifies nobody twice. Returns how
        many were written."""
        ...

    def page(
        self, user_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[Notification], str | None]: ...

    def since(self, user_id: str, since: datetime) -> list[Notification]:
        """The person's notifications created from `since` on, newest first (one Query a page)."""
        ...

    def mark_read(self, user_id: str, notification_id: str, now: datetime) -> None: ...


class DigestPreferenceStore(Protocol):
    """Staff members' daily digest preference, and who is due for a digest."""

    def get_preference(self, user_id: str) -> DigestPreference | None: ...

    def save_preference(self, preference: DigestPreference) -> None:
        """Store it; while `daily_digest` is on, it is listed as due at `next_due`."""
        ...

    def due_digests(self, until: datetime) -> Iterator[DigestPreference]:
        """Everyone whose digest is due by `until` (a missed run's included): one Query a page."""
        ...

    def claim_digest(self, preference: DigestPreference, next_due: datetime) -> bool:
        """Move the person's due time on to `next_due` only if it is still as read (and the digest
        still on): the one run that moves it sends the digest. False: another run did."""
        ...

    def release_digest(self, preference: DigestPreference, claimed: datetime) -> None:
        """Undo a claim whose email could not be sent (only if still `claimed`)."""
        ...
