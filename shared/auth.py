"""Identity and tenancy: the one place that decides who acts in which firm, with which role.

Identity comes from the JWT the API's authorizer validated (`sub`, `email`); firm
membership and roles come from the service's own records, never from the request. A firm
the caller does not belong to behaves exactly like a firm that does not exist (R-ROLE-1).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated
from shared.domain.identity import Principal, StaffContext, StaffMembership, StaffRole


class MembershipReader(Protocol):
    def get_membership(self, user_id: str, firm_id: str) -> StaffMembership | None: ...

    def list_memberships(self, user_id: str) -> list[StaffMembership]: ...


class FirmAction(StrEnum):
    """Actions on the firm's own data, decided by role. Client-file actions (issue: access
    grants) get their own table-driven policy next to this one."""

    VIEW_CUSTOMERS = "view_customers"
    INVITE_CUSTOMER = "invite_customer"
    REVIEW_ACCOUNTS = "review_accounts"
    TRIGGER_REFRESH = "trigger_refresh"
    VIEW_AUDIT_LOG = "view_audit_log"
    LINK_ACCOUNT = "link_account"
    UNLINK_ACCOUNT = "unlink_account"  # R-CON-4: a link is undone by a firm admin only
    MANAGE_ASSIGNMENT_RULES = "manage_assignment_rules"
    ASSIGN_LINES = "assign_lines"


FIRM_POLICY: Mapping[FirmAction, frozenset[StaffRole]] = {
    FirmAction.VIEW_CUSTOMERS: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.INVITE_CUSTOMER: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.REVIEW_ACCOUNTS: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.TRIGGER_REFRESH: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.VIEW_AUDIT_LOG: frozenset({StaffRole.ADMIN}),
    FirmAction.LINK_ACCOUNT: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.UNLINK_ACCOUNT: frozenset({StaffRole.ADMIN}),
    FirmAction.MANAGE_ASSIGNMENT_RULES: frozenset({StaffRole.ADMIN}),  # firm-wide rules
    FirmAction.ASSIGN_LINES: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
}


def principal_from_claims(claims: Mapping[str, Any] | None) -> Principal:
    """The caller, from the claims the JWT authorizer passed on (API Gateway sends strings)."""
    if not claims or not claims.get("sub"):
        raise Unauthenticated()
    return Principal(user_id=str(claims["sub"]), email=str(claims.get("email", "")))


def staff_context(principal: Principal, memberships: MembershipReader, firm_id: str | None) -> StaffContext:
    """The firm the caller acts in, and their role there.

    `firm_id` (the X-Firm-Id header) is needed only by someone on the staff of several firms.
    """
    if firm_id:
        membership = memberships.get_membership(principal.user_id, firm_id)
        if membership is None:
            raise NotFound()
    else:
        found = memberships.list_memberships(principal.user_id)
        if not found:
            raise Forbidden("This is for firm staff only.", code="staff_only")
        if len(found) > 1:
            raise InvalidRequest(
                "You work for several firms: say which in the X-Firm-Id header.", code="firm_required"
            )
        membership = found[0]
    return StaffContext(principal=principal, firm_id=membership.firm_id, role=membership.role)


def authorize(context: StaffContext, action: FirmAction) -> None:
    if context.role not in FIRM_POLICY[action]:
        raise Forbidden()
