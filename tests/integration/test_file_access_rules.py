"""The unhappy paths of file access: bad input, other files' ids, rules on members (R-ACC-2..5)."""

from __future__ import annotations

import pytest

from local.outbox import sent_emails
from tests.integration.file_access_support import (
    MANAGER,
    PHONE,
    FileWorld,
    api,
    new_file,
    seed_staff,
    table_state,
)
from tests.integration.onboarding_support import Person

KID = Person("kid-sub", "kid@example.org")
GRANT = {"email": KID.email, "phone": PHONE, "level": "read_only"}
ADVISER = {"name": "Maître Dupont", "email": "dupont@etude.example", "phone": PHONE, "type": "notary"}


@pytest.fixture
def world(aws) -> FileWorld:
    seed_staff()
    world = new_file()
    world.add_member("Jane Holder", "holder")
    world.add_member("Kid", "child")
    return world


def unchanged(world: FileWorld, method: str, route: str, **kwargs) -> tuple[int, dict]:
    """Call as the manager; assert that nothing was stored, changed or emailed."""
    before, emails = table_state(), len(sent_emails())
    status, answer = api(method, route, MANAGER, **kwargs)
    assert table_state() == before and len(sent_emails()) == emails
    return status, answer


@pytest.mark.parametrize(
    "body",
    [
        {"phone": PHONE, "level": "read_only"},  # no email (R-ACC-2)
        {"email": KID.email, "level": "read_only"},  # no phone (R-ACC-2)
        {"email": KID.email, "phone": "", "level": "read_only"},
        {**GRANT, "phone": "0612345678"},  # not E.164
        {**GRANT, "phone": "+33 6 12 34 56 78"},
        {**GRANT, "phone": "+0612345678"},
        {**GRANT, "level": "admin"},  # unknown level
        {**GRANT, "level": "READ_ONLY"},
        {"email": KID.email, "phone": PHONE},  # no level
        {**GRANT, "email": "not-an-email"},
        {**GRANT, "user_id": "someone-else"},  # nobody names the grantee's identity
        {**GRANT, "status": "active"},
        "{not json",
    ],
)
def test_a_bad_grant_is_a_400_and_changes_nothing(world, body):
    ids = {**world.ids, "member_id": world.members["Kid"]}
    status, answer = unchanged(
        world, "PUT", "/files/{file_id}/members/{member_id}/access", path_parameters=ids, body=body
    )
    assert (status, answer["code"]) == (400, "invalid_request")
    assert all(set(d) == {"location", "reason"} for d in answer["details"])  # never the values


@pytest.mark.parametrize(
    "body",
    [
        {**ADVISER, "type": "astrologer"},
        {**ADVISER, "type": "Notary"},
        {k: v for k, v in ADVISER.items() if k != "type"},
        {k: v for k, v in ADVISER.items() if k != "phone"},
        {**ADVISER, "phone": "06 12 34 56 78"},
        {**ADVISER, "name": ""},
        {**ADVISER, "level": "read_write"},  # registered first, granted after (R-ACC-5)
    ],
)
def test_a_bad_adviser_is_a_400_and_stores_nothing(world, body):
    status, answer = unchanged(
        world, "POST", "/files/{file_id}/advisers", path_parameters=world.ids, body=body
    )
    assert (status, answer["code"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "asset", "label": "Flat", "value": 250000.5, "currency": "EUR"},  # a number, not a string
        {"kind": "asset", "label": "Flat", "value": "250000,50", "currency": "EUR"},
        {"kind": "asset", "label": "Flat", "value": "-1", "currency": "EUR"},
        {"kind": "asset", "label": "Flat", "value": "1.23456", "currency": "EUR"},
        {"kind": "asset", "label": "Flat", "value": "100", "currency": "ABC"},
        {"kind": "asset", "label": "Flat", "value": "100", "currency": "eur"},
        {"kind": "house", "label": "Flat", "value": "100", "currency": "EUR"},
        {"kind": "asset", "label": "", "value": "100", "currency": "EUR"},
    ],
)
def test_bad_money_is_a_400_and_stores_nothing(world, body):
    status, answer = unchanged(
        world, "POST", "/files/{file_id}/patrimony", path_parameters=world.ids, body=body
    )
    assert (status, answer["code"]) == (400, "invalid_request")


def test_a_member_or_adviser_of_another_file_is_a_404_and_changes_nothing(world):
    other = new_file("ben@example.org", "Ben Other")
    other_member = other.add_member("Other Kid", "child")
    other_adviser = other.register_adviser("Other Notary", Person("n", "n@etude.example"), "notary")
    route = "/files/{file_id}/members/{member_id}/access"
    for method, body in (("PUT", GRANT), ("DELETE", None)):
        status, answer = unchanged(
            world, method, route, path_parameters={**world.ids, "member_id": other_member}, body=body
        )
        assert (status, answer["code"]) == (404, "member_not_found")
    status, answer = unchanged(
        world,
        "PUT",
        "/files/{file_id}/advisers/{adviser_id}/access",
        path_parameters={**world.ids, "adviser_id": other_adviser},
        body={"level": "read_only"},
    )
    assert (status, answer["code"]) == (404, "adviser_not_found")
    for route, key in (
        ("/files/{file_id}/members/{member_id}", "member_id"),
        ("/files/{file_id}/patrimony/{item_id}", "item_id"),
        ("/files/{file_id}/donations/{donation_id}", "donation_id"),
    ):
        status, answer = unchanged(world, "DELETE", route, path_parameters={**world.ids, key: other_member})
        assert status == 404 and answer["code"].endswith("not_found")


def test_a_member_with_access_keeps_their_relation_and_stays_in_the_file(world):
    world.grant_member("Jane Holder", Person("jane", "jane@example.org"), "read_only")
    ids = {**world.ids, "member_id": world.members["Jane Holder"]}
    route = "/files/{file_id}/members/{member_id}"
    status, answer = unchanged(
        world, "PUT", route, path_parameters=ids, body={"name": "Jane", "relation": "child"}
    )
    assert (status, answer["code"]) == (409, "member_has_access")
    status, answer = unchanged(world, "DELETE", route, path_parameters=ids)
    assert (status, answer["code"]) == (409, "member_has_access")
    # A new name is fine.
    status, member = api(
        "PUT", route, MANAGER, path_parameters=ids, body={"name": "Jane H.", "relation": "holder"}
    )
    assert (status, member["name"]) == (200, "Jane H.")


def test_creating_posts_honour_an_idempotency_key(world):
    headers = {"idempotency-key": "add-aunt-1"}
    body = {"name": "Aunt", "relation": "other"}
    first = api(
        "POST", "/files/{file_id}/members", MANAGER, path_parameters=world.ids, body=body, headers=headers
    )
    replay = api(
        "POST", "/files/{file_id}/members", MANAGER, path_parameters=world.ids, body=body, headers=headers
    )
    assert first == replay and first[0] == 201
    _, file = api("GET", "/files/{file_id}", MANAGER, path_parameters=world.ids)
    assert [m["name"] for m in file["members"]].count("Aunt") == 1
    status, answer = api(
        "POST",
        "/files/{file_id}/members",
        MANAGER,
        path_parameters=world.ids,
        body={"name": "Uncle", "relation": "other"},
        headers=headers,
    )
    assert (status, answer["code"]) == (409, "idempotency_key_reused")
    # The same key on another route is another request.
    status, _ = api(
        "POST",
        "/files/{file_id}/patrimony",
        MANAGER,
        path_parameters=world.ids,
        body={"kind": "liability", "label": "Loan", "value": "1000", "currency": "EUR"},
        headers=headers,
    )
    assert status == 201


def test_sections_round_trip_with_exact_decimals(world):
    route = "/files/{file_id}/donations"
    body = {
        "donor": "Jane Holder",
        "beneficiary": "Kid",
        "donated_on": "2024-03-01",
        "value": "10000.10",
        "currency": "EUR",
        "description": "Donation-partage",
    }
    status, donation = api("POST", route, MANAGER, path_parameters=world.ids, body=body)
    assert status == 201 and donation["value"] == "10000.10"
    ids = {**world.ids, "donation_id": donation["donation_id"]}
    status, changed = api(
        "PUT", route + "/{donation_id}", MANAGER, path_parameters=ids, body={**body, "value": "12000.00"}
    )
    assert (status, changed["value"]) == (200, "12000.00")
    _, file = api("GET", "/files/{file_id}", MANAGER, path_parameters=world.ids)
    assert [d["value"] for d in file["donations"]] == ["12000.00"]
    assert api("DELETE", route + "/{donation_id}", MANAGER, path_parameters=ids)[0] == 204
    _, file = api("GET", "/files/{file_id}", MANAGER, path_parameters=world.ids)
    assert file["donations"] == []
