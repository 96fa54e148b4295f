"""Role x route matrix (issue 8, R-ROLE-1/2, R-ACC-1..6): every role on every route of infra/spec.py.

What each route allows is written once below, in terms of the policies: the firm's (shared/auth.py
FIRM_POLICY, by FirmAction, plus whether the caller sees the customer) and the client file's
(shared/domain/file_access.py FILE_POLICY, by FileAction and the caller's kind on the file); the few
routes that belong to a person (their connection, their notification) say so. Each role is a real
person of firm A's world (tests/reliability/matrix_support.py): the admin, the customer's owner, an
assigned and an unassigned adviser, the customer, the file's grantees (holder, family member and
external adviser, read/write and read-only), someone signed in with no record, and anonymous.
A case is a success when the answer is 2xx/3xx; every case starts from the same world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra.spec import ROUTES
from shared.auth import FIRM_POLICY, FirmAction
from shared.domain.file_access import CallerKind, FileAction, access_action, is_allowed
from shared.domain.files import Relation, SubjectType
from shared.domain.identity import StaffRole
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.file_access_support import NOBODY
from tests.integration.onboarding_support import Person
from tests.reliability.matrix_support import (
    FIRM_A,
    ROUTE_BY_KEY,
    Checkpoint,
    ask,
    build_world,
    key,
    matrix_directory,
    undeclared,
)
from tests.reliability.matrix_support import request as call

__all__ = ["matrix_directory", "sandboxes"]


@dataclass(frozen=True)
class Role:
    name: str
    person: Person | None  # None: no token
    staff_role: StaffRole | None = None
    sees_customer: bool = False  # admin, or the customer's owner or an assignee (R-ROLE-2)
    requested_job: bool = False  # triggered the world's refresh job and requested its export
    customer: bool = False  # the customer: their connections and notifications
    file_kind: CallerKind = CallerKind.STRANGER


ROLES = [
    Role("admin", FIRM_A.admin, StaffRole.ADMIN, sees_customer=True, file_kind=CallerKind.FIRM_ADMIN),
    Role(
        "owner",
        FIRM_A.owner,
        StaffRole.ADVISER,
        sees_customer=True,
        requested_job=True,
        file_kind=CallerKind.FILE_MANAGER,
    ),
    Role(
        "assigned_adviser",
        FIRM_A.assigned,
        StaffRole.ADVISER,
        sees_customer=True,
        file_kind=CallerKind.FIRM_STAFF,
    ),
    Role("unassigned_adviser", FIRM_A.unassigned, StaffRole.ADVISER),
    Role("customer", FIRM_A.customer, customer=True, file_kind=CallerKind.CUSTOMER),  # reads their own file
    Role("holder_rw", FIRM_A.grantees["holder_rw"], file_kind=CallerKind.HOLDER_RW),
    Role("holder_ro", FIRM_A.grantees["holder_ro"], file_kind=CallerKind.HOLDER_RO),
    Role("member_rw", FIRM_A.grantees["member_rw"], file_kind=CallerKind.MEMBER_RW),
    Role("member_ro", FIRM_A.grantees["member_ro"], file_kind=CallerKind.MEMBER_RO),
    Role("external_adviser_rw", FIRM_A.grantees["adviser_rw"], file_kind=CallerKind.ADVISER_RW),
    Role("external_adviser_ro", FIRM_A.grantees["adviser_ro"], file_kind=CallerKind.ADVISER_RO),
    Role("signed_in_nobody", NOBODY),
    Role("invitee", FIRM_A.invited),  # signed in with the invited email, has not accepted yet
    Role("file_invitee", FIRM_A.file_invitee),
    Role("staff_invitee", FIRM_A.staff_invitee),
    Role("anonymous", None),
]

Rule = Callable[[Role], bool]


def public(_: Role) -> bool:
    return True


def signed_in(role: Role) -> bool:
    return role.person is not None


def staff(role: Role) -> bool:
    """Firm staff, whatever their role: their own sign-in's second factor (R-ID-4)."""
    return role.staff_role is not None


def never(_: Role) -> bool:
    """A signed webhook: nobody without Plaid's signature (the webhook suite covers signed ones)."""
    return False


def firm(action: FirmAction, scope: str = "firm") -> Rule:
    """FIRM_POLICY; scope "customer": the caller must also see the customer, "job": have asked for it."""

    def rule(role: Role) -> bool:
        if role.staff_role not in FIRM_POLICY[action]:
            return False
        if scope == "customer":
            return role.sees_customer
        if scope == "job":
            return role.staff_role is StaffRole.ADMIN or role.requested_job
        return True

    return rule


def firm_admin_seeing_customer(role: Role) -> bool:
    """Revoking a consent as the firm: admins only (checked in shared/services/connections.py)."""
    return role.staff_role is StaffRole.ADMIN and role.sees_customer


def file(action: FileAction) -> Rule:
    return lambda role: is_allowed(role.file_kind, action)


def the_customer(role: Role) -> bool:
    """The customer's own things: their connections, their notifications."""
    return role.customer


def the_invitee(role: Role) -> bool:
    """A customer invitation binds only the person signed in with the invited email."""
    return role.person == FIRM_A.invited


def the_file_invitee(role: Role) -> bool:
    """A file invitation binds only the person signed in with the invited email."""
    return role.person == FIRM_A.file_invitee


def the_staff_invitee(role: Role) -> bool:
    """A staff invitation binds only the person signed in with the invited email."""
    return role.person == FIRM_A.staff_invitee


MEMBER_ACCESS = access_action(SubjectType.MEMBER, Relation.OTHER.is_central)  # the world's targets: "other"
F = FirmAction
RULES: dict[str, Rule] = {
    "GET /health": public,
    "GET /openapi.json": public,
    "GET /docs": public,
    "GET /me": signed_in,
    "POST /me/mfa/confirm": staff,  # enrolled already in the world: answered from our record
    "GET /me/notifications": signed_in,
    "POST /me/notifications/{notification_id}/read": the_customer,
    "GET /me/notification-preferences": firm(F.CHOOSE_NOTIFICATION_DIGEST),
    "PUT /me/notification-preferences": firm(F.CHOOSE_NOTIFICATION_DIGEST),
    "POST /customers/invitations": firm(F.INVITE_CUSTOMER),
    "POST /customers/{customer_id}/invitation/resend": firm(F.INVITE_CUSTOMER, "customer"),
    "POST /customers/{customer_id}/invitation/revoke": firm(F.INVITE_CUSTOMER, "customer"),
    "POST /invitations/verify": public,
    "POST /invitations/accept": the_invitee,
    "POST /invitations/create-account": public,  # creates the invited email's account, whoever calls
    "GET /customers": firm(F.VIEW_CUSTOMERS),
    "GET /customers/{customer_id}": firm(F.VIEW_CUSTOMERS, "customer"),
    "GET /customers/{customer_id}/accounts": firm(F.VIEW_CUSTOMERS, "customer"),
    "POST /customers/{customer_id}/accounts/{account_id}/accept": firm(F.REVIEW_ACCOUNTS, "customer"),
    "POST /customers/{customer_id}/accounts/{account_id}/decline": firm(F.REVIEW_ACCOUNTS, "customer"),
    "GET /customers/{customer_id}/transactions": firm(F.VIEW_CUSTOMERS, "customer"),
    "POST /customers/{customer_id}/accounts/{account_id}/link": firm(F.LINK_ACCOUNT, "customer"),
    "POST /customers/{customer_id}/accounts/{account_id}/unlink": firm(F.UNLINK_ACCOUNT, "customer"),
    "GET /assignment-rules": firm(F.VIEW_CUSTOMERS),
    "POST /assignment-rules": firm(F.MANAGE_ASSIGNMENT_RULES),
    "PUT /assignment-rules/{rule_id}": firm(F.MANAGE_ASSIGNMENT_RULES),
    "DELETE /assignment-rules/{rule_id}": firm(F.MANAGE_ASSIGNMENT_RULES),
    "POST /customers/{customer_id}/auto-assign": firm(F.ASSIGN_LINES, "customer"),
    "GET /customers/{customer_id}/unassigned-lines": firm(F.VIEW_CUSTOMERS, "customer"),
    "POST /customers/{customer_id}/lines/{line_id}/assign": firm(F.ASSIGN_LINES, "customer"),
    "GET /ledger-accounts": firm(F.VIEW_LEDGER_ACCOUNTS),
    "POST /ledger-accounts": firm(F.MANAGE_LEDGER_ACCOUNTS),
    "PATCH /ledger-accounts/{code}": firm(F.MANAGE_LEDGER_ACCOUNTS),
    "DELETE /ledger-accounts/{code}": firm(F.MANAGE_LEDGER_ACCOUNTS),
    "GET /audit": firm(F.VIEW_AUDIT_LOG),
    "GET /staff": firm(F.VIEW_STAFF),
    "PATCH /staff/{user_id}": firm(F.MANAGE_STAFF),
    "POST /staff/{user_id}/deactivate": firm(F.MANAGE_STAFF),
    "POST /staff/{user_id}/reactivate": firm(F.MANAGE_STAFF),
    "POST /firm/staff/{user_id}/mfa/reset": firm(F.RESET_STAFF_MFA),  # the assigned adviser's
    "PUT /customers/{customer_id}/assignees/{user_id}": firm(F.ASSIGN_CUSTOMERS, "customer"),
    "DELETE /customers/{customer_id}/assignees/{user_id}": firm(F.ASSIGN_CUSTOMERS, "customer"),
    "POST /customers/{customer_id}/transfer": firm(F.ASSIGN_CUSTOMERS, "customer"),
    "POST /staff/invitations": firm(F.INVITE_STAFF),
    "GET /staff/invitations": firm(F.INVITE_STAFF),
    "POST /staff/invitations/{invitation_id}/resend": firm(F.INVITE_STAFF),
    "POST /staff/invitations/{invitation_id}/revoke": firm(F.INVITE_STAFF),
    "POST /staff-invitations/verify": public,
    "POST /staff-invitations/accept": the_staff_invitee,
    "POST /staff-invitations/create-account": public,  # creates the invited email's account
    "GET /files/{file_id}": file(FileAction.VIEW_FILE),
    "POST /files/{file_id}/members": file(FileAction.EDIT_FAMILY),
    "PUT /files/{file_id}/members/{member_id}": file(FileAction.EDIT_FAMILY),
    "DELETE /files/{file_id}/members/{member_id}": file(FileAction.EDIT_FAMILY),
    "POST /files/{file_id}/patrimony": file(FileAction.EDIT_PATRIMONY),
    "PUT /files/{file_id}/patrimony/{item_id}": file(FileAction.EDIT_PATRIMONY),
    "DELETE /files/{file_id}/patrimony/{item_id}": file(FileAction.EDIT_PATRIMONY),
    "POST /files/{file_id}/donations": file(FileAction.EDIT_DONATIONS),
    "PUT /files/{file_id}/donations/{donation_id}": file(FileAction.EDIT_DONATIONS),
    "DELETE /files/{file_id}/donations/{donation_id}": file(FileAction.EDIT_DONATIONS),
    "POST /files/{file_id}/simulations": file(FileAction.CREATE_SIMULATION),
    "POST /files/{file_id}/reports": file(FileAction.CREATE_REPORT),
    "GET /files/{file_id}/access": file(FileAction.VIEW_ACCESS),
    "PUT /files/{file_id}/members/{member_id}/access": file(MEMBER_ACCESS),
    "DELETE /files/{file_id}/members/{member_id}/access": file(MEMBER_ACCESS),
    "POST /files/{file_id}/advisers": file(FileAction.REGISTER_ADVISER),
    "PUT /files/{file_id}/advisers/{adviser_id}/access": file(FileAction.MANAGE_ADVISER_ACCESS),
    "DELETE /files/{file_id}/advisers/{adviser_id}/access": file(FileAction.MANAGE_ADVISER_ACCESS),
    "GET /files/{file_id}/access-log": file(FileAction.VIEW_ACCESS_LOG),
    "GET /me/files": signed_in,
    "POST /file-invitations/verify": public,
    "POST /file-invitations/accept": the_file_invitee,
    "POST /file-invitations/create-account": public,
    "GET /institutions": signed_in,
    "POST /connections": the_customer,
    "GET /connections": signed_in,
    "GET /me/accounts": signed_in,  # like every /me/* list: someone with no customer record gets none
    "GET /me/connections": signed_in,
    "POST /connections/{connection_id}/complete": the_customer,
    "POST /connections/reauthorise": the_customer,  # the caller's own lapsing connections
    "POST /connections/{connection_id}/reauthorise": the_customer,
    "POST /connections/{connection_id}/deauthorise": the_customer,
    "POST /connections/{connection_id}/refresh": the_customer,
    "POST /connections/{connection_id}/find-new-accounts": the_customer,
    "GET /customers/{customer_id}/connections": firm(F.VIEW_CUSTOMERS, "customer"),
    "POST /customers/{customer_id}/imports": firm(F.VIEW_CUSTOMERS, "customer"),
    "POST /firm/connections/{connection_id}/deauthorise": firm_admin_seeing_customer,
    "POST /firm/connections/{connection_id}/refresh": firm(F.VIEW_CUSTOMERS, "customer"),
    "GET /callbacks/gocardless": public,
    "POST /webhooks/plaid": never,
    "GET /data-refresh/engagements": firm(F.TRIGGER_REFRESH),
    "GET /data-refresh/packages": firm(F.TRIGGER_REFRESH),  # advisers: their own customers' packages
    "POST /data-refresh/jobs": firm(F.TRIGGER_REFRESH),
    "GET /data-refresh/jobs": firm(F.TRIGGER_REFRESH),  # advisers: the jobs they started
    "GET /data-refresh/jobs/{job_id}": firm(F.TRIGGER_REFRESH, "job"),
    "POST /me/eula": signed_in,
    "POST /customers/{customer_id}/exports": firm(F.EXPORT_TRANSACTIONS, "customer"),
    "POST /audit/exports": firm(F.EXPORT_AUDIT_LOG),
    "GET /exports/{export_id}": firm(F.EXPORT_TRANSACTIONS, "job"),  # its requester (the owner) or admins
    "GET /eula": signed_in,  # anyone signed in reads it before accepting
    "GET /firm/settings": firm(F.MANAGE_FIRM_SETTINGS),
    "PUT /firm/settings": firm(F.MANAGE_FIRM_SETTINGS),
    "POST /customers/{customer_id}/end-relationship": firm(F.END_RELATIONSHIP, "customer"),
    "POST /me/firms/{firm_id}/leave": the_customer,  # the customer record they are, in that firm
    "POST /customers/{customer_id}/erasure-request": firm(F.REQUEST_ERASURE, "customer"),
    "POST /customers/{customer_id}/erasure-request/approve": firm(F.APPROVE_ERASURE, "customer"),
}


def test_every_route_and_every_kind_of_caller_is_in_the_matrix():
    assert undeclared() == []
    assert sorted(RULES) == sorted(key(r) for r in ROUTES), (
        "a route without a rule, or a rule without a route"
    )
    kinds = {role.file_kind for role in ROLES}
    assert kinds == set(CallerKind), "a kind of file caller no role plays"
    assert {role.staff_role for role in ROLES} >= set(StaffRole)
    # the routes without the JWT authorizer are those open to anyone (or to a signature only)
    assert {key(r) for r in ROUTES if r.public} == {k for k, rule in RULES.items() if rule in (public, never)}


def test_each_role_gets_2xx_exactly_where_the_policy_allows(sandboxes, bar, matrix_directory):
    world = build_world(sandboxes)
    checkpoint = Checkpoint(sandboxes)
    a = world.a
    unexpected: list[str] = []
    denied: list[str] = []
    cases = 0
    for route in ROUTES:
        k = key(route)
        for role in ROLES:
            answer = ask(a, route, role.person)
            cases += 1
            allowed = RULES[k](role)
            if answer.ok and not allowed:
                unexpected.append(f"{role.name} {k}: {answer.status} {answer.body[:200]}")
            if allowed and not answer.ok:
                denied.append(f"{role.name} {k}: {answer.status} {answer.body[:200]}")
            checkpoint.after(route, answer)
    bar(
        "role matrix",
        roles=len(ROLES),
        routes=len(ROUTES),
        cases=cases,
        unexpected_2xx=len(unexpected),
        expected_denied=len(denied),
    )
    assert not unexpected, "\n".join(unexpected)
    assert not denied, "\n".join(denied)


# Query values that change who may call a route: (route, query) -> rule, each checked like a route.
QUERY_RULES: dict[tuple[str, tuple[tuple[str, str], ...]], Rule] = {
    # the relationships that ended: what the firm retains, for admins only (R-PRIV-2)
    ("GET /customers", (("section", "ended"),)): firm(F.VIEW_ENDED_RELATIONSHIPS),
}


def test_each_role_gets_2xx_exactly_where_the_policy_allows_a_query_value(sandboxes, matrix_directory):
    world = build_world(sandboxes)
    wrong = []
    for (route_key, query), rule in QUERY_RULES.items():
        route = ROUTE_BY_KEY[route_key]
        for role in ROLES:
            on = world.a.path_parameters(route)
            answer = call(route, role.person, path_parameters=on, query=dict(query))
            if answer.ok != rule(role):
                wrong.append(f"{role.name} {route_key}?{dict(query)}: {answer.status} {answer.body[:160]}")
    assert not wrong, "\n".join(wrong)
