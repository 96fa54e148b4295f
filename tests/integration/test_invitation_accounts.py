"""Accepting an invitation creates the account, on the wire, for each kind of invitee (issue 15):
the public create-account routes (no token needed) with the user pool in memory (FakeDirectory),
the signed-in acceptance only with the invited email, and the answers: account_exists,
weak_password (the link still works), wrong_account, one answer for a used link. The rules
themselves are tested on the fakes in tests/unit/test_invitation_lifecycle.py."""

from __future__ import annotations

from typing import Any

import pytest

from functions.invitations_api import handler as invitations
from functions.platform_api import handler as platform
from tests.fakes import FakeDirectory
from tests.integration.file_access_support import (
    FileWorld,
    api,
    file_tokens,
    new_file,
    seed_staff,
    table_state,
)
from tests.integration.onboarding_support import (
    Person,
    call,
    invitation_tokens,
    use_fake_directory,
)

PASSWORD = "Correct-Horse-42-battery"
JANE = Person("unused-sub", "jane.newcomer@example.org")  # invited; her sub comes from the pool
KID = Person("unused-sub", "kid@example.org")


@pytest.fixture
def directory(aws) -> FakeDirectory:
    seed_staff()
    return use_fake_directory()


def customer_create(token: str, password: str = PASSWORD) -> tuple[int, Any]:
    return call(
        invitations, "POST", "/invitations/create-account", None, body={"token": token, "password": password}
    )


def file_create(token: str, password: str = PASSWORD) -> tuple[int, Any]:
    return api("POST", "/file-invitations/create-account", None, body={"token": token, "password": password})


def invite_customer(person: Person) -> str:
    new_file(person.email, "Jane Newcomer")  # the demo adviser invites her over the API
    return invitation_tokens(person.email)[-1]


def test_a_customer_without_an_account_creates_it_by_accepting_and_is_then_the_customer(directory):
    token = invite_customer(JANE)

    assert customer_create(token, "too-short") == (
        400,
        {"code": "weak_password", "message": "The password is too weak."},
    )
    assert directory.created == []
    assert call(invitations, "POST", "/invitations/verify", None, body={"token": token})[0] == 200
    status, body = customer_create(token)

    assert (status, body) == (200, {"firm_name": "Demo Advisory LLP"})
    [user_id] = directory.created
    assert directory.find_by_email(JANE.email).user_id == user_id
    me = Person(user_id, JANE.email)  # signed in through the pool: its sub and the invited email
    status, described = call(platform, "GET", "/me", me)
    assert status == 200 and [c["firm_name"] for c in described["customer_of"]] == ["Demo Advisory LLP"]
    assert described["name"] == "Jane Newcomer"
    assert customer_create(token)[1]["code"] == "invitation_invalid"  # a second acceptance changes nothing
    assert len(directory.created) == 1
    assert PASSWORD not in repr(table_state())


def test_a_signed_in_customer_accepts_only_with_the_invited_email_and_an_existing_account_must_sign_in(
    directory,
):
    token = invite_customer(JANE)
    directory.add("jane-existing-sub", JANE.email)

    assert customer_create(token) == (
        409,
        {
            "code": "account_exists",
            "message": "An account with this email address already exists: sign in, then accept the "
            "invitation.",
        },
    )
    someone = Person("someone-sub", "someone@example.org")
    status, body = call(invitations, "POST", "/invitations/accept", someone, body={"token": token})
    assert (status, body["code"]) == (403, "wrong_account")

    status, body = call(
        invitations,
        "POST",
        "/invitations/accept",
        Person("jane-existing-sub", JANE.email),
        body={"token": token},
    )
    assert (status, body) == (200, {"firm_name": "Demo Advisory LLP"})
    assert directory.created == []


def test_a_grantee_without_an_account_creates_it_by_accepting_and_finds_the_file(directory):
    world: FileWorld = new_file()
    world.add_member("Kid", "child")
    assert world.grant_member("Kid", KID, "read_only")[0] == 200
    token = file_tokens(KID.email)[-1]
    before = table_state()

    assert file_create(token, "too-short")[1]["code"] == "weak_password"
    assert table_state() == before and directory.created == []
    someone = Person("someone-sub", "someone@example.org")
    assert (
        api("POST", "/file-invitations/accept", someone, body={"token": token})[1]["code"] == "wrong_account"
    )
    status, mine = file_create(token)

    assert status == 200, mine
    assert (mine["file_id"], mine["level"], mine["kind"]) == (world.file_id, "read_only", "member_ro")
    [user_id] = directory.created
    status, files = api("GET", "/me/files", Person(user_id, KID.email))
    assert status == 200 and [f["file_id"] for f in files["items"]] == [world.file_id]
    assert file_create(token)[1]["code"] == "invitation_invalid"
    assert len(directory.created) == 1
    assert PASSWORD not in repr(table_state())


def test_the_create_account_routes_refuse_unknown_fields_and_oversized_input(directory):
    token = invite_customer(JANE)
    body = {"token": token, "password": PASSWORD}
    for route, handler_call in (
        (
            "/invitations/create-account",
            lambda b: call(invitations, "POST", "/invitations/create-account", None, body=b),
        ),
        (
            "/file-invitations/create-account",
            lambda b: api("POST", "/file-invitations/create-account", None, body=b),
        ),
    ):
        for bad in ({**body, "user_id": "me"}, {**body, "password": "x" * 257}, {"token": token}):
            status, answer = handler_call(bad)
            assert (status, answer["code"]) == (400, "invalid_request"), route
            assert PASSWORD not in repr(answer) and "x" * 257 not in repr(answer)
    assert directory.created == []
