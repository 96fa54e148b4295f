"""Reading the audit log (R-ROLE-3): firm admins only."""

from __future__ import annotations

from shared.auth import FirmAction, authorize
from shared.domain.audit import AuditEvent
from shared.domain.identity import StaffContext
from shared.ports.audit import AuditTrail


def read_audit_log(
    audit: AuditTrail, staff: StaffContext, *, customer_id: str | None, cursor: str | None, limit: int
) -> tuple[list[AuditEvent], str | None]:
    authorize(staff, FirmAction.VIEW_AUDIT_LOG)
    return audit.page(staff.firm_id, customer_id=customer_id, cursor=cursor, limit=limit)
