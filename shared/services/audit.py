"""The audit log (R-ROLE-3): what staff did, what they read (R-PRIV-4), reading it (firm admins only),
and verifying its chains (the operator's `tools.audit verify`, R-PRIV-4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.auth import FirmAction, authorize
from shared.domain.audit import AuditEvent, AuditKind, ReadOf
from shared.domain.audit_chain import Anchor, Break, verify_lane
from shared.domain.errors import DomainError, UpstreamUnavailable
from shared.domain.identity import StaffContext
from shared.observability import logger
from shared.ports.audit import AuditChains, AuditTrail


def event_by(
    staff: StaffContext,
    at: datetime,
    action: str,
    target: tuple[str, str],
    details: dict[str, Any],
    customer_id: str | None = None,
) -> AuditEvent:
    """What this staff member did in their firm (ids and roles in `details`, never names): the event
    a use case writes in its change's transaction (`audit.put_op`)."""
    return AuditEvent(staff.firm_id, staff.principal.user_id, action, *target, details, at, customer_id)


def record_read(
    audit: AuditTrail,
    reader: tuple[str, str],
    at: datetime,
    what: ReadOf,
    target: tuple[str, str],
    customer_id: str | None,
    *,
    rows: int,
    scope: Mapping[str, str | int | date | None] | None = None,
) -> None:
    """One event per read of bank data, an export or a file's contents (R-PRIV-4), built here only:
    `reader` (firm id, the reader's sub) read `what` of `target` and `customer_id`; `details` hold
    how many rows were returned and the filter used (`scope`: ids, dates and counts only, never names,
    amounts or descriptions; None values left out). A read changes nothing, so the event is
    written alone (one PutItem after the Query of its chain's tip). If it cannot be written, the read
    is not served: 503 `audit_unavailable` (a read the firm cannot account for)."""
    firm_id, reader_id = reader
    details: dict[str, Any] = {"rows": rows}
    for name, value in (scope or {}).items():
        if value is not None:
            details[name] = value.isoformat() if isinstance(value, date) else value
    event = AuditEvent(firm_id, reader_id, what.action, *target, details, at, customer_id)
    try:
        audit.record(event)
    except DomainError:
        raise
    except Exception as error:
        logger.exception("Read refused: its audit event was not written", extra={"action": event.action})
        raise UpstreamUnavailable(
            "This read could not be recorded in the audit log; try again.", code="audit_unavailable"
        ) from error


def record_customer_read(
    audit: AuditTrail,
    staff: StaffContext,
    at: datetime,
    what: ReadOf,
    customer_id: str,
    rows: int,
    read_filter: Mapping[str, str | int | date | None] | None = None,
) -> None:
    """A staff member's read of one customer's bank data (`record_read`, the customer its target)."""
    reader = (staff.firm_id, staff.principal.user_id)
    record_read(audit, reader, at, what, ("customer", customer_id), customer_id, rows=rows, scope=read_filter)


def read_audit_log(
    audit: AuditTrail,
    staff: StaffContext,
    *,
    customer_id: str | None,
    cursor: str | None,
    limit: int,
    kind: AuditKind | None = None,
) -> tuple[list[AuditEvent], str | None]:
    authorize(staff, FirmAction.VIEW_AUDIT_LOG)
    return audit.page(
        staff.firm_id, customer_id=customer_id, kind=kind.value if kind else None, cursor=cursor, limit=limit
    )


@dataclass(frozen=True)
class ChainReport:
    tips: list[Anchor]  # each non-empty lane's newest position: the anchors of a later verify
    events: int
    breaks: list[Break]


def verify_audit_chains(
    chains: AuditChains, firm_id: str, anchors: Mapping[int, Anchor] | None = None
) -> ChainReport:
    """Every chain of the firm checked link by link (and against earlier tips, `anchors` by lane)."""
    tips, breaks, events = [], [], 0
    for lane in chains.chains(firm_id):
        breaks += lane.breaks + verify_lane(lane.lane, lane.links, (anchors or {}).get(lane.lane))
        events += len(lane.links)
        if lane.links:
            newest = lane.links[-1]
            tips.append(Anchor(lane.lane, int(newest.get("position", -1)), str(newest.get("hash"))))
    return ChainReport(tips, events, breaks)
