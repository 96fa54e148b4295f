"""The audit log (R-ROLE-3): what staff did, and reading it (firm admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.auth import FirmAction, authorize
from shared.domain.audit import AuditEvent
from shared.domain.identity import StaffContext
from shared.ports.audit import AuditTrail


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
    audit: AuditTrail, staff: StaffContext, *, customer_id: str | None, cursor: str | None, limit: int
) -> tuple[list[AuditEvent], str | None]:
    authorize(staff, FirmAction.VIEW_AUDIT_LOG)
    return audit.page(staff.firm_id, customer_id=customer_id, cursor=cursor, limit=limit)
