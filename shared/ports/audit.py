"""Port: The firm's audit log.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.audit import AuditEvent


class AuditTrail(Protocol):
    """The firm's audit log."""

    def record(self, event: AuditEvent) -> str:
        """Write the event and return its id (a ULID: sortable by time)."""
        ...

    def page(
        self, firm_id: str, *, customer_id: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first: the whole firm's log, or one customer's events through GSI1."""
        ...
