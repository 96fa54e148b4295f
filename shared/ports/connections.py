"""Port: Connections: a consent at one institution, found by id, reference or Plaid item.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from shared.domain.connections import Connection
from shared.ports.storage import TransactItem


@dataclass(frozen=True)
class ConnectionAddress:
    firm_id: str
    customer_id: str
    connection_id: str


class ConnectionStore(Protocol):
    """Connections: a consent at one institution, found by id, reference or Plaid item."""

    def get(self, address: ConnectionAddress) -> Connection | None: ...

    def locate(self, connection_id: str) -> ConnectionAddress | None: ...

    def locate_by_reference(self, reference_hash: str) -> ConnectionAddress | None: ...

    def locate_by_item(self, item_id: str) -> ConnectionAddress | None: ...

    def list_for_customer(self, firm_id: str, customer_id: str) -> list[Connection]: ...

    def active_addresses(self) -> Iterator[list[ConnectionAddress]]:
        """Every importable connection, a page at a time: one Query per page on each GSI2 shard."""
        ...

    def awaiting_expiry_reminder(self, day: date, after: datetime) -> Iterator[list[ConnectionAddress]]:
        """Connections whose consent expires on the UTC `day`, later than `after`, and whose customer
        was not reminded of that expiry yet (`Connection.awaits_expiry_reminder`), a page at a time:
        one Query per page. The index is eventually consistent: read the connection before acting."""
        ...

    def save(self, connection: Connection, previous: Connection | None, *extra: TransactItem) -> Connection:
        """Write with an optimistic lock; new connections also get their id pointer."""
        ...

    def save_all(
        self, changes: Sequence[tuple[Connection, Connection | None]], *extra: TransactItem
    ) -> list[Connection]:
        """`save` of several connections (each over the version read) with `extra` (their audit
        event) in one transaction: all or nothing (StaleConnection)."""
        ...

    def reference_put(
        self, connection: Connection, reference_hash: str, *, issued_at: datetime
    ) -> TransactItem:
        """The callback reference of a consent being given; a callback that never comes leaves it to
        the table's TTL (clean-up only: a late callback then finds no reference, as any unknown
        one)."""
        ...

    def reference_forget(self, reference_hash: str) -> TransactItem:
        """Remove a callback reference whether or not it was used (the consent is abandoned)."""
        ...

    def reference_consume(self, reference_hash: str, *, used_at: datetime) -> TransactItem:
        """Fails the transaction when the reference was already used: a replay changes nothing. The
        used reference is kept `CALLBACK_REPLAY_WINDOW` (then left to the TTL), so that a double-
        clicked redirect can be told the outcome (`reference_used_at`)."""
        ...

    def reference_used_at(self, reference_hash: str) -> datetime | None:
        """When the reference completed its consent; None if unused or unknown."""
        ...
