"""Identity and tenancy: the one place that decides who acts in which firm, with which role.

Identity comes from the JWT the API's authorizer validated (`sub`, `email`); firm
membership and roles come from the service's own records, never from the request. A firm
the caller does not belong to behaves exactly like a firm that does not exist (R-ROLE-1).

Three kinds of caller, three resolvers, all here: firm staff (`staff_context`), a firm's customer
(`customer_of`) and anyone acting on a client file (`file_caller`: staff, the holder, a family
member, an external adviser). The firm a caller may name (X-Firm-Id, or `firm_id` in a body) is
only a choice among the firms our records give them. Once resolved, the use case runs on ports
bound to that firm (`shared/ports/firm_bound.py`).

Staff reach the firm's data only once our records say their sign-in has a second factor (R-ID-4,
`shared/domain/mfa.py`): `staff_context`, and `file_caller` for a caller it finds to be staff,
refuse anyone else with 403 `mfa_required`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.customers import Customer
from shared.domain.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated
from shared.domain.file_access import CallerKind, grantee_kind, staff_kind
from shared.domain.files import Grant, Subject
from shared.domain.identity import CustomerLink, Principal, StaffContext, StaffMembership, StaffRole
from shared.domain.mfa import MfaEnrolment, MfaRequired


class MembershipReader(Protocol):
    def get_membership(self, user_id: str, firm_id: str) -> StaffMembership | None: ...

    def list_memberships(self, user_id: str) -> list[StaffMembership]: ...

    def get_mfa_enrolment(self, user_id: str) -> MfaEnrolment | None: ...


class CustomerLinkReader(Protocol):
    def list_customer_links(self, user_id: str) -> list[CustomerLink]: ...


class CustomerReader(Protocol):
    def get(self, firm_id: str, customer_id: str) -> Customer | None: ...

    def get_many(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Customer]: ...


class FileLinkReader(Protocol):
    def links_of(self, user_id: str) -> list[Any]: ...  # FileLink: firm_id, file_id, subject

    def get_grant(self, firm_id: str, file_id: str, subject: Subject) -> Grant | None: ...


@dataclass(frozen=True)
class FileCaller:
    """Who the caller is on one client file, from our records; a stranger has no customer."""

    kind: CallerKind
    customer: Customer | None
    grant: Grant | None = None  # the caller's own grant, when they are a grantee


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
    VIEW_STAFF = "view_staff"  # the firm's staff with names and roles (owner filters, assignees)
    MANAGE_STAFF = "manage_staff"  # change a role, deactivate, reactivate (R-ID-2)
    RESET_STAFF_MFA = "reset_staff_mfa"  # a member's lost authenticator (R-ID-4)
    INVITE_STAFF = "invite_staff"  # invite by email, resend, revoke, list the pending invitations
    ASSIGN_CUSTOMERS = "assign_customers"  # assign/unassign advisers, transfer ownership (R-ID-3)
    CHOOSE_NOTIFICATION_DIGEST = "choose_notification_digest"  # one's own daily email digest
    EXPORT_TRANSACTIONS = "export_transactions"  # CSV of a customer the caller sees (issue 16)
    EXPORT_AUDIT_LOG = "export_audit_log"  # CSV of the firm's audit log
    VIEW_LEDGER_ACCOUNTS = "view_ledger_accounts"  # the chart of accounts links and rules pick from
    MANAGE_LEDGER_ACCOUNTS = "manage_ledger_accounts"  # create, rename, archive, delete (seed 003)
    MANAGE_FIRM_SETTINGS = "manage_firm_settings"  # the retention period (R-PRIV-2)
    END_RELATIONSHIP = "end_relationship"  # remove a customer from the firm (R-PRIV-2)
    REQUEST_ERASURE = "request_erasure"  # ask for a customer's erasure before retention ends
    APPROVE_ERASURE = "approve_erasure"  # approve it: the customer's data is erased (R-PRIV-3)
    VIEW_ENDED_RELATIONSHIPS = "view_ended_relationships"  # the list of what the firm retains


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
    FirmAction.VIEW_STAFF: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.MANAGE_STAFF: frozenset({StaffRole.ADMIN}),
    FirmAction.RESET_STAFF_MFA: frozenset({StaffRole.ADMIN}),
    FirmAction.INVITE_STAFF: frozenset({StaffRole.ADMIN}),
    FirmAction.ASSIGN_CUSTOMERS: frozenset({StaffRole.ADMIN}),
    FirmAction.CHOOSE_NOTIFICATION_DIGEST: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.EXPORT_TRANSACTIONS: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.EXPORT_AUDIT_LOG: frozenset({StaffRole.ADMIN}),
    FirmAction.VIEW_LEDGER_ACCOUNTS: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),
    FirmAction.MANAGE_LEDGER_ACCOUNTS: frozenset({StaffRole.ADMIN}),
    FirmAction.MANAGE_FIRM_SETTINGS: frozenset({StaffRole.ADMIN}),
    FirmAction.END_RELATIONSHIP: frozenset({StaffRole.ADMIN}),  # a firm-wide decision, as R-ID-2's
    FirmAction.REQUEST_ERASURE: frozenset({StaffRole.ADMIN, StaffRole.ADVISER}),  # of a customer they see
    FirmAction.APPROVE_ERASURE: frozenset({StaffRole.ADMIN}),
    FirmAction.VIEW_ENDED_RELATIONSHIPS: frozenset({StaffRole.ADMIN}),  # retained for admins only
}


def principal_from_claims(claims: Mapping[str, Any] | None) -> Principal:
    """The caller, from the claims the JWT authorizer passed on (API Gateway sends strings)."""
    if not claims or not claims.get("sub"):
        raise Unauthenticated()
    return Principal(user_id=str(claims["sub"]), email=str(claims.get("email", "")))


def staff_context(principal: Principal, memberships: MembershipReader, firm_id: str | None) -> StaffContext:
    """The firm the caller acts in, and their role there.

    `firm_id` (the X-Firm-Id header) is needed only by someone on the staff of several firms. A
    deactivated membership is no membership: read on every request, so the next one is refused.
    A member whose sign-in has no second factor in our records is refused with `mfa_required`.
    """
    if firm_id:
        membership = memberships.get_membership(principal.user_id, firm_id)
        if membership is None or not membership.active:
            raise NotFound()
    else:
        found = active_memberships(memberships, principal.user_id)
        if not found:
            raise Forbidden("This is for firm staff only.", code="staff_only")
        if len(found) > 1:
            raise InvalidRequest(
                "You work for several firms: say which in the X-Firm-Id header.", code="firm_required"
            )
        membership = found[0]
    require_mfa(memberships, principal.user_id)
    return StaffContext(principal=principal, firm_id=membership.firm_id, role=membership.role)


def require_mfa(records: MembershipReader, user_id: str) -> None:
    """Staff reach the firm's data only with a second factor on their sign-in (R-ID-4)."""
    if records.get_mfa_enrolment(user_id) is None:
        raise MfaRequired()


def active_memberships(memberships: MembershipReader, user_id: str) -> list[StaffMembership]:
    """The firms a person works for now: a deactivated membership counts for nothing."""
    return [m for m in memberships.list_memberships(user_id) if m.active]


def customer_records(
    principal: Principal, customers: CustomerReader, links: Iterable[CustomerLink], *, ended: bool = False
) -> list[Customer]:
    """The customer records behind `links` (invitations the person accepted, access pattern 6),
    read in one batch and each checked to be theirs still, their relationship with the firm not
    ended (`ended`: ended ones too, for the lifecycle to finish an end it began; their link goes
    last): the one place that turns a signed-in person's links into the customer records they are."""
    chosen = list(links)
    if not chosen:
        return []
    records = customers.get_many((link.firm_id, link.customer_id) for link in chosen)
    return [
        customer
        for link in chosen
        if (customer := records.get((link.firm_id, link.customer_id)))
        and customer.user_id == principal.user_id
        and (ended or not customer.relationship_ended)
    ]


def customer_of(
    principal: Principal,
    links: CustomerLinkReader,
    customers: CustomerReader,
    firm_id: str | None,
    *,
    ended: bool = False,
) -> Customer:
    """The customer record the caller is (they accepted its invitation), in the firm they name
    if they are the customer of several (`ended`: see `customer_records`)."""
    found = [
        link
        for link in links.list_customer_links(principal.user_id)
        if firm_id is None or link.firm_id == firm_id
    ]
    if not found:
        raise (
            NotFound()
            if firm_id
            else Forbidden("Only a firm's customer connects a bank.", code="customers_only")
        )
    if len(found) > 1:
        raise InvalidRequest(
            "You are a customer of several firms: say which in firm_id.", code="firm_required"
        )
    for customer in customer_records(principal, customers, found, ended=ended):
        return customer
    raise NotFound()


def file_caller(
    principal: Principal,
    firm_id: str | None,
    file_id: str,
    *,
    memberships: MembershipReader,
    customers: CustomerReader,
    files: FileLinkReader,
    links: CustomerLinkReader,
) -> FileCaller:
    """The caller's kind on the client file `file_id`: staff of its firm (owner, assignee or
    admin; `firm_id` narrows the firms for staff of several), else a grantee bound to it, else
    the file's own customer (the file id is their customer id; `links` are the customer records
    they accepted, access pattern 6), else a stranger."""
    user_id = principal.user_id
    if firm_id:
        membership = memberships.get_membership(user_id, firm_id)
        staff_of = [membership] if membership and membership.active else []
    else:
        staff_of = active_memberships(memberships, user_id)
    for membership in staff_of:
        customer = customers.get(membership.firm_id, file_id)
        if customer is None or not customer.visible_to(user_id, membership.role is StaffRole.ADMIN):
            continue
        kind = staff_kind(
            owner_id=customer.owner_id,
            assignee_ids=customer.assignee_ids,
            staff_id=user_id,
            is_admin=membership.role is StaffRole.ADMIN,
        )
        if kind is not CallerKind.STRANGER:
            require_mfa(memberships, user_id)
            return FileCaller(kind, customer)
    for link in files.links_of(user_id):
        if link.file_id != file_id:
            continue
        grant = files.get_grant(link.firm_id, link.file_id, link.subject)
        customer = customers.get(link.firm_id, file_id)
        if grant is not None and grant.user_id == user_id and customer and not customer.relationship_ended:
            return FileCaller(grantee_kind(grant), customer, grant)
    mine = (link for link in links.list_customer_links(user_id) if link.customer_id == file_id)
    for customer in customer_records(principal, customers, mine):
        return FileCaller(CallerKind.CUSTOMER, customer)
    return FileCaller(CallerKind.STRANGER, None)


def authorize(context: StaffContext, action: FirmAction) -> None:
    if context.role not in FIRM_POLICY[action]:
        raise Forbidden()
