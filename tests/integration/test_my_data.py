"""The customer's own view over HTTP, on moto (issue 16 item 2, seeds 000 "My Data" and 004).

Jane is a customer of two firms: the demo firm accepted one of her accounts (the other is not
reviewed yet), the other firm declined the same bank account. Bob is another customer of the demo
firm. `GET /me/accounts` and `GET /me/connections` show Jane hers, per firm, and Bob only his; staff
and people with no customer record get an empty page. Jane reads her own client file without being
granted it, and changes nothing in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from functions.access_api import handler as access
from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.clock import now
from shared.domain.connections import Connection, ConnectionStatus
from shared.services.customers import offer_accounts
from tests.conftest import counting_aws_calls
from tests.integration.file_access_support import NOBODY
from tests.integration.onboarding_support import (
    ADMIN,
    INVITEE,
    OTHER_ADVISER,
    OTHER_FIRM,
    Person,
    call,
    invitation_tokens,
    seed_firms,
    shared_account,
)

JANE = INVITEE
BOB = Person("bob-sub", "bob@example.org")
FIRST, SECOND = sorted([(DEMO_FIRM.firm_id, DEMO_FIRM.name), (OTHER_FIRM.firm_id, OTHER_FIRM.name)])
EMPTY = {"firms": [], "next_cursor": None}
ACCOUNT_FIELDS = {
    "account_id",
    "connection_id",
    "institution",
    "name",
    "masked_identifier",
    "currency",
    "balance",
    "last_updated",
    "status",
    "reviewed_at",
    "historical",
    "consent_ended_on",
}


@dataclass(frozen=True)
class World:
    jane: dict[str, str]  # firm id -> Jane's customer id there
    bob: str  # Bob's customer id in the demo firm


def invite_and_accept(by: Person, person: Person, name: str) -> str:
    status, customer = call(
        invitations, "POST", "/customers/invitations", by, body={"name": name, "email": person.email}
    )
    assert status == 201, customer
    token = invitation_tokens(person.email)[-1]
    assert call(invitations, "POST", "/invitations/accept", person, body={"token": token})[0] == 200
    return str(customer["customer_id"])


def review(by: Person, customer_id: str, account_id: str, decision: str) -> None:
    path = {"customer_id": customer_id, "account_id": account_id}
    route = f"/customers/{{customer_id}}/accounts/{{account_id}}/{decision}"
    assert call(invitations, "POST", route, by, path_parameters=path)[0] == 200


def connect(firm_id: str, customer_id: str, person: Person, n: int, status: ConnectionStatus) -> None:
    """A connection as the consent leaves it (the consent journeys have their own tests)."""
    at = now()
    connection = Connection(
        firm_id,
        customer_id,
        f"01JCONNMYDATA{n:014d}",
        person.sub,
        "gocardless",
        "DEMOBANK",
        "Demo Bank",
        status,
        at,
        linked_at=at,
        expires_at=at + timedelta(days=80),
        status_changed_at=at,
    )
    bootstrap.connections_repository().save(connection, None)


@pytest.fixture
def world(aws) -> World:
    seed_firms()
    jane = {
        DEMO_FIRM.firm_id: invite_and_accept(ADMIN, JANE, "Jane Doe"),
        OTHER_FIRM.firm_id: invite_and_accept(OTHER_ADVISER, JANE, "Jane Doe"),
    }
    bob = invite_and_accept(ADMIN, BOB, "Bob Roe")
    onboarding = bootstrap.onboarding()
    demo, other = jane[DEMO_FIRM.firm_id], jane[OTHER_FIRM.firm_id]
    offer_accounts(
        onboarding,
        DEMO_FIRM.firm_id,
        demo,
        [
            replace(shared_account(demo, 1), balance=Decimal("-150")),
            replace(shared_account(demo, 2), currency="JPY", balance=Decimal("1500.0")),
        ],
    )
    offer_accounts(onboarding, OTHER_FIRM.firm_id, other, [shared_account(other, 1, OTHER_FIRM.firm_id)])
    offer_accounts(onboarding, DEMO_FIRM.firm_id, bob, [shared_account(bob, 9)])
    review(ADMIN, demo, "acct-1", "accept")
    review(OTHER_ADVISER, other, "acct-1", "decline")
    connect(DEMO_FIRM.firm_id, demo, JANE, 1, ConnectionStatus.LINKED)
    connect(OTHER_FIRM.firm_id, other, JANE, 2, ConnectionStatus.REVOKED)
    connect(DEMO_FIRM.firm_id, bob, BOB, 3, ConnectionStatus.CREDENTIALS_REJECTED)
    return World(jane, bob)


def get(route: str, user: Any, **query: str) -> tuple[int, Any]:
    return call(connections_api, "GET", route, user, query=query or None)


def test_the_customer_sees_every_account_they_shared_per_firm_with_each_firms_decision(world: World):
    status, mine = get("/me/accounts", JANE)

    assert status == 200 and mine["next_cursor"] is None
    assert [(f["firm_id"], f["firm_name"]) for f in mine["firms"]] == [FIRST, SECOND]
    by_firm = {f["firm_id"]: {a["account_id"]: a for a in f["accounts"]} for f in mine["firms"]}
    demo, other = by_firm[DEMO_FIRM.firm_id], by_firm[OTHER_FIRM.firm_id]
    assert {k: a["status"] for k, a in demo.items()} == {"acct-1": "accepted", "acct-2": "new"}
    assert {k: a["status"] for k, a in other.items()} == {"acct-1": "declined"}
    # Balances are decimal strings with the currency's decimals; numbers are masked; nothing else.
    assert (demo["acct-1"]["balance"], demo["acct-1"]["currency"]) == ("-150.00", "GBP")
    assert (demo["acct-2"]["balance"], demo["acct-2"]["currency"]) == ("1500", "JPY")
    assert other["acct-1"]["balance"] == "1234.56"
    assert {a["masked_identifier"] for a in demo.values()} == {"•••• 0001", "•••• 0002"}
    assert all(set(a) == ACCOUNT_FIELDS for a in [*demo.values(), *other.values()])
    assert demo["acct-1"]["reviewed_at"] is not None and demo["acct-2"]["reviewed_at"] is None
    assert demo["acct-1"]["last_updated"] == "2026-11-21T06:00:00Z"  # when its data came in
    assert (demo["acct-1"]["institution"], demo["acct-1"]["name"]) == ("Northwind Bank", "Current account 1")


def test_another_customer_of_the_same_firm_sees_none_of_it(world: World):
    status, mine = get("/me/accounts", BOB)

    assert status == 200
    assert [(f["firm_id"], [a["account_id"] for a in f["accounts"]]) for f in mine["firms"]] == [
        (DEMO_FIRM.firm_id, ["acct-9"])
    ]
    raw = json.dumps(mine) + json.dumps(get("/me/connections", BOB)[1])
    assert not any(customer_id in raw for customer_id in world.jane.values())
    assert OTHER_FIRM.firm_id not in raw and "01JCONNMYDATA00000000000001" not in raw


@pytest.mark.parametrize("person", [ADMIN, OTHER_ADVISER, NOBODY], ids=["admin", "other_admin", "nobody"])
def test_staff_and_people_without_a_customer_record_get_empty_pages(world: World, person: Person):
    """As every /me/* list answers them (GET /connections, /me/files, /me/notifications)."""
    assert get("/me/accounts", person) == (200, EMPTY)
    assert get("/me/connections", person) == (200, EMPTY)


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "26"}, {"limit": "many"}, {"cursor": "x" * 41}],
    ids=["limit_0", "limit_26", "limit_text", "long_cursor"],
)
def test_bad_paging_input_is_a_400(world: World, query: dict[str, str]):
    for route in ("/me/accounts", "/me/connections"):
        status, error = get(route, JANE, **query)
        assert (status, error["code"]) == (400, "invalid_request"), error


def test_without_a_token_it_is_a_401(world: World):
    assert get("/me/accounts", None)[0] == 401


def test_firms_come_a_page_at_a_time_and_each_page_reads_its_firms_once(world: World):
    with counting_aws_calls("dynamodb") as calls:
        status, first = get("/me/accounts", JANE, limit="1")
    assert status == 200 and [f["firm_id"] for f in first["firms"]] == [FIRST[0]]
    # The links (1 Query), the customer records and the firms (1 BatchGetItem each), the firm's accounts
    # and its connections (whether their consent ended: R-PRIV-1).
    assert dict(calls) == {"Query": 3, "BatchGetItem": 2}
    _, second = get("/me/accounts", JANE, limit="1", cursor=first["next_cursor"])
    assert [f["firm_id"] for f in second["firms"]] == [SECOND[0]] and second["next_cursor"] is None
    with counting_aws_calls("dynamodb") as calls:
        get("/me/accounts", JANE)
    assert dict(calls) == {"Query": 5, "BatchGetItem": 2}  # two firms: accounts and connections each


def test_connections_show_status_fix_and_consent_expiry_per_firm(world: World):
    status, mine = get("/me/connections", JANE)

    assert status == 200 and mine["next_cursor"] is None
    shown = {
        f["firm_id"]: [(c["status"], c["fix"], c["customer_id"]) for c in f["connections"]]
        for f in mine["firms"]
    }
    assert shown == {
        DEMO_FIRM.firm_id: [("linked", None, world.jane[DEMO_FIRM.firm_id])],
        OTHER_FIRM.firm_id: [("revoked", "reconnect", world.jane[OTHER_FIRM.firm_id])],
    }
    expiry = (now() + timedelta(days=80)).date().isoformat()  # the consent's, as stored
    assert all(c["expires_at"].startswith(expiry) for f in mine["firms"] for c in f["connections"])
    # The same connections as GET /connections, the rule both use.
    _, flat = get("/connections", JANE)
    assert sorted(c["connection_id"] for c in flat) == sorted(
        c["connection_id"] for f in mine["firms"] for c in f["connections"]
    )
    _, bobs = get("/me/connections", BOB)
    assert [(c["status"], c["fix"]) for f in bobs["firms"] for c in f["connections"]] == [
        ("credentials_rejected", "reauthorise")
    ]


def test_the_customer_reads_their_own_file_without_a_grant_and_changes_nothing(world: World):
    demo = world.jane[DEMO_FIRM.firm_id]
    on_file = {"file_id": demo}

    status, file = call(access, "GET", "/files/{file_id}", JANE, path_parameters=on_file)
    assert status == 200, file
    assert (file["you"]["kind"], file["you"]["level"], file["you"]["allowed_actions"]) == (
        "customer",
        None,
        ["view_file"],
    )
    patrimony = {"kind": "asset", "label": "Flat", "value": "1000", "currency": "EUR"}
    status, refused = call(
        access, "POST", "/files/{file_id}/patrimony", JANE, path_parameters=on_file, body=patrimony
    )
    assert (status, refused["code"]) == (403, "file_action_forbidden")
    assert call(access, "GET", "/files/{file_id}/access", JANE, path_parameters=on_file)[0] == 403
    # Another customer of the firm, and Jane on Bob's file, get the 404 of a file that does not exist.
    assert call(access, "GET", "/files/{file_id}", BOB, path_parameters=on_file)[0] == 404
    assert call(access, "GET", "/files/{file_id}", JANE, path_parameters={"file_id": world.bob})[0] == 404

    _, mine = call(access, "GET", "/me/files", JANE)
    assert sorted((f["firm_id"], f["file_id"], f["kind"], f["level"]) for f in mine["items"]) == sorted(
        (firm_id, customer_id, "customer", "read_only") for firm_id, customer_id in world.jane.items()
    )
    assert [f["file_label"] for f in mine["items"]] == ["Jane Doe", "Jane Doe"]
    _, bobs = call(access, "GET", "/me/files", BOB)
    assert [f["file_id"] for f in bobs["items"]] == [world.bob]
