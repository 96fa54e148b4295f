"""Port: The firm's audit log.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from shared.domain.audit import AuditEvent
from shared.ports.storage import TransactItem


class AuditTrail(Protocol):
    """The firm's audit log."""

    def record(self, event: AuditEvent) -> str:
        """Write the event and return its id (a ULID: sortable by time)."""
        ...

    def put_op(self, event: AuditEvent) -> TransactItem:
        """The event as one write of a multi-item transaction (with the change it records)."""
        ...

    def page(
        self,
        firm_id: str,
        *,
        customer_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first: the whole firm's log, or one customer's events through GSI1; with a date
        range (UTC days, inclusive), only the events of those days."""
        ...
