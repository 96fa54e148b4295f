"""Port: Imports' feed cursors and the recent stored lines they compare against.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class FeedState:
    cursor: dict[str, Any] | None  # the port's cursor, as cursor_to_json wrote it
    last_booked: date | None
    last_imported_at: datetime | None
    accounts: tuple[str, ...] = ()  # our accounts the cursor has covered (one feed per consent)


@dataclass(frozen=True)
class StoredTransaction:
    sort_key: str
    pending: bool
    fingerprint: tuple[str, str, bool, str]  # (booking date, amount, pending, description)
    assignment: tuple[str | None, str | None, str | None]  # kept when a changed line is rewritten


class FeedStore(Protocol):
    """Imports' feed cursors and the recent stored lines they compare against."""

    def feed_state(self, firm_id: str, customer_id: str, feed_id: str) -> FeedState: ...

    def save_feed_state(self, firm_id: str, customer_id: str, feed_id: str, state: FeedState) -> None:
        """Written only after every page of the import is stored: a crash re-reads, never skips."""
        ...

    def recent(self, firm_id: str, account_id: str, since: date) -> dict[str, StoredTransaction]:
        """The account's stored transactions booked from `since`, by key (one Query per page)."""
        ...
