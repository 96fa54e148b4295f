"""Staff administration over HTTP on moto (R-ID-2, R-ID-3, R-ROLE-1/2, R-ACC-1): the staff list with
names, role changes and the last admin, deactivation (the next request is refused, the directory user
disabled) and reactivation, assigning and transferring customers with their Data Refresh rows.
The rules themselves are tested on fakes (tests/unit/test_staff_rules.py); the role, cross-tenant
and mass-assignment matrices cover these routes too (tests/reliability/)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.access_api import handler as access
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.domain.identity import StaffMembership, StaffRole, UserProfile
from tests.integration.file_access_support import ASSISTANT, UNASSIGNED, seed_staff
from tests.integration.onboarding_support import (
    ADMIN,
    ADVISER,
    INVITEE,
    OTHER_ADVISER,
    Person,
    call,
    enrol_mfa,
)
from tests.integration.staff_support import known, staff_directory
from tests.integration.test_refresh_dashboard import dashboard, refresh_system, seed_engagement

__all__ = ["refresh_system", "staff_directory"]

NEWCOMER = Person("newcomer-adviser-sub", "newcomer@demo-advisory.example")


@pytest.fixture
def firm(aws, staff_directory):
    """The demo firm (admin, adviser, an assistant, an unassigned adviser) and the other firm."""
    seed_staff()
    identities = bootstrap.identity_repository()
    identities.put_membership(StaffMembership(DEMO_FIRM.firm_id, NEWCOMER.sub, StaffRole.ADVISER))
    enrol_mfa(NEWCOMER)
    identities.put_profile(UserProfile(NEWCOMER.sub, NEWCOMER.email, "Nina Newcomer"))
    known(staff_directory, ADMIN, ADVISER, ASSISTANT, UNASSIGNED, NEWCOMER, OTHER_ADVISER)
    return staff_directory


def on_staff(method: str, user: Any, user_id: str, action: str = "", **kwargs: Any) -> tuple[int, Any]:
    route = f"/staff/{{user_id}}{action}"
    return call(invitations, method, route, user, path_parameters={"user_id": user_id}, **kwargs)


def on_customer(method: str, route: str, user: Any, customer_id: str, **kwargs: Any) -> tuple[int, Any]:
    ids = {"customer_id": customer_id, **kwargs.pop("ids", {})}
    return call(
        invitations, method, f"/customers/{{customer_id}}{route}", user, path_parameters=ids, **kwargs
    )


def assignee(method: str, user: Any, customer_id: str, user_id: str) -> tuple[int, Any]:
    return on_customer(method, "/assignees/{user_id}", user, customer_id, ids={"user_id": user_id})


def audit_actions() -> list[str]:
    status, page = call(invitations, "GET", "/audit", ADMIN)
    assert status == 200
    return [event["action"] for event in reversed(page["items"])]


# the list and roles -----------------------------------------------------------------------------
def test_every_staff_member_reads_the_staff_with_names_emails_and_roles(firm):
    status, body = call(invitations, "GET", "/staff", ADVISER)
    assert status == 200
    by_id = {m["user_id"]: m for m in body["items"]}
    assert by_id[ADMIN.sub] == {
        "user_id": ADMIN.sub,
        "name": "Alice Admin",
        "email": ADMIN.email,
        "role": "admin",
        "active": True,
    }
    assert by_id[NEWCOMER.sub]["name"] == "Nina Newcomer"
    assert OTHER_ADVISER.sub not in by_id  # another firm's staff
    assert call(invitations, "GET", "/staff", INVITEE)[0] == 403


def test_an_admin_changes_roles_but_never_leaves_the_firm_without_an_admin(firm):
    assert on_staff("PATCH", ADVISER, ASSISTANT.sub, body={"role": "admin"})[0] == 403
    assert on_staff("PATCH", ADMIN, ADMIN.sub, body={"role": "adviser"}) == (
        409,
        {"code": "last_admin", "message": "The firm needs an active admin: make someone else admin first."},
    )
    status, member = on_staff("PATCH", ADMIN, ASSISTANT.sub, body={"role": "admin"})
    assert (status, member["role"]) == (200, "admin")
    assert on_staff("PATCH", ADMIN, ADMIN.sub, body={"role": "adviser"})[0] == 200  # another admin now
    assert call(invitations, "GET", "/audit", ADMIN)[0] == 403  # no longer an admin, at once
    assert on_staff("PATCH", ASSISTANT, ASSISTANT.sub, body={"role": "owner"})[0] == 400
    assert on_staff("PATCH", ASSISTANT, OTHER_ADVISER.sub, body={"role": "adviser"})[0] == 404


def test_a_deactivated_member_is_refused_at_their_next_request_and_can_come_back(firm):
    assert call(invitations, "GET", "/customers", ADVISER)[0] == 200
    status, member = on_staff("POST", ADMIN, ADVISER.sub, "/deactivate")
    assert (status, member["active"]) == (200, False)
    assert call(invitations, "GET", "/customers", ADVISER) == (
        403,
        {"code": "staff_only", "message": "This is for firm staff only."},
    )
    headers = {"x-firm-id": DEMO_FIRM.firm_id}
    assert call(invitations, "GET", "/customers", ADVISER, headers=headers)[0] == 404
    assert not firm.users[ADVISER.sub].enabled  # the directory signed them out everywhere
    assert on_staff("POST", ADMIN, ADVISER.sub, "/reactivate")[1]["active"] is True
    assert firm.users[ADVISER.sub].enabled
    assert call(invitations, "GET", "/customers", ADVISER)[0] == 200
    assert audit_actions() == ["staff.deactivated", "staff.reactivated"]


def test_the_last_admin_cannot_deactivate_themselves(firm):
    assert on_staff("POST", ADMIN, ADMIN.sub, "/deactivate")[1]["code"] == "last_admin"
    assert firm.calls.count(("disable_user", ADMIN.sub)) == 0


# assigning and transferring customers -----------------------------------------------------------
def invite(by: Person) -> str:
    body = {"name": "Jane Doe", "email": INVITEE.email}
    status, created = call(invitations, "POST", "/customers/invitations", by, body=body)
    assert status == 201, created
    return str(created["customer_id"])


def invited_rows(user: Any) -> list[dict]:
    status, page = call(invitations, "GET", "/customers", user, query={"section": "invited"})
    assert status == 200
    return list(page["items"])


def test_an_admin_assigns_and_unassigns_an_adviser(firm):
    customer_id = invite(ADMIN)
    assert on_customer("GET", "", ADVISER, customer_id)[0] == 404
    status, customer = assignee("PUT", ADMIN, customer_id, ADVISER.sub)
    assert (status, customer["owner_id"], customer["assignee_ids"]) == (200, ADMIN.sub, [ADVISER.sub])
    assert on_customer("GET", "", ADVISER, customer_id)[0] == 200
    [row] = invited_rows(ADVISER)
    assert (row["owner_id"], row["assignee_ids"]) == (ADMIN.sub, [ADVISER.sub])  # names: GET /staff
    assert assignee("PUT", ADVISER, customer_id, NEWCOMER.sub)[0] == 403
    assert assignee("DELETE", ADMIN, customer_id, ADVISER.sub)[0] == 200
    assert on_customer("GET", "", ADVISER, customer_id)[0] == 404
    assert invited_rows(ADVISER) == []
    assert audit_actions()[-2:] == ["customer.assigned", "customer.unassigned"]


def test_only_an_active_member_of_the_firm_is_assigned_or_takes_over(firm):
    customer_id = invite(ADMIN)
    on_staff("POST", ADMIN, NEWCOMER.sub, "/deactivate")
    for user_id in (NEWCOMER.sub, OTHER_ADVISER.sub, "nobody-at-all"):
        assert assignee("PUT", ADMIN, customer_id, user_id)[0] == 404
        assert on_customer("POST", "/transfer", ADMIN, customer_id, body={"owner_id": user_id})[0] == 404
    assert on_customer("GET", "", ADMIN, customer_id)[1]["assignee_ids"] == []


def test_a_transfer_moves_the_customer_its_file_and_its_dashboard_rows_at_once(firm, refresh_system):
    customer_id = seed_engagement(refresh_system.clock, "Handed Over", owner=ADVISER.sub)
    assert [r["customer_id"] for r in dashboard(ADVISER)] == [customer_id]
    assert (
        call(access, "GET", "/files/{file_id}", ADVISER, path_parameters={"file_id": customer_id})[0] == 200
    )

    status, customer = on_customer("POST", "/transfer", ADMIN, customer_id, body={"owner_id": NEWCOMER.sub})
    assert (status, customer["owner_id"]) == (200, NEWCOMER.sub)

    assert on_customer("GET", "", ADVISER, customer_id)[0] == 404  # the previous owner, at once
    assert dashboard(ADVISER) == []
    assert (
        call(access, "GET", "/files/{file_id}", ADVISER, path_parameters={"file_id": customer_id})[0] == 404
    )
    assert on_customer("GET", "", NEWCOMER, customer_id)[0] == 200
    [row] = dashboard(NEWCOMER)
    assert (row["customer_id"], row["owner_id"]) == (customer_id, NEWCOMER.sub)
    assert [r["customer_id"] for r in dashboard(ADMIN, owner_id=NEWCOMER.sub)] == [customer_id]
    assert dashboard(ADMIN, owner_id=ADVISER.sub) == []
    status, file = call(access, "GET", "/files/{file_id}", NEWCOMER, path_parameters={"file_id": customer_id})
    assert (status, file["manager_id"], file["you"]["kind"]) == (200, NEWCOMER.sub, "file_manager")
    status, page = call(invitations, "GET", "/customers", ADVISER, query={"section": "invited"})
    assert page["counts"] == {"invited": 0, "pending": 0, "customers": 0, "ended": None}
