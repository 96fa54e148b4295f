"""Our own codes for connection problems (issue 13 item 13d), the 429 body (13b), and the Plaid
webhook deduplication key (item 12): pure rules, provider codes as the providers document them.

GoCardless requisition statuses: https://developer.gocardless.com/bank-account-data/statuses
Plaid errors: https://plaid.com/docs/errors/ ; Items webhooks: https://plaid.com/docs/api/items/#webhooks
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.connections_api.routes.models import ConnectionOut
from functions.refresh_api.routes.models import refresh_error_message
from local.sandbox.plaid import PlaidSandbox
from shared.adapters.aggregator.plaid_webhooks import PlaidWebhookReader, PlaidWebhookVerifier
from shared.api.app import create_app
from shared.domain.aggregator import (
    AggregatorRateLimited,
    AggregatorUnavailable,
    ConsentExpired,
    ConsentRevoked,
    CredentialsRejected,
)
from shared.domain.connections import (
    PROBLEM_MESSAGES,
    Connection,
    ConnectionProblem,
    ConnectionStatus,
    problem_for,
    status_problem,
)
from tests.conftest import load_event
from tests.fixtures.aggregator import documented as doc

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
P = ConnectionProblem
S = ConnectionStatus


@pytest.mark.parametrize(
    ("cause", "status", "expected"),
    [
        # GoCardless requisition statuses, bare and as the adapter words its reason
        ("RJ", None, P.REJECTED_AT_BANK),
        ("requisition status RJ", S.REJECTED, P.REJECTED_AT_BANK),
        ("EX", None, P.CONSENT_EXPIRED),
        ("requisition status EX", S.EXPIRED, P.CONSENT_EXPIRED),
        ("SU", None, P.CONSENT_REVOKED),
        ("requisition status SU", S.REVOKED, P.CONSENT_REVOKED),
        ("ER", None, P.PROVIDER_ERROR),
        ("requisition status ER", S.ERROR, P.PROVIDER_ERROR),
        ("The requisition no longer exists.", S.REVOKED, P.CONSENT_REVOKED),
        ("PROCESSING", S.LINKED, P.ACCOUNT_UNAVAILABLE),
        # Plaid error and webhook codes
        ("ITEM_LOGIN_REQUIRED", None, P.CREDENTIALS_REJECTED),
        ("ITEM_LOGIN_REQUIRED", S.CREDENTIALS_REJECTED, P.CREDENTIALS_REJECTED),
        ("ITEM_LOGIN_REQUIRED", S.EXPIRED, P.CONSENT_EXPIRED),  # the status found says more
        ("INVALID_CREDENTIALS", None, P.CREDENTIALS_REJECTED),
        ("USER_PERMISSION_REVOKED", None, P.CONSENT_REVOKED),
        ("ITEM_NOT_FOUND", S.ERROR, P.CONSENT_REVOKED),
        ("PENDING_EXPIRATION", None, P.CONSENT_EXPIRING),
        ("INSTITUTION_DOWN", S.ERROR, P.BANK_UNAVAILABLE),
        ("INSTITUTION_NOT_RESPONDING", S.ERROR, P.BANK_UNAVAILABLE),
        ("INSTITUTION_NO_LONGER_SUPPORTED", S.ERROR, P.BANK_UNSUPPORTED),
        ("NO_ACCOUNTS", None, P.NO_ACCOUNTS),
        ("consent expired", S.EXPIRED, P.CONSENT_EXPIRED),
        # anything else: the safe default
        ("NOT_FOUND: not found", S.ERROR, P.PROVIDER_ERROR),
        ("SOMETHING_PLAID_ADDS_LATER", None, P.PROVIDER_ERROR),
        (None, None, P.PROVIDER_ERROR),
        ("", S.REFRESH_FAILED, P.PROVIDER_ERROR),
        # our own code stays ours
        ("account_unavailable", S.LINKED, P.ACCOUNT_UNAVAILABLE),
        ("consent_revoked", S.EXPIRED, P.CONSENT_REVOKED),
    ],
)
def test_provider_reasons_map_to_our_codes(cause, status, expected):
    assert problem_for(cause, status) is expected


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        (ConsentRevoked(provider="gocardless", provider_code="SUSPENDED"), None, P.CONSENT_REVOKED),
        (ConsentExpired(provider="gocardless", provider_code="EXPIRED"), None, P.CONSENT_EXPIRED),
        (ConsentExpired(provider="gocardless"), None, P.CONSENT_EXPIRED),
        (CredentialsRejected(provider_code="ITEM_LOGIN_REQUIRED"), None, P.CREDENTIALS_REJECTED),
        (CredentialsRejected("x", provider="plaid"), S.CREDENTIALS_REJECTED, P.CREDENTIALS_REJECTED),
        (AggregatorUnavailable(provider_code="INTERNAL_SERVER_ERROR"), None, P.BANK_UNAVAILABLE),
        (ConsentRevoked(provider="gocardless", provider_code="SUSPENDED"), S.EXPIRED, P.CONSENT_EXPIRED),
        (RuntimeError("NOT_FOUND: not found"), None, P.PROVIDER_ERROR),
    ],
)  # fmt: skip
def test_the_ports_errors_map_to_our_codes(error, status, expected):
    assert problem_for(error, status) is expected


def test_every_problem_has_a_human_message_without_provider_words():
    assert set(PROBLEM_MESSAGES) == set(ConnectionProblem)
    for problem in ConnectionProblem:
        assert problem.message.endswith(".") and problem.message[0].isupper()
        assert not any(word in problem.message for word in ("ITEM_", "INSTITUTION_", "requisition", "RJ"))


def test_a_healthy_status_records_no_problem():
    assert status_problem(S.LINKED, None) is None
    assert status_problem(S.PENDING, "Plaid Link has not returned a public token yet.") is None
    assert status_problem(S.REJECTED, "requisition status RJ") is P.REJECTED_AT_BANK


def connection(status: ConnectionStatus, last_error: str | None) -> Connection:
    return Connection(
        "f", "c", "conn", "u", "gocardless", "BANK", "Bank", status, NOW, status_changed_at=NOW,
        last_error=last_error,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "stored", "shown"),
    [
        (S.ERROR, "NOT_FOUND: not found", "provider_error"),  # a raw text stored before the codes
        (S.REJECTED, "requisition status RJ", "rejected_at_bank"),
        (S.CREDENTIALS_REJECTED, "ITEM_LOGIN_REQUIRED", "credentials_rejected"),
        (S.ERROR, "bank_unavailable", "bank_unavailable"),
        (S.LINKED, None, None),
    ],
)
def test_the_response_shows_our_code_and_message_even_for_an_old_row(status, stored, shown):
    out = ConnectionOut.of(connection(status, stored), NOW).model_dump(mode="json")
    assert out["last_error"] == shown
    assert out["last_error_message"] == (ConnectionProblem(shown).message if shown else None)
    assert stored is None or stored == shown or stored not in json.dumps(out)


def test_a_refresh_error_is_shown_with_its_message():
    assert refresh_error_message("consent_expired") == P.CONSENT_EXPIRED.message
    assert refresh_error_message("credentials_rejected") == P.CREDENTIALS_REJECTED.message
    assert refresh_error_message("budget_spent").startswith("Today's requests to the bank are used up")
    assert refresh_error_message("import_failed") == "The import failed after several attempts."
    assert refresh_error_message("NOT_FOUND: not found") == P.PROVIDER_ERROR.message


# --------------------------------------------------------------------------- the 429 body

router = Router()
RESET = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)


@router.get("/limited")
def limited() -> dict:
    raise AggregatorRateLimited(retry_after_seconds=7200, reset_at=RESET)


app = create_app(router)


def test_a_rate_limit_says_when_the_next_call_is_possible_in_the_header_and_the_body():
    event = load_event("api/get_health.json")
    event.update(rawPath="/limited", routeKey="GET /limited")
    event["requestContext"]["http"].update(method="GET", path="/limited")
    response = app.resolve(event, {})
    body = json.loads(response["body"])
    assert response["statusCode"] == 429 and response["headers"]["Retry-After"] == "7200"
    assert body == {
        "code": "aggregator_rate_limited",
        "message": AggregatorRateLimited.default_message,
        "reset_at": "2026-03-10T11:30:00+00:00",
    }


# --------------------------------------------------------------------------- webhook keys


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def plaid(clock: Clock) -> PlaidSandbox:
    return PlaidSandbox(clock=clock)


@pytest.fixture
def reader(plaid: PlaidSandbox, clock: Clock) -> PlaidWebhookReader:
    return PlaidWebhookReader(PlaidWebhookVerifier(lambda kid: plaid.public_jwk(kid), clock=clock))


def body(payload: dict) -> bytes:
    return json.dumps(payload, indent=2).encode()


def key(reader: PlaidWebhookReader, plaid: PlaidSandbox, raw: bytes, token: str | None = None) -> str:
    event = reader.read({"Plaid-Verification": token or plaid.sign_body(raw)}, raw)
    assert event is not None
    return event.key


@pytest.mark.parametrize(
    "payload",
    [
        doc.plaid_item_error_webhook(),
        doc.plaid_item_webhook("LOGIN_REPAIRED"),
        doc.plaid_item_webhook("USER_PERMISSION_REVOKED"),
    ],
    ids=["error", "login_repaired", "permission_revoked"],
)
def test_a_state_webhook_signed_again_later_is_a_new_occurrence_the_same_delivery_is_not(
    reader, plaid, clock, payload
):
    raw = body(payload)
    token = plaid.sign_body(raw)
    first = key(reader, plaid, raw, token)
    assert key(reader, plaid, raw, token) == first  # the same delivery (same JWT, same body)
    clock.now += timedelta(minutes=3)
    assert key(reader, plaid, raw, token) == first  # replayed later, still the same delivery
    assert key(reader, plaid, raw) != first  # signed again: a new occurrence
    assert first.startswith(f"plaid:{doc.ITEM_ID}:ITEM:{payload['webhook_code']}:")


def test_a_new_data_webhook_signed_again_keeps_its_key(reader, plaid, clock):
    """Plaid's re-signed retry of "new data" queues its import once (R-CON-5)."""
    raw = body(
        {
            "webhook_type": "TRANSACTIONS",
            "webhook_code": "SYNC_UPDATES_AVAILABLE",
            "item_id": doc.ITEM_ID,
            "initial_update_complete": True,
            "historical_update_complete": True,
            "environment": "production",
        }
    )
    first = key(reader, plaid, raw)
    clock.now += timedelta(minutes=3)
    assert key(reader, plaid, raw) == first


def test_the_verifier_returns_the_verified_claims(plaid, clock):
    raw = body(doc.plaid_item_webhook("LOGIN_REPAIRED"))
    verifier = PlaidWebhookVerifier(lambda kid: plaid.public_jwk(kid), clock=clock)
    claims = verifier.verify({"Plaid-Verification": plaid.sign_body(raw)}, raw)
    assert claims["iat"] == int(NOW.timestamp())
