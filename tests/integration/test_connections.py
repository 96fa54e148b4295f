"""Connections end to end on moto + the sandboxes, for each provider (R-CON-1..9)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.domain.jobs import ImportJob
from tests.integration.connection_support import PLAID_BANK, plaid_public_token
from tests.integration.onboarding_support import (
    ADMIN,
    ADVISER,
    INVITEE,
    Person,
    call,
    invitation_tokens,
    seed_firms,
)

GOCARDLESS_BANK = "DEMOBANK_DMBKGB2L"
STRANGER = Person("stranger-sub", "stranger@example.org")


@pytest.fixture
def customer_id(sandboxes) -> str:
    """Jane, invited by the admin, accepted: a customer who may connect banks."""
    seed_firms()
    _, customer = call(
        invitations,
        "POST",
        "/customers/invitations",
        ADMIN,
        body={"name": "Jane Doe", "email": INVITEE.email},
    )
    [token] = invitation_tokens(INVITEE.email)
    assert call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token})[0] == 200
    return customer["customer_id"]


def connect(provider: str, institution_id: str) -> dict:
    status, started = call(
        connections_api,
        "POST",
        "/connections",
        INVITEE,
        body={"provider": provider, "institution_id": institution_id},
    )
    assert status == 201, started
    return started


def approve_at_gocardless(sandboxes, consent_url: str, action: str = "approve") -> str:
    """The person approves (or rejects) at the bank; returns the `ref` our callback receives."""
    redirect = sandboxes.browser.get(f"{consent_url}/{action}")
    assert redirect.status_code == 302
    back = urlsplit(redirect.headers["location"])
    assert back.path == "/callbacks/gocardless"
    return parse_qs(back.query)["ref"][0]


def callback(ref: str) -> str:
    response = connections_api.lambda_handler(
        __import__("tests.conftest", fromlist=["api_event"]).api_event(
            "GET", "/callbacks/gocardless", query={"ref": ref}
        ),
        __import__("tests.conftest", fromlist=["FakeLambdaContext"]).FakeLambdaContext(),
    )
    assert response["statusCode"] == 302
    location = response["headers"]["Location"]
    assert location.startswith(bootstrap.connections().app_base_url + "/connections/complete?")
    return parse_qs(urlsplit(location).query)["outcome"][0]


def my_connections() -> list[dict]:
    status, found = call(connections_api, "GET", "/connections", INVITEE)
    assert status == 200
    return found


def new_account_ids(customer_id: str) -> list[str]:
    _, accounts = call(
        invitations,
        "GET",
        "/customers/{customer_id}/accounts",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    return [a["account_id"] for a in accounts["new_accounts"]]


def test_institutions_show_look_alikes_with_their_details(customer_id):
    status, found = call(
        connections_api,
        "GET",
        "/institutions",
        INVITEE,
        query={"provider": "gocardless", "country": "GB", "q": "northw"},
    )
    assert status == 200
    assert {i["name"] for i in found} >= {"Northwind Bank", "Northwind Bank Business"}
    assert all(i["logo_url"] and i["max_history_days"] for i in found)


def test_gocardless_connect_approve_callback_offer_accept(sandboxes, customer_id):
    started = connect("gocardless", GOCARDLESS_BANK)
    assert started["connection"]["status"] == "pending" and started["consent_url"]
    assert started["link_token"] is None
    ref = approve_at_gocardless(sandboxes, started["consent_url"])

    assert callback(ref) == "linked"
    assert callback(ref) == "linked"  # a double click lands on the outcome; nothing changes
    [connection] = my_connections()
    assert connection["status"] == "linked" and connection["fix"] is None
    assert connection["expires_at"].startswith((sandboxes.now + timedelta(days=90)).date().isoformat())

    offered = new_account_ids(customer_id)
    assert len(offered) == 2
    assert (
        call(
            invitations,
            "POST",
            "/customers/{customer_id}/accounts/{account_id}/accept",
            ADMIN,
            path_parameters={"customer_id": customer_id, "account_id": offered[0]},
        )[0]
        == 200
    )
    _, listing = call(invitations, "GET", "/customers", ADMIN, query={"section": "customers"})
    assert [row["customer_id"] for row in listing["items"]] == [customer_id]
    _, staff_view = call(
        connections_api,
        "GET",
        "/customers/{customer_id}/connections",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    assert [c["status"] for c in staff_view] == ["linked"]


def test_a_callback_reference_is_cleaned_up_by_ttl_if_never_used(sandboxes, customer_id):
    started = connect("gocardless", GOCARDLESS_BANK)
    ref = approve_at_gocardless(sandboxes, started["consent_url"])
    key = {"PK": {"S": f"CONSENTREF#{hashlib.sha256(ref.encode()).hexdigest()}"}, "SK": {"S": "CONSENTREF"}}
    table = boto3.client("dynamodb")
    stored = table.get_item(TableName="data", Key=key)["Item"]
    ttl = int((sandboxes.now + timedelta(days=30)).timestamp())
    assert ttl - 2 <= int(stored["expires_at"]["N"]) <= ttl  # the clock ticks on from the pinned instant
    assert ref not in str(stored)  # only its hash is kept
    before = sandboxes.now
    assert callback(ref) == "linked"
    used = table.get_item(TableName="data", Key=key)["Item"]  # single use: kept only to answer a replay
    used_at = datetime.fromisoformat(used["used_at"]["S"])
    assert before <= used_at <= sandboxes.now  # claimed before the provider was asked (issue 17)
    assert int(used["expires_at"]["N"]) == int((used_at + timedelta(minutes=15)).timestamp())
    sandboxes.now += timedelta(minutes=15, seconds=1)
    assert callback(ref) == "invalid"  # the TTL may lag: the window is checked, not the item's presence


def test_reading_the_accounts_at_linking_is_charged_to_the_daily_budget(sandboxes, customer_id):
    """R-IMP-4: linking reads each account's details and balances, calls the provider counts, so
    that day's imports have one call fewer for each (never more than the provider allows)."""
    started = connect("gocardless", GOCARDLESS_BANK)
    assert callback(approve_at_gocardless(sandboxes, started["consent_url"])) == "linked"
    budgets = boto3.client("dynamodb").scan(
        TableName="data",
        FilterExpression="begins_with(PK, :budget)",
        ExpressionAttributeValues={":budget": {"S": "BUDGET#"}},
    )["Items"]
    assert len(budgets) == len(new_account_ids(customer_id)) == 2
    assert all(
        (item["details"]["N"], item["balances"]["N"], "transactions" in item) == ("1", "1", False)
        for item in budgets
    )


def test_a_rejected_consent_says_how_to_fix_it(sandboxes, customer_id):
    started = connect("gocardless", GOCARDLESS_BANK)
    assert callback(approve_at_gocardless(sandboxes, started["consent_url"], "reject")) == "rejected"
    [connection] = my_connections()
    assert (connection["status"], connection["fix"]) == ("rejected", "reauthorise")
    assert new_account_ids(customer_id) == []


def test_a_bank_that_shares_no_account_asks_the_customer_to_find_new_accounts(sandboxes, customer_id):
    started = connect("gocardless", "EMPTYVAULT_EMPTGB21")
    assert callback(approve_at_gocardless(sandboxes, started["consent_url"])) == "no_accounts"
    [connection] = my_connections()
    assert connection["fix"] == "find_new_accounts"
    route = "/connections/{connection_id}/find-new-accounts"
    ids = {"connection_id": connection["connection_id"]}
    assert call(connections_api, "POST", route, ADMIN, path_parameters=ids)[0] == 404  # never the adviser
    status, found = call(connections_api, "POST", route, INVITEE, path_parameters=ids)
    assert (status, found) == (200, {"new_accounts_offered": 0})


@pytest.mark.calendar
def test_reauthorise_after_expiry_then_deauthorise(sandboxes, customer_id):
    started = connect("gocardless", GOCARDLESS_BANK)
    callback(approve_at_gocardless(sandboxes, started["consent_url"]))
    connection_id = started["connection"]["connection_id"]
    ids = {"connection_id": connection_id}

    sandboxes.now += timedelta(days=91)
    status, refreshed = call(
        connections_api, "POST", "/connections/{connection_id}/refresh", INVITEE, path_parameters=ids
    )
    assert status == 202 and (refreshed["status"], refreshed["fix"]) == ("expired", "reauthorise")

    status, again = call(
        connections_api, "POST", "/connections/{connection_id}/reauthorise", INVITEE, path_parameters=ids
    )
    assert status == 200 and again["consent_url"]
    assert callback(approve_at_gocardless(sandboxes, again["consent_url"])) == "linked"
    [connection] = my_connections()
    assert connection["status"] == "linked"
    assert connection["expires_at"].startswith((sandboxes.now + timedelta(days=90)).date().isoformat())
    assert len(new_account_ids(customer_id)) == 2  # the same accounts, offered once

    status, revoked = call(
        connections_api, "POST", "/connections/{connection_id}/deauthorise", INVITEE, path_parameters=ids
    )
    assert status == 200 and revoked["status"] == "revoked"
    status, body = call(
        connections_api, "POST", "/connections/{connection_id}/refresh", INVITEE, path_parameters=ids
    )
    assert (status, body["code"]) == (409, "connection_revoked")  # says so, not "no consent yet"

    # Reconnecting later restarts the same connection (review finding: it stayed revoked).
    _, again = call(
        connections_api, "POST", "/connections/{connection_id}/reauthorise", INVITEE, path_parameters=ids
    )
    assert again["connection"]["status"] == "pending"
    assert callback(approve_at_gocardless(sandboxes, again["consent_url"])) == "linked"


def test_refresh_queues_an_import(sandboxes, customer_id):
    started = connect("gocardless", GOCARDLESS_BANK)
    callback(approve_at_gocardless(sandboxes, started["consent_url"]))
    ids = {"connection_id": started["connection"]["connection_id"]}
    assert (
        call(
            connections_api, "POST", "/firm/connections/{connection_id}/refresh", ADMIN, path_parameters=ids
        )[0]
        == 202
    )
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    job = ImportJob.from_json(message["Body"])
    assert (job.connection_id, job.firm_id, job.reason) == (ids["connection_id"], DEMO_FIRM.firm_id, "manual")


def test_plaid_link_exchange_offer(sandboxes, customer_id):
    started = connect("plaid", PLAID_BANK)
    assert started["link_token"] and started["consent_url"] is None
    redirect = sandboxes.browser.get(
        f"http://sandbox.test/sandbox/plaid/link/{started['link_token']}/connect"
    )
    public_token = parse_qs(urlsplit(redirect.headers["location"]).query)["public_token"][0]
    status, connection = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/complete",
        INVITEE,
        path_parameters={"connection_id": started["connection"]["connection_id"]},
        body={"public_token": public_token},
    )
    assert status == 200 and connection["status"] == "linked"
    assert len(new_account_ids(customer_id)) >= 2


def test_other_people_cannot_see_or_act_on_a_connection(sandboxes, customer_id):
    started = connect("gocardless", GOCARDLESS_BANK)
    callback(approve_at_gocardless(sandboxes, started["consent_url"]))
    ids = {"connection_id": started["connection"]["connection_id"]}
    for route in ("complete", "reauthorise", "deauthorise", "refresh", "find-new-accounts"):
        for person in (STRANGER, ADMIN):
            status, body = call(
                connections_api,
                "POST",
                f"/connections/{{connection_id}}/{route}",
                person,
                path_parameters=ids,
                body={} if route == "complete" else None,
            )
            assert (status, body["code"]) == (404, "not_found"), (route, person)
    assert call(connections_api, "GET", "/connections", STRANGER) == (200, [])
    # firm staff: the adviser is not assigned to Jane; another firm's staff do not see her at all
    assert (
        call(
            connections_api, "POST", "/firm/connections/{connection_id}/refresh", ADVISER, path_parameters=ids
        )[0]
        == 404
    )
    assert (
        call(
            connections_api,
            "POST",
            "/firm/connections/{connection_id}/deauthorise",
            ADVISER,
            path_parameters=ids,
        )[0]
        == 403
    )
    from tests.integration.onboarding_support import OTHER_ADVISER

    assert (
        call(
            connections_api,
            "GET",
            "/customers/{customer_id}/connections",
            OTHER_ADVISER,
            path_parameters={"customer_id": customer_id},
        )[0]
        == 404
    )


def test_a_callback_reference_cannot_attach_accounts_to_another_connection(sandboxes, customer_id):
    first = connect("gocardless", GOCARDLESS_BANK)
    second = connect("gocardless", "NORTHWIND_NWNDGB2L")
    first_ref = approve_at_gocardless(sandboxes, first["consent_url"])
    assert callback("forged-" + first_ref) == "invalid"
    assert callback(first_ref) == "linked"
    statuses = {c["connection_id"]: c["status"] for c in my_connections()}
    assert statuses == {
        first["connection"]["connection_id"]: "linked",
        second["connection"]["connection_id"]: "pending",
    }


def test_a_non_customer_cannot_connect(sandboxes, customer_id):
    status, body = call(
        connections_api,
        "POST",
        "/connections",
        STRANGER,
        body={"provider": "gocardless", "institution_id": GOCARDLESS_BANK},
    )
    assert (status, body["code"]) == (403, "customers_only")
    status, body = call(
        connections_api,
        "POST",
        "/connections",
        INVITEE,
        body={"provider": "acme", "institution_id": GOCARDLESS_BANK},
    )
    assert status == 400


def test_plaid_accept_deauthorise_and_reconnect(sandboxes, customer_id):
    started = connect("plaid", PLAID_BANK)
    ids = {"connection_id": started["connection"]["connection_id"]}

    def link(link_token: str) -> str:
        return plaid_public_token(sandboxes, link_token)

    call(
        connections_api,
        "POST",
        "/connections/{connection_id}/complete",
        INVITEE,
        path_parameters=ids,
        body={"public_token": link(started["link_token"])},
    )
    first = new_account_ids(customer_id)[0]
    assert (
        call(
            invitations,
            "POST",
            "/customers/{customer_id}/accounts/{account_id}/accept",
            ADMIN,
            path_parameters={"customer_id": customer_id, "account_id": first},
        )[0]
        == 200
    )

    status, revoked = call(
        connections_api, "POST", "/connections/{connection_id}/deauthorise", INVITEE, path_parameters=ids
    )
    assert (status, revoked["status"]) == (200, "revoked")
    _, again = call(
        connections_api, "POST", "/connections/{connection_id}/reauthorise", INVITEE, path_parameters=ids
    )
    assert again["link_token"] and again["connection"]["status"] == "pending"
    status, relinked = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/complete",
        INVITEE,
        path_parameters=ids,
        body={"public_token": link(again["link_token"])},
    )
    assert (status, relinked["status"]) == (200, "linked")
    _, accounts = call(
        invitations,
        "GET",
        "/customers/{customer_id}/accounts",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    assert first in [a["account_id"] for a in accounts["connected_accounts"]]  # the review survives
