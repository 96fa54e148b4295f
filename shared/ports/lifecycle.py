"""Port: what the data lifecycle (R-PRIV-2, R-PRIV-3) needs from storage beyond the customers.

`shared/adapters/dynamodb/lifecycle_repository.py` implements it; tests may fake it.
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.customers import Customer
from shared.domain.lifecycle import FirmSettings
from shared.ports.storage import TransactItem


class LifecycleStore(Protocol):
    def settings(self, firm_id: str) -> FirmSettings:
        """The firm's lifecycle settings (the defaults until it chose)."""
        ...

    def settings_op(self, settings: FirmSettings) -> TransactItem:
        """The settings as one write of a transaction (with their audit event)."""
        ...

    def customer_link_delete_op(self, user_id: str, firm_id: str, customer_id: str) -> TransactItem:
        """The person's link to their customer record in the firm, removed: they are no longer the
        firm's customer (their other firms are untouched)."""
        ...

    def transact(self, items: list[TransactItem]) -> None: ...


class ErasureStore(Protocol):
    """Everything stored of one customer of one firm, found by key or Query, deleted in batches."""

    def export_ids(self, firm_id: str, customer_id: str) -> list[str]:
        """The ids of the customer's exports (their files are deleted before their records)."""
        ...

    def erase_items(self, customer: Customer) -> int:
        """Delete every item of the customer but the customer item itself (and its email claim):
        its collection, transactions, the lookups they name, notifications, exports and refresh
        traces. Safe to run again (what is gone is not found). Returns how many were deleted."""
        ...

    def erase_customer_ops(self, customer: Customer) -> list[TransactItem]:
        """The deletion of the customer item (locked on its version) and its email claim: the last
        writes of an erasure, in one transaction with its audit event."""
        ...
