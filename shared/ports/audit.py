"""Port: The firm's audit log.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from shared.domain.audit import AuditEvent
from shared.domain.audit_chain import Break
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
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first: the whole firm's log, or one customer's events, or one kind's (an AuditKind
        value), or one customer's of one kind; with a date range (UTC days, inclusive), only the
        events of those days. One Query a page, whatever the combination."""
        ...


@dataclass
class ChainLane:
    """One of a firm's audit chains as stored: its events in position order (every stored
    attribute), and what their keys already say is wrong."""

    lane: int
    links: list[dict[str, Any]]
    breaks: list[Break] = field(default_factory=list)


class AuditChains(Protocol):
    """The audit log's chains, read whole to verify them (the operator's `tools.audit verify`)."""

    def chains(self, firm_id: str) -> list[ChainLane]:
        """Every lane of the firm, strongly consistent, in position order."""
        ...
