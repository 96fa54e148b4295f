"""Admins invite staff by email, on the wire (issue 15, moto): invite -> email -> create-account ->
the new member's next request as staff answers with the invited role; advisers cannot invite;
another firm's invitation ids are a plain 404; the member conflicts; the daily reminders job.
The lifecycle rules themselves run on the fakes (tests/unit/test_invitation_lifecycle.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.invitations_api import handler as invitations
from functions.reminders_job.handler import run as run_reminders_job
from shared import bootstrap
from shared.clock import now
from tests.fakes import FakeDirectory
from tests.integration.file_access_support import seed_staff
from tests.integration.onboarding_support import (
    ADMIN,
    ADVISER,
    OTHER_ADVISER,
    Person,
    call,
    confirm_totp,
    invitation_links,
    use_fake_directory,
)
from tests.integration.staff_support import fake_directory

PASSWORD = "Correct-Horse-42-battery"
NELL = "nell.new@example.org"


@pytest.fixture
def directory(aws) -> FakeDirectory:
    seed_staff()
    return use_fake_directory()


def invite(by: Any = ADMIN, email: str = NELL, role: str = "adviser") -> tuple[int, Any]:
    body = {"email": email, "name": "Nell New", "role": role}
    return call(invitations, "POST", "/staff/invitations", by, body=body)


def staff_token(email: str = NELL) -> str:
    return [t for path, t in invitation_links(email) if path.endswith("/staff-invitations/accept")][-1]


def create_account(token: str) -> tuple[int, Any]:
    body = {"token": token, "password": PASSWORD}
    return call(invitations, "POST", "/staff-invitations/create-account", None, body=body)


@pytest.mark.parametrize("role", ["adviser", "admin"])
def test_an_invited_person_creates_their_account_and_their_next_request_is_staff_with_the_role(
    directory, role
):
    status, invited = invite(role=role)
    assert status == 201 and (invited["status"], invited["role"]) == ("pending", role)
    token = staff_token()
    assert call(invitations, "POST", "/staff-invitations/verify", None, body={"token": token}) == (
        200,
        {"firm_name": "Demo Advisory LLP", "role": role},
    )

    assert create_account(token) == (200, {"firm_name": "Demo Advisory LLP", "role": role})

    [user_id] = directory.created
    member = Person(user_id, NELL)
    assert call(invitations, "GET", "/staff", member)[1]["code"] == "mfa_required"  # R-ID-4
    assert confirm_totp(directory, member)[0] == 200
    status, staff = call(invitations, "GET", "/staff", member)
    assert status == 200
    [me] = [m for m in staff["items"] if m["user_id"] == user_id]
    assert (me["role"], me["active"], me["name"], me["email"]) == (role, True, "Nell New", NELL)
    assert call(invitations, "GET", "/customers", member)[0] == 200
    assert create_account(token)[1]["code"] == "invitation_invalid"  # single use
    assert call(invitations, "GET", "/staff/invitations", ADMIN) == (200, {"items": []})
    assert invite()[1]["code"] == "already_staff"


def test_inviting_a_pending_email_again_resends_with_the_new_role(directory):
    first = invite()[1]
    status, again = invite(role="admin")

    assert status == 200 and again["invitation_id"] == first["invitation_id"] and again["role"] == "admin"
    old, new = [t for path, t in invitation_links(NELL) if "staff-invitations" in path]
    assert create_account(old)[1]["code"] == "invitation_invalid"
    assert call(invitations, "POST", "/staff-invitations/verify", None, body={"token": new})[0] == 200
    [listed] = call(invitations, "GET", "/staff/invitations", ADMIN)[1]["items"]
    assert (listed["invitation_id"], listed["role"]) == (first["invitation_id"], "admin")


def test_advisers_cannot_invite_resend_revoke_nor_list(directory):
    invitation_id = invite()[1]["invitation_id"]

    assert invite(by=ADVISER)[0] == 403
    assert call(invitations, "GET", "/staff/invitations", ADVISER)[0] == 403
    for step in ("resend", "revoke"):
        path = f"/staff/invitations/{invitation_id}/{step}"
        answer = call(invitations, "POST", path, ADVISER, path_parameters={"invitation_id": invitation_id})
        assert answer[0] == 403


def test_another_firms_invitation_ids_are_not_found(directory):
    invitation_id = invite()[1]["invitation_id"]

    for step in ("resend", "revoke"):
        path = "/staff/invitations/{invitation_id}/" + step
        status, body = call(
            invitations, "POST", path, OTHER_ADVISER, path_parameters={"invitation_id": invitation_id}
        )
        assert (status, body["code"]) == (404, "not_found")
    assert call(invitations, "GET", "/staff/invitations", OTHER_ADVISER) == (200, {"items": []})
    revoked = call(
        invitations,
        "POST",
        "/staff/invitations/{invitation_id}/revoke",
        ADMIN,
        path_parameters={"invitation_id": invitation_id},
    )
    assert revoked[0] == 200 and revoked[1]["status"] == "revoked"


def test_signed_in_acceptance_needs_the_invited_email_and_a_deactivated_member_is_not_readmitted(
    directory, monkeypatch
):
    fake_directory(monkeypatch).add("nell-sub", NELL)  # the pool deactivation switches off
    invite()
    token = staff_token()
    nell = Person("nell-sub", NELL)
    answer = call(invitations, "POST", "/staff-invitations/accept", ADVISER, body={"token": token})
    assert (answer[0], answer[1]["code"]) == (403, "wrong_account")
    assert call(invitations, "POST", "/staff-invitations/accept", nell, body={"token": token})[0] == 200
    deactivate = "/staff/{user_id}/deactivate"
    assert call(invitations, "POST", deactivate, ADMIN, path_parameters={"user_id": "nell-sub"})[0] == 200

    status, body = invite()

    assert (status, body["code"]) == (409, "deactivated_member")


def test_the_daily_reminders_job_reminds_staff_invitees(directory):
    invite()
    later = now() + timedelta(days=8)
    bootstrap.staff_invitations().clock = lambda: later  # the job runs a week and a day later

    result = run_reminders_job({"job": "invitation-reminders"})

    assert result["staff_invitations"]["reminders_sent"] == 1
    assert len([p for p, _ in invitation_links(NELL) if "staff-invitations" in p]) == 2
