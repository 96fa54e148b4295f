"""Webhooks and the bank's redirect back, as an attacker and as an unreliable network see them (R-CON-5).

Plaid webhooks go through the real route (`POST /webhooks/plaid` of connections_api), with the
local Plaid sandbox signing them and its verification-key endpoint serving the keys, for Jane's
linked Plaid connection (`item_id` of test_plaid_webhooks_flow). Every forgery carries a body
that, were it accepted, would queue an import:
- refused (accepted 0, no import queued, no status change): forged with our own P-256 key under
  Plaid's kid, unknown kid, expired key, HS256 "signed" with the public key, `none`, RS256,
  ES384, body tampered by one byte, token made for another body, claims swapped under a valid
  signature, stale (`iat` 5 min 1 s old), from the future, missing / empty / garbage /
  ambiguous header;
- duplicates: one event delivered identically, re-signed later (as Plaid's retries are),
  re-serialised, and concurrently: exactly one import queued; a state-changing event delivered
  three times (each signed anew, as a retry is): one status change, one notification, one audit
  event;
- out of order: an earlier delivery (the same signed JWT) repeated after a later event, and late
  events after a revoke: regressions (a status moving back, an import queued for a revoked
  connection) 0; a state event signed anew after a repair is a new occurrence and applies.
The GoCardless callback (`GET /callbacks/gocardless?ref=`): forged references (altered, the
stored hash, another connection's shape, empty, oversized) link nothing; a used reference replayed
in sequence and concurrently links once and offers the accounts once, and lands on the outcome
(`linked`) without completing the consent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from functions.platform_api import handler as platform_api
from shared import bootstrap
from shared.services import connection_consents, connections
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.onboarding_support import ADMIN, INVITEE, call
from tests.integration.test_connections import (
    GOCARDLESS_BANK,
    approve_at_gocardless,
    callback,
    connect,
    my_connections,
    new_account_ids,
)
from tests.integration.test_plaid_webhooks_flow import ROUTE, item_id, queued_imports, status_of, sync
from tests.unit.test_plaid_webhooks import _public_pem, b64, es256, handmade, own_key

__all__ = ["item_id", "sandboxes"]  # fixtures: the sandboxes, Jane's linked Plaid connection

REJECTED = (401, {"code": "webhook_rejected", "message": "The webhook could not be verified."})
UNKNOWN_KID = "8f7c9c1e-0000-4000-8000-000000000000"


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2).encode()


def post(raw_body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    return call(connections_api, "POST", ROUTE, None, body=raw_body.decode(), headers=headers)


def signed(sandboxes, raw_body: bytes) -> dict[str, str]:
    return {"plaid-verification": sandboxes.plaid.sign_body(raw_body)}


def claims(sandboxes, raw_body: bytes, *, age: timedelta = timedelta(0)) -> dict[str, Any]:
    return {
        "iat": int((sandboxes.now - age).timestamp()),
        "request_body_sha256": hashlib.sha256(raw_body).hexdigest(),
    }


def forgeries(sandboxes, body: bytes) -> dict[str, tuple[bytes, dict[str, str]]]:
    """name -> (raw body sent, headers): each would be a valid, fresh webhook but for one thing."""
    plaid = sandboxes.plaid
    kid = plaid.signing_key_id
    private, _ = own_key()
    good = plaid.sign_body(body)
    header, _, signature = good.split(".")
    pem = _public_pem(plaid)
    other = raw({**json.loads(body), "webhook_code": "DEFAULT_UPDATE"})
    tampered = bytearray(body)
    tampered[body.index(b"sandbox")] = ord("S")

    def hv(token: str) -> dict[str, str]:
        return {"plaid-verification": token}

    stale = plaid.sign_body(body)  # signed now, delivered 5 min 1 s later (clock moved by the caller)
    sandboxes.now += timedelta(minutes=2)  # Plaid's clock 2 min ahead: beyond the 30 s allowed
    future = plaid.sign_body(body)
    sandboxes.now -= timedelta(minutes=2)
    return {
        "own_key_plaid_kid": (body, hv(es256(private, kid, claims(sandboxes, body)))),
        "own_key_unknown_kid": (body, hv(es256(private, UNKNOWN_KID, claims(sandboxes, body)))),
        "expired_key": (body, hv(plaid.sign_body(body, key_id=plaid.expired_key_id))),
        "hs256_public_key": (
            body,
            hv(
                handmade(
                    {"alg": "HS256", "kid": kid, "typ": "JWT"},
                    claims(sandboxes, body),
                    lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
                )
            ),
        ),
        "hmac_under_es256": (
            body,
            hv(
                handmade(
                    {"alg": "ES256", "kid": kid, "typ": "JWT"},
                    claims(sandboxes, body),
                    lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
                )
            ),
        ),
        "alg_none": (body, hv(handmade({"alg": "none", "kid": kid}, claims(sandboxes, body), lambda _: b""))),
        "rs256": (
            body,
            hv(
                jwt.encode(
                    claims(sandboxes, body),
                    rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    algorithm="RS256",
                    headers={"kid": kid},
                )
            ),
        ),
        "es384": (
            body,
            hv(
                jwt.encode(
                    claims(sandboxes, body),
                    ec.generate_private_key(ec.SECP384R1()),
                    algorithm="ES384",
                    headers={"kid": kid},
                )
            ),
        ),
        "tampered_body": (bytes(tampered), hv(good)),
        "signed_for_another_body": (body, hv(plaid.sign_body(other))),
        "claims_swapped": (
            other,
            hv(f"{header}.{b64(json.dumps(claims(sandboxes, other)).encode())}.{signature}"),
        ),
        "stale": (body, hv(stale)),
        "from_the_future": (body, hv(future)),
        "missing_header": (body, {}),
        "empty_header": (body, hv("")),
        "garbage_header": (body, hv("not.a.jwt")),
        # a repeated header reaches the function joined with a comma, as HTTP API does
        "repeated_header": (body, hv(f"{good},{plaid.sign_body(other)}")),
    }


def notifications() -> int:
    status, page = call(platform_api, "GET", "/me/notifications", INVITEE, query={"limit": "100"})
    assert status == 200, page
    return len(page["items"])


def audit_events(customer_id: str, action: str) -> int:
    status, page = call(
        invitations, "GET", "/audit", ADMIN, query={"customer_id": customer_id, "limit": "100"}
    )
    assert status == 200, page
    return sum(event["action"] == action for event in page["items"])


def customer_of(item: str) -> str:
    ports = bootstrap.connections()
    connection = ports.connections.get(ports.connections.locate_by_item(item))
    return connection.customer_id


def test_webhooks_and_callbacks_are_verified_applied_once_and_never_step_back(
    sandboxes, item_id, atomic_aws_requests, bar
):
    # ---- forged, tampered, stale, wrong algorithm, unknown key, missing header: accepted 0
    body = raw(sync(item_id))
    imports_before = queued_imports()
    accepted = 0
    attempts = forgeries(sandboxes, body)
    for name, (sent, headers) in attempts.items():
        if name == "stale":
            sandboxes.now += timedelta(minutes=5, seconds=1)
            answer = post(sent, headers)
            sandboxes.now -= timedelta(minutes=5, seconds=1)
        else:
            answer = post(sent, headers)
        accepted += answer != REJECTED
    forged_side_effects = (queued_imports() - imports_before) + (status_of(item_id) != "linked")

    # ---- duplicates: one side effect however the same event comes back
    delivered = 0
    for _ in range(3):
        assert post(body, signed(sandboxes, body))[0] == 200
        delivered += 1
    sandboxes.now += timedelta(minutes=1)  # Plaid's retry: the same event, signed again later
    assert post(body, signed(sandboxes, body))[0] == 200
    reserialised = json.dumps(dict(reversed(list(json.loads(body).items())))).encode()
    assert post(reserialised, signed(sandboxes, reserialised))[0] == 200
    delivered += 2
    headers = signed(sandboxes, body)
    ports, reader = bootstrap.connections(), bootstrap.plaid_webhook_reader()

    def concurrently(_: int) -> str:
        try:
            return connections.receive_webhook(ports, reader, headers, body)
        except Exception as error:  # the loser of a race sees "in progress": Plaid retries later
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(concurrently, range(5)))
    delivered += 5
    imports_queued = queued_imports() - imports_before

    customer_id = customer_of(item_id)
    notes_before = notifications()
    error = {
        "webhook_type": "ITEM",
        "webhook_code": "ERROR",
        "item_id": item_id,
        "error": {"error_type": "ITEM_ERROR", "error_code": "ITEM_LOGIN_REQUIRED", "error_message": "x"},
    }
    for _ in range(3):
        sandboxes.now += timedelta(seconds=1)
        error_delivery = signed(sandboxes, raw(error))
        assert post(raw(error), error_delivery)[0] == 200
    state_changes = audit_events(customer_id, "connection.status_changed")
    notified = notifications() - notes_before

    # ---- out of order: an earlier delivery after a later event; late events after a revoke
    repaired = {"webhook_type": "ITEM", "webhook_code": "LOGIN_REPAIRED", "item_id": item_id}
    revoked = {"webhook_type": "ITEM", "webhook_code": "USER_PERMISSION_REVOKED", "item_id": item_id}
    late_required = {**error, "environment": "sandbox"}  # a distinct event (not a duplicate)
    steps: list[tuple[dict[str, Any], str, dict[str, str] | None]] = [  # None: signed anew
        (repaired, "linked", None),
        (error, "linked", error_delivery),  # the earlier "login required" delivered again after the repair
        (error, "credentials_rejected", None),  # the bank asks again: a new occurrence applies
        (revoked, "revoked", None),
        ({**repaired, "environment": "sandbox"}, "revoked", None),
        (late_required, "revoked", None),
        ({**sync(item_id), "historical_update_complete": False}, "revoked", None),
        (revoked, "revoked", None),
    ]
    regressions = 0
    imports_before_late = queued_imports()
    for event, expected, delivery in steps:
        sandboxes.now += timedelta(seconds=1)
        status, _ = post(raw(event), delivery or signed(sandboxes, raw(event)))
        regressions += status != 200 or status_of(item_id) != expected
    regressions += queued_imports() - imports_before_late  # nothing imported once revoked

    # ---- GoCardless: only our reference, once
    offered_before = len(new_account_ids(customer_id))
    completed_before = audit_events(customer_id, "connection.consent_completed")
    first = connect("gocardless", GOCARDLESS_BANK)
    ref = approve_at_gocardless(sandboxes, first["consent_url"])
    forged_refs = [
        ref[:-1] + ("A" if ref[-1] != "A" else "B"),
        ref.upper(),
        hashlib.sha256(ref.encode()).hexdigest(),  # the stored form is not a reference
        "",
        "x" * 128,
        ref + "&ref=" + ref,
        " " + ref,
    ]
    callback_forged_accepted = sum(callback(forged) != "invalid" for forged in forged_refs)
    linked = [callback(ref)] + [callback(ref) for _ in range(3)]
    second = connect("gocardless", "NORTHWIND_NWNDGB2L")
    second_ref = approve_at_gocardless(sandboxes, second["consent_url"])
    with ThreadPoolExecutor(max_workers=5) as pool:  # the use case behind the route, five at once
        outcomes = list(
            pool.map(lambda _: connection_consents.complete_from_callback(ports, second_ref), range(5))
        )
    replays = (len(linked) - 1) + (len(outcomes) - 1)
    # a replay lands on the outcome ("linked"; "error" if it lost a race at the provider) but never
    # completes the consent again: an acceptance is a second completion
    replays_accepted = audit_events(customer_id, "connection.consent_completed") - completed_before - 2
    statuses = {c["connection_id"]: c["status"] for c in my_connections()}
    offered = len(new_account_ids(customer_id)) - offered_before

    bar(
        "webhooks",
        forged=len(attempts),
        accepted=accepted,
        forged_side_effects=forged_side_effects,
        duplicates=delivered,
        side_effects=imports_queued,
        state_duplicates=3,
        state_changes=state_changes,
        notifications=notified,
        out_of_order=len(steps),
        regressions=regressions,
        callback_forged=len(forged_refs),
        callback_forged_accepted=callback_forged_accepted,
        callback_replays=replays,
        callback_replays_accepted=replays_accepted,
        accounts_offered=offered,
    )
    assert accepted == 0, "a forged, stale or unsigned webhook was accepted"
    assert forged_side_effects == 0
    assert imports_queued == 1  # exactly one side effect for every copy of the event
    assert state_changes == 1 and notified == 1
    assert regressions == 0
    assert callback_forged_accepted == 0
    assert linked == ["linked"] * 4 and "linked" in outcomes  # a double click lands on linked
    assert replays_accepted == 0
    assert statuses[first["connection"]["connection_id"]] == "linked"
    assert statuses[second["connection"]["connection_id"]] == "linked"
    assert offered == 2 + 2  # each bank's accounts offered once, however often the callback came
