"""GoCardless adapter against scripted, documented-shape responses (httpx.MockTransport), and
once end to end against the repository's GoCardless sandbox, with the secret in moto."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.gocardless import GoCardlessAdapter
from shared.adapters.aggregator.http_client import RetryPolicy
from shared.domain.aggregator import (
    AccountUnavailable,
    AggregatorRateLimited,
    AggregatorRequestRejected,
    AggregatorUnavailable,
    CompletionInput,
    ConsentExpired,
    ConsentRequest,
    ConsentState,
    DateWindow,
    MalformedAggregatorResponse,
)
from tests.fixtures.aggregator import documented as doc
from tests.fixtures.aggregator.fake_api import FakeApi, Sleeps, raw, reply

BASE = "https://bankaccountdata.gocardless.com"
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
SECRET_ID = "gc-secret-id-0123456789"
SECRET_KEY = "gc-secret-key-9876543210"
TOKEN_NEW = "/api/v2/token/new/"
TOKEN_REFRESH = "/api/v2/token/refresh/"
INSTITUTIONS = "/api/v2/institutions/"
INSTITUTION = f"/api/v2/institutions/{doc.INSTITUTION_ID}/"
AGREEMENTS = "/api/v2/agreements/enduser/"
AGREEMENT = f"/api/v2/agreements/enduser/{doc.AGREEMENT_ID}/"
REQUISITIONS = "/api/v2/requisitions/"
REQUISITION = f"/api/v2/requisitions/{doc.REQUISITION_ID}/"
ACCOUNT = f"/api/v2/accounts/{doc.ACCOUNT_ID}/"
TRANSACTIONS = ACCOUNT + "transactions/"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi().on("POST", TOKEN_NEW, reply(200, doc.gc_token()))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def adapter(api: FakeApi, clock: Clock, sleeps: Sleeps) -> GoCardlessAdapter:
    return GoCardlessAdapter(
        BASE,
        static_source({"gocardless_secret_id": SECRET_ID, "gocardless_secret_key": SECRET_KEY}),
        transport=api.transport(),
        clock=clock,
        sleep=sleeps,
        rand=lambda: 1.0,  # the top of each jitter range: delays are predictable
        retry=RetryPolicy(attempts=3, base_delay=0.5, max_delay=8.0),
    )


def consent_request(**overrides: object) -> ConsentRequest:
    values: dict[str, object] = {
        "institution_id": doc.INSTITUTION_ID,
        "reference": "ref-0001",
        "redirect_url": "https://app.example.com/callbacks/gocardless",
        "user_id": "user-1",
    }
    return ConsentRequest(**{**values, **overrides})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- institutions and consent


def test_search_matches_names_ignoring_case_and_accents_from_one_cached_list(api, adapter):
    api.on("GET", INSTITUTIONS, reply(200, doc.GC_INSTITUTIONS))

    found = adapter.search_institutions("gb", "credit")
    again = adapter.search_institutions("GB", "REVO")

    assert [i.name for i in found] == ["Crédit Exemple"]
    assert [(i.id, i.country, i.max_history_days) for i in again] == [(doc.INSTITUTION_ID, "GB", 730)]
    assert again[0].logo_url.endswith("REVOLUT_REVOGB21.png") and again[0].website is None
    assert api.calls("GET", INSTITUTIONS) == 1
    assert api.last("GET", INSTITUTIONS).url.params["country"] == "gb"  # as documented


@pytest.mark.parametrize(("requested", "expected_history"), [(None, 730), (90, 90), (1000, 730)])
def test_start_consent_bounds_the_agreement_by_the_institution(api, adapter, requested, expected_history):
    api.on("GET", INSTITUTION, reply(200, doc.GC_INSTITUTION))
    api.on("POST", AGREEMENTS, reply(201, doc.gc_agreement()))
    api.on("POST", REQUISITIONS, reply(201, doc.gc_requisition()))

    start = adapter.start_consent(consent_request(max_history_days=requested, language="fr"))

    assert api.sent("POST", AGREEMENTS) == {
        "institution_id": doc.INSTITUTION_ID,
        "max_historical_days": expected_history,
        "access_valid_for_days": 90,
        "access_scope": ["balances", "details", "transactions"],
    }
    assert api.sent("POST", REQUISITIONS) == {
        "redirect": "https://app.example.com/callbacks/gocardless",
        "institution_id": doc.INSTITUTION_ID,
        "reference": "ref-0001",
        "agreement": doc.AGREEMENT_ID,
        "user_language": "FR",
    }
    assert start.consent_handle == doc.REQUISITION_ID
    assert start.consent_url == doc.gc_requisition()["link"]
    assert start.agreement_id == doc.AGREEMENT_ID
    assert start.link_token is None


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("CR", ConsentState.PENDING),
        ("GC", ConsentState.PENDING),
        ("UA", ConsentState.PENDING),  # may stay there for days: polled later
        ("SA", ConsentState.PENDING),
        ("GA", ConsentState.PENDING),
        ("RJ", ConsentState.REJECTED),
        ("EX", ConsentState.EXPIRED),
        ("SU", ConsentState.REVOKED),
        ("ZZ", ConsentState.ERROR),
    ],
)
def test_requisition_statuses_map_to_consent_states(api, adapter, status, state):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition(status)))

    outcome = adapter.complete_consent(CompletionInput(consent_handle=doc.REQUISITION_ID))

    assert outcome.state is state
    assert outcome.credential == doc.REQUISITION_ID
    assert outcome.reference == "ref-0001"
    assert (outcome.reason is None) == (state is ConsentState.PENDING)


def test_linked_requisition_gives_accounts_and_the_agreement_expiry(api, adapter):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("LN", [doc.ACCOUNT_ID])))
    api.on("GET", AGREEMENT, reply(200, doc.gc_agreement(accepted="2026-03-10T09:31:00.000000Z")))

    outcome = adapter.consent_state(doc.REQUISITION_ID)

    assert outcome.state is ConsentState.LINKED
    assert outcome.account_ids == (doc.ACCOUNT_ID,)
    assert outcome.institution_id == doc.INSTITUTION_ID
    assert outcome.access_expires_at == datetime(2026, 6, 8, 9, 31, tzinfo=UTC)


def test_linked_requisition_past_its_agreement_is_expired(api, adapter, clock):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("LN", [doc.ACCOUNT_ID])))
    api.on("GET", AGREEMENT, reply(200, doc.gc_agreement(accepted="2025-12-01T00:00:00Z")))

    assert adapter.consent_state(doc.REQUISITION_ID).state is ConsentState.EXPIRED


def test_a_deleted_requisition_is_revoked_and_revoke_is_idempotent(api, adapter):
    api.on("GET", REQUISITION, reply(404, doc.gc_error(404, "Not found.", "Not found.")))
    api.on(
        "DELETE", REQUISITION, reply(200, {"summary": "Requisition deleted", "detail": "deleted"}), reply(404)
    )

    assert adapter.consent_state(doc.REQUISITION_ID).state is ConsentState.REVOKED
    adapter.revoke(doc.REQUISITION_ID)
    adapter.revoke(doc.REQUISITION_ID)
    assert api.calls("DELETE", REQUISITION) == 2


# --------------------------------------------------------------------------- accounts and transactions


def test_list_accounts_masks_the_iban_and_keeps_no_personal_data(api, adapter):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("LN", [doc.ACCOUNT_ID])))
    api.on("GET", AGREEMENT, reply(200, doc.gc_agreement(accepted="2026-03-10T09:31:00Z")))
    api.on("GET", ACCOUNT, reply(200, doc.GC_ACCOUNT))
    api.on("GET", ACCOUNT + "details/", reply(200, doc.GC_DETAILS))
    api.on("GET", ACCOUNT + "balances/", reply(200, doc.GC_BALANCES))

    [account] = adapter.list_accounts(doc.REQUISITION_ID)

    assert account.account_id == doc.ACCOUNT_ID
    assert account.name == "Main Account"
    assert account.masked_identifier == "•••• 5555"
    assert (account.balance, account.balance_type, account.currency) == (
        Decimal("1234.10"),
        "closingBooked",
        "GBP",
    )
    assert account.institution_id == doc.INSTITUTION_ID
    assert dict(account.details) == {
        "status": "READY",
        "product": "Current Account",
        "cashAccountType": "CACC",
    }
    assert "Jane" not in repr(account) and "GB33" not in repr(account)


def test_an_account_not_ready_spends_no_daily_call(api, adapter):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("LN", [doc.ACCOUNT_ID])))
    api.on("GET", AGREEMENT, reply(200, doc.gc_agreement(accepted="2026-03-10T09:31:00Z")))
    api.on("GET", ACCOUNT, reply(200, {**doc.GC_ACCOUNT, "status": "PROCESSING"}))

    [account] = adapter.list_accounts(doc.REQUISITION_ID)

    assert account.balance is None and account.details == {"status": "PROCESSING"}
    assert api.calls("GET", ACCOUNT + "details/") == 0


def test_transactions_of_a_window_booked_and_pending(api, adapter):
    api.on("GET", TRANSACTIONS, reply(200, doc.GC_TRANSACTIONS))

    page = adapter.fetch_transactions(
        doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)).until(date(2026, 3, 9))
    )

    assert dict(api.last("GET", TRANSACTIONS).url.params) == {
        "date_from": "2026-03-01",
        "date_to": "2026-03-09",
    }
    card, salary, coffee_1, coffee_2, tfl = page.added
    assert (card.transaction_id, card.internal_id) == (
        "2022102000494539-1",
        "d8f93e27c3fd639e111f95fd49647fc7",
    )
    assert (card.amount, card.currency, card.counterparty) == (Decimal("-5.50"), "GBP", "Kafejnica Sala")
    assert salary.transaction_id is None and salary.internal_id == "a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2"
    assert (salary.amount, salary.counterparty, salary.description) == (
        Decimal("2650.00"),
        "Acme Payroll Ltd",
        "SALARY ACME PAYROLL",
    )
    assert coffee_1.description == "Café Münster \u2013 € card" and not coffee_1.pending
    assert coffee_1.fingerprint != coffee_2.fingerprint  # two equal coffees stay two
    assert tfl.pending and tfl.booking_date is None and tfl.amount == Decimal("-12.00")
    assert page.complete and page.pending_snapshot and page.removed == () and page.modified == ()
    # The next window starts at the oldest pending transaction, to see it booked.
    assert page.next_cursor == DateWindow(date(2026, 3, 7))


def test_fingerprints_are_stable_across_fetches(api, adapter):
    api.on("GET", TRANSACTIONS, reply(200, doc.GC_TRANSACTIONS))
    window = DateWindow(date(2026, 3, 1))

    first = adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, window)
    second = adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, window)

    assert [t.fingerprint for t in first.added] == [t.fingerprint for t in second.added]
    assert len({t.fingerprint for t in first.added}) == len(first.added)


def test_window_without_pending_moves_to_its_end(api, adapter):
    body = {"transactions": {"booked": doc.GC_TRANSACTIONS["transactions"]["booked"][:1], "pending": []}}
    api.on("GET", TRANSACTIONS, reply(200, body))

    page = adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))

    assert page.next_cursor == DateWindow(NOW.date())  # no end given: up to today


# --------------------------------------------------------------------------- token


def test_one_login_serves_many_calls(api, adapter):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("UA")))

    for _ in range(5):
        adapter.consent_state(doc.REQUISITION_ID)

    assert api.calls("POST", TOKEN_NEW) == 1
    assert api.sent("POST", TOKEN_NEW) == {"secret_id": SECRET_ID, "secret_key": SECRET_KEY}
    assert api.last("GET", REQUISITION).headers["Authorization"] == f"Bearer {doc.GC_ACCESS}"


def test_access_token_is_refreshed_before_it_expires_then_a_new_login_after_30_days(api, adapter, clock):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("UA")))
    api.on("POST", TOKEN_REFRESH, reply(200, doc.gc_refreshed("gc-access-refreshed-1234")))

    adapter.consent_state(doc.REQUISITION_ID)
    clock.advance(hours=23, minutes=50)
    adapter.consent_state(doc.REQUISITION_ID)
    assert (api.calls("POST", TOKEN_NEW), api.calls("POST", TOKEN_REFRESH)) == (1, 0)

    clock.advance(minutes=7)  # 3 minutes before the 24 h expiry: inside the 5-minute margin
    adapter.consent_state(doc.REQUISITION_ID)
    assert (api.calls("POST", TOKEN_NEW), api.calls("POST", TOKEN_REFRESH)) == (1, 1)
    assert api.sent("POST", TOKEN_REFRESH) == {"refresh": doc.GC_REFRESH}
    assert api.last("GET", REQUISITION).headers["Authorization"] == "Bearer gc-access-refreshed-1234"

    clock.advance(days=30)  # the refresh token is spent too
    adapter.consent_state(doc.REQUISITION_ID)
    assert (api.calls("POST", TOKEN_NEW), api.calls("POST", TOKEN_REFRESH)) == (2, 1)


def test_a_refused_refresh_falls_back_to_a_new_login(api, adapter, clock):
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("UA")))
    api.on(
        "POST", TOKEN_REFRESH, reply(401, doc.gc_error(401, "Invalid token", "Token is invalid or expired"))
    )

    adapter.consent_state(doc.REQUISITION_ID)
    clock.advance(hours=24)
    adapter.consent_state(doc.REQUISITION_ID)

    assert (api.calls("POST", TOKEN_NEW), api.calls("POST", TOKEN_REFRESH)) == (2, 1)


def test_a_token_the_api_rejects_is_replaced_once(api, adapter):
    invalid = reply(401, doc.gc_error(401, "Invalid token", "Token is invalid or expired"))
    api.on("POST", TOKEN_REFRESH, reply(200, doc.gc_refreshed("gc-access-second-99")))
    api.on("GET", REQUISITION, invalid, reply(200, doc.gc_requisition("LN")), invalid)

    assert adapter.consent_state(doc.REQUISITION_ID).state is ConsentState.LINKED
    assert (api.calls("POST", TOKEN_NEW), api.calls("POST", TOKEN_REFRESH)) == (1, 1)
    assert api.last("GET", REQUISITION).headers["Authorization"] == "Bearer gc-access-second-99"

    with pytest.raises(AggregatorRequestRejected):  # rejected again: once is enough, no loop
        adapter.consent_state(doc.REQUISITION_ID)
    assert api.calls("GET", REQUISITION) == 4


def test_our_own_credentials_refused_is_a_configuration_fault(api, adapter):
    api.on(
        "POST", TOKEN_NEW, reply(401, doc.gc_error(401, "Authentication failed", "No active account found"))
    )

    with pytest.raises(AggregatorUnavailable) as raised:
        adapter.consent_state(doc.REQUISITION_ID)

    assert raised.value.provider_code == "authentication_failed"


# --------------------------------------------------------------------------- rate limits, retries


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        (
            {
                "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT": "4",
                "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": "0",
                "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": "52000",
                "HTTP_X_RATELIMIT_LIMIT": "100",
                "HTTP_X_RATELIMIT_REMAINING": "88",
                "HTTP_X_RATELIMIT_RESET": "31",
            },
            52000,
        ),
        (
            {
                "x-ratelimit-account-success-limit": "4",
                "x-ratelimit-account-success-remaining": "0",
                "x-ratelimit-account-success-reset": "52000",
                "x-ratelimit-remaining": "88",
                "x-ratelimit-reset": "31",
            },
            52000,
        ),
        (
            {
                "HTTP_X_RATELIMIT_LIMIT": "100",
                "HTTP_X_RATELIMIT_REMAINING": "0",
                "HTTP_X_RATELIMIT_RESET": "42",
            },
            42,
        ),
        ({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "42"}, 42),
        ({}, 17),  # no header: "Please try again in 17 seconds" in the detail
    ],
)
def test_429_is_rate_limited_with_the_reset_read_from_either_header_spelling(api, adapter, headers, seconds):
    detail = "The rate limit for this resource is 4/day. Please try again in 17 seconds"
    api.on("GET", TRANSACTIONS, reply(429, doc.gc_error(429, "Rate limit exceeded", detail), headers))

    with pytest.raises(AggregatorRateLimited) as raised:
        adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))

    assert raised.value.retry_after_seconds == seconds
    assert raised.value.reset_at == NOW + timedelta(seconds=seconds)
    assert api.calls("GET", TRANSACTIONS) == 1  # never hammered


def test_5xx_is_retried_with_backoff_then_given_up(api, adapter, sleeps):
    unavailable = doc.gc_error(
        503, "Couldn't update account transactions", "Institution service unavailable", "ServiceError"
    )
    api.on("GET", TRANSACTIONS, reply(503, unavailable))

    with pytest.raises(AggregatorUnavailable) as raised:
        adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))

    assert api.calls("GET", TRANSACTIONS) == 3
    assert sleeps.delays == [0.5, 1.0]  # full jitter at its top: base * 2**retry
    assert raised.value.provider_code == "ServiceError"
    assert "Institution service unavailable" in raised.value.message


def test_5xx_then_success(api, adapter, sleeps):
    api.on("GET", TRANSACTIONS, reply(502, None), reply(200, doc.GC_TRANSACTIONS))

    page = adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))

    assert len(page.added) == 5 and len(sleeps.delays) == 1


def test_unknown_request_error_is_not_retried_because_it_counts_towards_suspension(api, adapter):
    body = doc.gc_error(
        500, "Couldn't update account", "Request to Institution returned an error", "UnknownRequestError"
    )
    api.on("GET", TRANSACTIONS, reply(500, body))

    with pytest.raises(AggregatorUnavailable):
        adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))

    assert api.calls("GET", TRANSACTIONS) == 1


def test_timeouts_are_retried(api, adapter, sleeps):
    api.on("GET", REQUISITION, httpx.ReadTimeout("timed out"), reply(200, doc.gc_requisition("UA")))
    assert adapter.consent_state(doc.REQUISITION_ID).state is ConsentState.PENDING

    api.on("GET", REQUISITION, httpx.ReadTimeout("timed out"))
    with pytest.raises(AggregatorUnavailable) as raised:
        adapter.consent_state(doc.REQUISITION_ID)
    assert api.calls("GET", REQUISITION) == 1 + 1 + 3
    assert raised.value.provider_code == "ReadTimeout"


def test_a_requisition_is_not_resent_after_a_read_timeout_but_is_after_a_failed_connection(api, adapter):
    api.on("GET", INSTITUTION, reply(200, doc.GC_INSTITUTION))
    api.on("POST", AGREEMENTS, reply(201, doc.gc_agreement()))
    api.on("POST", REQUISITIONS, httpx.ReadTimeout("timed out"))

    with pytest.raises(AggregatorUnavailable):
        adapter.start_consent(consent_request())
    assert api.calls("POST", REQUISITIONS) == 1  # it may have been created: never twice

    api.on("POST", REQUISITIONS, httpx.ConnectError("refused"), reply(201, doc.gc_requisition()))
    assert adapter.start_consent(consent_request()).consent_handle == doc.REQUISITION_ID


# --------------------------------------------------------------------------- error bodies


@pytest.mark.parametrize(
    "error",
    [
        reply(
            401,
            doc.gc_error(
                401,
                f"End User Agreement (EUA) {doc.AGREEMENT_ID} has expired",
                "EUA was valid for 90 days and it expired at 2026-03-01. The end user must connect the "
                "account once more with new EUA and Requisition",
            ),
        ),
        reply(
            400,
            doc.gc_error(
                400, "EUA expired", f"End User Agreement {doc.AGREEMENT_ID} has expired, create a new one"
            ),
        ),
        reply(
            401,
            doc.gc_error(
                401,
                "Couldn't update account transactions",
                "Access has expired or it has been revoked. To restore access reconnect the account.",
                "AccessExpiredError",
            ),
        ),
        reply(
            403,
            doc.gc_error(
                403,
                "No valid End User Agreement",
                "Account exists but there is no valid End User Agreement permitting you to access it",
            ),
        ),
    ],
    ids=["eua-401", "eua-400", "access-expired-type", "no-valid-eua-403"],
)
def test_an_expired_agreement_is_read_from_the_body_whatever_the_status(api, adapter, error):
    api.on("GET", TRANSACTIONS, error)

    with pytest.raises(ConsentExpired) as raised:
        adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))

    assert type(raised.value) is ConsentExpired
    assert api.calls("GET", TRANSACTIONS) == 1 and api.calls("POST", TOKEN_NEW) == 1


def test_suspended_or_inactive_accounts_are_that_accounts_problem_not_the_consents(api, adapter):
    """Issue 13 item 6: reauthorising does not bring back a suspended or closed account."""
    suspended = doc.gc_error(
        403, "Account suspended", "This account or its requisition was suspended due to numerous errors"
    )
    api.on("GET", TRANSACTIONS, reply(403, suspended))

    with pytest.raises(AccountUnavailable) as raised:
        adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))
    assert raised.value.retry_later is False


def test_requests_to_limited_endpoints_pass_the_gate_before_each_attempt(api, clock, sleeps):
    """GoCardless counts requests: a 5xx retried is two requests, both admitted first; a 429
    holds the endpoint until the reset it gives."""

    class Gate:
        def __init__(self) -> None:
            self.admitted: list[tuple[str, str]] = []
            self.held: list[tuple[str, str, datetime]] = []

        def admit(self, scope: str, endpoint: str) -> None:
            self.admitted.append((scope, endpoint))

        def hold(self, scope: str, endpoint: str, until: datetime) -> None:
            self.held.append((scope, endpoint, until))

    gate = Gate()
    adapter = GoCardlessAdapter(
        BASE,
        static_source({"gocardless_secret_id": SECRET_ID, "gocardless_secret_key": SECRET_KEY}),
        transport=api.transport(),
        clock=clock,
        sleep=sleeps,
        gate=gate,
    )
    api.on(
        "GET",
        TRANSACTIONS,
        reply(500, doc.gc_error(500, "Internal error", "Try again")),
        reply(
            429,
            doc.gc_error(429, "Rate limit exceeded", "Please try again in 7200 seconds"),
            {
                "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": "0",
                "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": "7200",
            },
        ),
    )

    with pytest.raises(AggregatorRateLimited):
        adapter.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1)))

    assert (
        gate.admitted
        == [(doc.ACCOUNT_ID, "transactions")] * 2
        == [(doc.ACCOUNT_ID, "transactions")] * api.calls("GET", TRANSACTIONS)
    )
    assert gate.held == [(doc.ACCOUNT_ID, "transactions", clock() + timedelta(seconds=7200))]


def test_field_errors_are_rejected_requests_with_the_providers_words(api, adapter):
    body = {
        "institution_id": {
            "summary": "Unknown Institution ID NOPE",
            "detail": "Get Institution IDs from /institutions/?country={$COUNTRY_CODE}",
        },
        "status_code": 400,
    }
    api.on("GET", "/api/v2/institutions/NOPE/", reply(400, body))

    with pytest.raises(AggregatorRequestRejected) as raised:
        adapter.get_institution("NOPE")

    assert "institution_id: Unknown Institution ID NOPE" in raised.value.message
    assert raised.value.provider_code == "400"


def test_ids_are_single_path_segments(api, adapter):
    api.on("GET", "/api/v2/requisitions/..%2Ftoken%2Fnew/", reply(200, doc.gc_requisition("CR")))

    adapter.consent_state("../token/new")

    assert api.calls("GET", "/api/v2/requisitions/..%2Ftoken%2Fnew/") == 1


@pytest.mark.parametrize(
    ("path", "response", "call"),
    [
        (REQUISITION, raw(200, b"<html>gateway</html>"), "state"),
        (REQUISITION, reply(200, {"id": doc.REQUISITION_ID}), "state"),  # no status
        (INSTITUTIONS, reply(200, {"results": []}), "search"),
        (TRANSACTIONS, reply(200, {"transactions": {"booked": [{"bookingDate": "2026-03-09"}]}}), "fetch"),
        (
            TRANSACTIONS,
            reply(
                200,
                {"transactions": {"booked": [{"transactionAmount": {"amount": "1,5", "currency": "GBP"}}]}},
            ),
            "fetch",
        ),
        (
            TRANSACTIONS,
            reply(200, {"transactions": {"booked": [{**doc.COFFEE, "bookingDate": "09/03"}]}}),
            "fetch",
        ),
    ],
    ids=["not-json", "missing-status", "institutions-not-a-list", "no-amount", "bad-amount", "bad-date"],
)
def test_malformed_bodies_are_a_clear_domain_error(api, adapter, path, response, call):
    api.on("GET", path, response)
    calls = {
        "state": lambda: adapter.consent_state(doc.REQUISITION_ID),
        "search": lambda: adapter.search_institutions("GB"),
        "fetch": lambda: adapter.fetch_transactions(
            doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 3, 1))
        ),
    }

    with pytest.raises(MalformedAggregatorResponse) as raised:
        calls[call]()

    assert raised.value.status == 502 and raised.value.provider == "gocardless"


# --------------------------------------------------------------------------- secrets


def test_secrets_never_reach_error_messages_or_logs(api, adapter, caplog):
    caplog.set_level(logging.DEBUG)
    echo = doc.gc_error(500, "Server error", f"bad secret {SECRET_KEY} for {SECRET_ID} with {doc.GC_ACCESS}")
    api.on("GET", REQUISITION, reply(500, echo))

    with pytest.raises(AggregatorUnavailable) as raised:
        adapter.consent_state(doc.REQUISITION_ID)

    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    for secret in (SECRET_ID, SECRET_KEY, doc.GC_ACCESS, doc.GC_REFRESH):
        assert secret not in str(raised.value) and secret not in logged
    assert "[redacted]" in raised.value.message
    assert "Aggregator call retried" in caplog.text  # the retries were logged, by operation


# --------------------------------------------------------------------------- against the sandbox

SANDBOX_BASE = "http://sandbox.test/sandbox/gocardless"
CALLBACK = "http://127.0.0.1:3000/callbacks/gocardless"


def sandbox_transport(sandbox) -> httpx.MockTransport:
    """The sandbox mounted as the local server mounts it (paths relative to the mount)."""

    def handle(request: httpx.Request) -> httpx.Response:
        relative = request.url.path.removeprefix(urlsplit(SANDBOX_BASE).path)
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        status, headers, body = sandbox.handle(
            request.method, relative, query, dict(request.headers), request.content
        )
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(handle)


def test_against_the_sandbox_from_consent_to_transactions_and_expiry(aws, clock, sleeps):
    import boto3

    from infra.spec import SECRETS
    from local.sandbox import GoCardlessSandbox
    from shared.adapters.aggregator.credentials import secrets_manager_source

    boto3.client("secretsmanager").create_secret(
        Name="aggregator-test", SecretString=json.dumps(SECRETS["aggregator"].local_value)
    )
    sandbox = GoCardlessSandbox(clock=clock, public_base_url=SANDBOX_BASE)
    transport = sandbox_transport(sandbox)
    adapter = GoCardlessAdapter(
        SANDBOX_BASE,
        secrets_manager_source("aggregator-test"),
        transport=transport,
        clock=clock,
        sleep=sleeps,
    )

    [bank] = [i for i in adapter.search_institutions("gb", "demo") if i.id == "DEMOBANK_DMBKGB2L"]
    assert bank.max_history_days == 730 and bank.logo_url

    start = adapter.start_consent(
        ConsentRequest(
            institution_id=bank.id, reference="ref-sandbox-1", redirect_url=CALLBACK, user_id="user-1"
        )
    )
    assert (
        adapter.complete_consent(CompletionInput(consent_handle=start.consent_handle)).state
        is ConsentState.PENDING
    )

    with httpx.Client(transport=transport) as browser:  # the person approves at the bank
        redirect = browser.get(f"{start.consent_url}/approve")
    assert redirect.status_code == 302
    back = urlsplit(redirect.headers["Location"])
    assert back.path == "/callbacks/gocardless" and parse_qs(back.query) == {"ref": ["ref-sandbox-1"]}

    outcome = adapter.complete_consent(CompletionInput(consent_handle=start.consent_handle))
    assert outcome.state is ConsentState.LINKED and len(outcome.account_ids) == 2
    assert outcome.reference == "ref-sandbox-1"
    assert outcome.access_expires_at == clock.now + timedelta(days=90)

    credential = outcome.credential
    assert credential is not None

    accounts = adapter.list_accounts(credential)
    assert [a.currency for a in accounts] == ["GBP", "GBP"]
    assert all(
        (a.masked_identifier or "").startswith("•••• ") and isinstance(a.balance, Decimal) for a in accounts
    )

    cursor = adapter.initial_cursor(clock.now.date() - timedelta(days=30)).until(
        clock.now.date() - timedelta(days=1)
    )
    page = adapter.fetch_transactions(credential, accounts[0].account_id, cursor)
    assert page.complete and len(page.added) > 10
    assert all(isinstance(t.amount, Decimal) and t.currency == "GBP" for t in page.added)
    assert all(t.internal_id for t in page.added if not t.pending)

    agreement_id = start.agreement_id
    sandbox.handle("POST", f"/_control/agreements/{agreement_id}/expire", {}, {}, b"")
    with pytest.raises(ConsentExpired):
        adapter.fetch_transactions(credential, accounts[0].account_id, page.next_cursor)
    assert adapter.consent_state(credential).state is ConsentState.EXPIRED

    adapter.revoke(credential)
    assert adapter.consent_state(credential).state is ConsentState.REVOKED

    state = json.loads(sandbox.handle("GET", "/_control/state", {}, {}, b"")[2])
    assert state["tokens"]["access"] == 1  # one login for the whole journey
