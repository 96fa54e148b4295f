"""The audit log (R-ROLE-3): what staff did, reading it (firm admins only), and verifying its chains
(the operator's `tools.audit verify`, R-PRIV-4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.auth import FirmAction, authorize
from shared.domain.audit import AuditEvent, AuditKind
from shared.domain.audit_chain import Anchor, Break, verify_lane
from shared.domain.identity import StaffContext
from shared.ports.audit import AuditChains, AuditTrail


def record_by(
    audit: AuditTrail,
    staff: StaffContext,
    at: datetime,
    action: str,
    target: tuple[str, str],
    details: dict[str, Any],
    customer_id: str | None = None,
) -> str:
    """Append what this staff member did in their firm (ids and roles in `details`, never names)."""
    firm_id, actor_id = staff.firm_id, staff.principal.user_id
    return audit.record(AuditEvent(firm_id, actor_id, action, *target, details, at, customer_id))


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
