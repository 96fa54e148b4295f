"""Issue 13, items 12 and 13: webhooks that come back, and what people are told (R-CON-5, R-CON-8).

Every provider body here is written from the providers' documentation
(tests/fixtures/aggregator/documented.py), served behind the real adapters:
- Plaid webhooks (https://plaid.com/docs/api/items/#webhooks), signed by the local Plaid
  sandbox's key as Plaid signs them (`Plaid-Verification`, ES256, `iat`, body SHA-256), for
  Jane's linked Plaid connection;
- GoCardless (https://developer.gocardless.com/bank-account-data/statuses) and Plaid's
  /item/get (https://plaid.com/docs/api/items/#itemget) as scripted HTTP answers.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from shared import bootstrap
from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.gocardless import GoCardlessAdapter
from shared.adapters.aggregator.plaid import PlaidAdapter
from shared.clock import CLOCK
from shared.domain.connections import PROBLEM_MESSAGES, ConnectionProblem
from tests.conftest import FakeLambdaContext, api_event
from tests.fixtures.aggregator import documented as doc
from tests.fixtures.aggregator.fake_api import FakeApi, reply
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.onboarding_support import ADMIN, INVITEE, call, invitation_tokens, seed_firms
from tests.integration.test_connections import callback, my_connections
from tests.integration.test_plaid_webhooks_flow import ROUTE, item_id, status_of

__all__ = ["item_id", "sandboxes"]  # fixtures: the sandboxes, Jane's linked Plaid connection

GC_BASE = "https://bankaccountdata.gocardless.test"
PLAID_BASE = "https://production.plaid.test"
CREDENTIALS = {
    "gocardless_secret_id": "secret-id-0123456789",
    "gocardless_secret_key": "secret-key-0123456789",
    "plaid_client_id": "client-id-0123456789",
    "plaid_secret": "plaid-secret-0123456789",
}


# --------------------------------------------------------------------------- helpers


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2).encode()  # as Plaid sends it: the hash covers these bytes


def deliver(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    return call(connections_api, "POST", ROUTE, None, body=body.decode(), headers=headers)


def signed(sandboxes, body: bytes) -> dict[str, str]:
    """A new delivery: Plaid signs the body now (a new JWT, `iat` = now)."""
    return {"plaid-verification": sandboxes.plaid.sign_body(body)}


def connection_of(item: str):
    ports = bootstrap.connections()
    return ports.connections.get(ports.connections.locate_by_item(item))


def audit_actions(customer_id: str, action: str) -> int:
    status, page = call(
        invitations, "GET", "/audit", ADMIN, query={"customer_id": customer_id, "limit": "100"}
    )
    assert status == 200, page
    return sum(event["action"] == action for event in page["items"])


def notifications_of_jane(kind_text: str) -> int:
    from functions.platform_api import handler as platform_api

    status, page = call(platform_api, "GET", "/me/notifications", INVITEE, query={"limit": "100"})
    assert status == 200, page
    return sum(kind_text in item["title"] for item in page["items"])


def raw_call(method: str, route: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    """The route's answer with its headers (Retry-After)."""
    response = connections_api.lambda_handler(
        api_event(method, route, user=INVITEE, **kwargs), FakeLambdaContext()
    )
    body = response.get("body")
    return response["statusCode"], response.get("headers") or {}, json.loads(body) if body else None


def plaid_api_instead_of_the_sandbox(sandboxes) -> FakeApi:
    """Plaid answering as documented (scripted) from now on, for Jane's Item."""
    api = FakeApi()
    sandboxes.adapters["plaid"] = PlaidAdapter(
        PLAID_BASE,
        static_source(CREDENTIALS),
        transport=api.transport(),
        clock=CLOCK.now,
        sleep=lambda _: None,
    )
    return api


# --------------------------------------------------------------------------- item 12: webhooks


def test_login_required_again_after_a_repair_applies_and_a_duplicate_delivery_once(sandboxes, item_id):
    customer_id = connection_of(item_id).customer_id
    error = raw(doc.plaid_item_error_webhook(item_id))
    repaired = raw(doc.plaid_item_webhook("LOGIN_REPAIRED", item_id))

    first = signed(sandboxes, error)
    assert deliver(error, first) == (200, {"received": True, "outcome": "credentials_rejected"})
    assert deliver(error, first)[0] == 200  # the very same delivery again (same JWT, same body)
    assert status_of(item_id) == "credentials_rejected"
    assert audit_actions(customer_id, "connection.status_changed") == 1
    assert notifications_of_jane("no longer accepts the connection") == 1

    sandboxes.now += timedelta(seconds=30)
    assert deliver(repaired, signed(sandboxes, repaired))[1]["outcome"] == "linked"
    sandboxes.now += timedelta(seconds=30)
    assert deliver(error, first)[0] == 200  # the first delivery replayed: still applied once
    assert status_of(item_id) == "linked"

    sandboxes.now += timedelta(minutes=2)  # the bank asks for the login again: Plaid signs a new JWT
    assert deliver(error, signed(sandboxes, error))[1]["outcome"] == "credentials_rejected"
    assert status_of(item_id) == "credentials_rejected"
    assert audit_actions(customer_id, "connection.status_changed") == 3  # rejected, linked, rejected
    assert notifications_of_jane("no longer accepts the connection") == 2

    sandboxes.now += timedelta(seconds=1)  # Plaid's retry of that one, signed again: no second effect
    assert deliver(error, signed(sandboxes, error))[1]["outcome"] == "not_applicable"
    assert audit_actions(customer_id, "connection.status_changed") == 3
    assert notifications_of_jane("no longer accepts the connection") == 2


def test_a_webhook_records_our_code_and_message_never_plaids(sandboxes, item_id):
    error = raw(doc.plaid_item_error_webhook(item_id))
    assert deliver(error, signed(sandboxes, error))[0] == 200
    assert connection_of(item_id).last_error == "credentials_rejected"
    [shown] = my_connections()
    assert (shown["last_error"], shown["last_error_message"]) == (
        "credentials_rejected",
        PROBLEM_MESSAGES[ConnectionProblem.CREDENTIALS_REJECTED],
    )

    revoked = raw(doc.plaid_item_webhook("USER_PERMISSION_REVOKED", item_id))
    sandboxes.now += timedelta(seconds=1)
    assert deliver(revoked, signed(sandboxes, revoked))[1]["outcome"] == "revoked"
    [shown] = my_connections()
    assert (shown["status"], shown["last_error"]) == ("revoked", "consent_revoked")
    assert "ITEM_" not in json.dumps(shown) and "USER_PERMISSION" not in json.dumps(shown)


# --------------------------------------------------------------------------- item 13a/b: refresh


def refresh(connection_id: str) -> tuple[int, dict[str, str], Any]:
    return raw_call(
        "POST", "/connections/{connection_id}/refresh", path_parameters={"connection_id": connection_id}
    )


def test_refresh_on_a_revoked_connection_says_it_was_revoked(sandboxes, item_id):
    connection = connection_of(item_id)
    ids = {"connection_id": connection.connection_id}
    status, revoked = call(
        connections_api, "POST", "/connections/{connection_id}/deauthorise", INVITEE, path_parameters=ids
    )
    assert (status, revoked["status"]) == (200, "revoked")
    api = plaid_api_instead_of_the_sandbox(sandboxes)
    assert refresh(connection.connection_id)[::2] == (
        409,
        {"code": "connection_revoked", "message": "This connection was revoked: connect the bank again."},
    )
    assert api.requests == []


def test_refresh_before_the_rate_limit_reset_answers_at_once_with_the_next_possible_time(sandboxes, item_id):
    ports = bootstrap.connections()
    connection = connection_of(item_id)
    reset = CLOCK.now() + timedelta(hours=2)
    ports.connections.save(replace(connection, rate_limited_until=reset), connection)
    api = plaid_api_instead_of_the_sandbox(sandboxes)

    status, headers, body = refresh(connection.connection_id)
    assert status == 429 and body["code"] == "aggregator_rate_limited"
    assert 2 * 3600 - 2 <= int(headers["Retry-After"]) <= 2 * 3600  # the clock ticks on
    assert body["reset_at"] == reset.isoformat()  # when the next call is possible
    assert api.requests == []  # the provider was not asked

    CLOCK.set(reset)  # at the reset, refresh asks the provider again
    api.on("POST", "/item/get", reply(200, {"item": doc.plaid_item(), "request_id": "m8MDnv9okwxFNBV"}))
    assert refresh(connection.connection_id)[0] == 202
    assert api.calls("POST", "/item/get") == 1


def test_an_item_error_found_by_refresh_is_shown_as_our_code(sandboxes, item_id):
    connection = connection_of(item_id)
    api = plaid_api_instead_of_the_sandbox(sandboxes)
    down = doc.plaid_error(
        "INSTITUTION_ERROR",
        "INSTITUTION_NOT_RESPONDING",
        "this institution is not currently responding to this request. please try again soon",
    )
    api.on(
        "POST", "/item/get", reply(200, {"item": doc.plaid_item(error=down), "request_id": "m8MDnv9okwxFNBV"})
    )
    status, _, body = refresh(connection.connection_id)
    assert status == 202 and body["status"] == "error"
    assert (body["last_error"], body["last_error_message"]) == (
        "bank_unavailable",
        PROBLEM_MESSAGES[ConnectionProblem.BANK_UNAVAILABLE],
    )
    assert connection_of(item_id).last_error == "bank_unavailable"
    assert "INSTITUTION" not in json.dumps(body) and "please try again soon" not in json.dumps(body)


# --------------------------------------------------------------------------- GoCardless as documented


@pytest.fixture
def gocardless(aws, monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    """GoCardless answering as documented (scripted) behind the real adapter and services, and
    Jane, a customer of the demo firm."""
    from local.provision import create_queues

    queues = create_queues()
    monkeypatch.setenv("IMPORT_QUEUE_URL", queues["imports"].url)
    monkeypatch.setenv("REFRESH_QUEUE_URL", queues["refresh"].url)
    bootstrap.reset()
    api = FakeApi()
    adapter = GoCardlessAdapter(
        GC_BASE, static_source(CREDENTIALS), transport=api.transport(), clock=CLOCK.now, sleep=lambda _: None
    )
    ports = replace(bootstrap.connections(), providers=lambda _: adapter)
    monkeypatch.setattr(bootstrap, "connections", lambda: ports)
    seed_firms()
    call(invitations, "POST", "/customers/invitations", ADMIN, body={"name": "Jane", "email": INVITEE.email})
    [token] = invitation_tokens(INVITEE.email)
    assert call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token})[0] == 200
    return api


REQUISITION = f"/api/v2/requisitions/{doc.REQUISITION_ID}/"


def connect_at_gocardless(api: FakeApi, requisition_status: str) -> str:
    """Jane connects; the bank answers with `requisition_status`. Returns the `ref` our callback gets."""
    accepted = (CLOCK.now() - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    account = f"/api/v2/accounts/{doc.ACCOUNT_ID}/"
    api.on("POST", "/api/v2/token/new/", reply(200, doc.gc_token()))
    api.on("GET", f"/api/v2/institutions/{doc.INSTITUTION_ID}/", reply(200, doc.GC_INSTITUTION))
    api.on("POST", "/api/v2/agreements/enduser/", reply(201, doc.gc_agreement()))
    api.on("GET", f"/api/v2/agreements/enduser/{doc.AGREEMENT_ID}/", reply(200, doc.gc_agreement(accepted)))
    api.on("POST", "/api/v2/requisitions/", reply(201, doc.gc_requisition("CR")))
    linked = [doc.ACCOUNT_ID] if requisition_status == "LN" else []
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition(requisition_status, linked)))
    api.on("GET", account, reply(200, doc.GC_ACCOUNT))
    api.on("GET", account + "details/", reply(200, doc.GC_DETAILS))
    api.on("GET", account + "balances/", reply(200, doc.GC_BALANCES))
    status, started = call(
        connections_api,
        "POST",
        "/connections",
        INVITEE,
        body={"provider": "gocardless", "institution_id": doc.INSTITUTION_ID},
    )
    assert status == 201, started
    return str(api.sent("POST", "/api/v2/requisitions/")["reference"])  # GoCardless echoes it back


def test_a_double_clicked_bank_callback_lands_on_linked_without_asking_again(gocardless):
    ref = connect_at_gocardless(gocardless, "LN")
    assert callback(ref) == "linked"
    asked = len(gocardless.requests)
    audits = audit_actions(my_connections()[0]["customer_id"], "connection.consent_completed")

    assert callback(ref) == "linked"  # the double click
    CLOCK.advance(timedelta(minutes=14, seconds=50))
    assert callback(ref) == "linked"  # a reload, still within the window
    assert len(gocardless.requests) == asked  # the provider was not asked again
    assert audit_actions(my_connections()[0]["customer_id"], "connection.consent_completed") == audits

    CLOCK.advance(timedelta(seconds=11))  # past 15 minutes: a replay is just an unknown reference
    assert callback(ref) == "invalid"
    assert callback(ref[:-1] + ("A" if ref[-1] != "A" else "B")) == "invalid"  # never issued
    assert [c["status"] for c in my_connections()] == ["linked"]
    assert len(gocardless.requests) == asked


def test_a_wrong_reference_is_invalid_and_changes_nothing(gocardless):
    ref = connect_at_gocardless(gocardless, "LN")
    assert callback("x" + ref[1:]) == "invalid"
    assert gocardless.calls("GET", REQUISITION) == 0
    assert [c["status"] for c in my_connections()] == ["pending"]
    assert callback(ref) == "linked"


def test_a_consent_rejected_at_the_bank_shows_our_code_and_message(gocardless):
    ref = connect_at_gocardless(gocardless, "RJ")
    assert callback(ref) == "rejected"
    assert callback(ref) == "rejected"  # a double click lands on the same outcome
    [connection] = my_connections()
    assert (connection["status"], connection["fix"]) == ("rejected", "reauthorise")
    assert (connection["last_error"], connection["last_error_message"]) == (
        "rejected_at_bank",
        PROBLEM_MESSAGES[ConnectionProblem.REJECTED_AT_BANK],
    )
    assert "RJ" not in json.dumps(connection) and "requisition" not in json.dumps(connection)


def test_a_raw_provider_text_stored_before_the_codes_is_shown_as_our_generic_code(gocardless):
    ref = connect_at_gocardless(gocardless, "LN")
    assert callback(ref) == "linked"
    ports = bootstrap.connections()
    [shown] = my_connections()
    stored = ports.connections.get(ports.connections.locate(shown["connection_id"]))
    ports.connections.save(replace(stored, last_error="NOT_FOUND: not found"), stored)  # an old row
    [shown] = my_connections()
    assert (shown["last_error"], shown["last_error_message"]) == (
        "provider_error",
        PROBLEM_MESSAGES[ConnectionProblem.PROVIDER_ERROR],
    )
    assert "NOT_FOUND" not in json.dumps(shown)
