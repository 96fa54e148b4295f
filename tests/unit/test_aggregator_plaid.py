"""Plaid adapter against scripted, documented-shape responses (httpx.MockTransport)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.http_client import RetryPolicy
from shared.adapters.aggregator.plaid import PlaidAdapter, SyncLimits, base_url_for
from shared.domain.aggregator import (
    AggregatorRateLimited,
    AggregatorRequestRejected,
    AggregatorUnavailable,
    CompletionInput,
    ConsentRequest,
    ConsentRevoked,
    ConsentState,
    CredentialsRejected,
    DateWindow,
    MalformedAggregatorResponse,
    SyncCursor,
)
from tests.fixtures.aggregator import documented as doc
from tests.fixtures.aggregator.fake_api import FakeApi, Sleeps, raw, reply

BASE = "https://sandbox.plaid.com"
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
CLIENT_ID = "plaid-client-id-5f3c2a1b"
SECRET = "plaid-secret-7d9e8f6a5b4c"
SYNC = "/transactions/sync"


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_adapter(api: FakeApi, sleeps: Sleeps, **options: object) -> PlaidAdapter:
    return PlaidAdapter(
        BASE,
        static_source({"plaid_client_id": CLIENT_ID, "plaid_secret": SECRET}),
        transport=api.transport(),
        clock=lambda: NOW,
        sleep=sleeps,
        rand=lambda: 1.0,
        retry=RetryPolicy(attempts=3, base_delay=0.5),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def adapter(api: FakeApi, sleeps: Sleeps) -> PlaidAdapter:
    return make_adapter(api, sleeps)


def plaid_failure(status: int, error_type: str, code: str, message: str = "failed") -> httpx.Response:
    return reply(status, doc.plaid_error(error_type, code, message))


# --------------------------------------------------------------------------- consent


def test_link_token_for_a_new_consent(api, adapter):
    api.on(
        "POST",
        "/link/token/create",
        reply(
            200,
            {
                "link_token": doc.LINK_TOKEN,
                "expiration": "2026-03-10T13:30:00Z",
                "request_id": "XQVgFigpGHXkb0b",
            },
        ),
    )

    start = adapter.start_consent(
        ConsentRequest(
            institution_id="ins_109508",
            reference="ref-1",
            redirect_url="https://app.example.com/oauth-return",
            user_id="user-1",
            max_history_days=365,
            language="FR",
            country="gb",
            webhook_url="https://api.example.com/webhooks/plaid",
        )
    )

    assert api.sent("POST", "/link/token/create") == {
        "client_name": "Client data sharing",
        "language": "fr",
        "country_codes": ["GB"],
        "user": {"client_user_id": "user-1"},
        "webhook": "https://api.example.com/webhooks/plaid",
        "redirect_uri": "https://app.example.com/oauth-return",
        "products": ["transactions"],
        "transactions": {"days_requested": 365},
    }
    request = api.last("POST", "/link/token/create")
    assert (request.headers["PLAID-CLIENT-ID"], request.headers["PLAID-SECRET"]) == (CLIENT_ID, SECRET)
    assert (start.consent_handle, start.link_token, start.consent_url) == (
        doc.LINK_TOKEN,
        doc.LINK_TOKEN,
        None,
    )
    assert start.expires_at == datetime(2026, 3, 10, 13, 30, tzinfo=UTC)


def test_update_mode_sends_the_access_token_and_no_products(api, adapter):
    api.on("POST", "/link/token/create", reply(200, {"link_token": doc.LINK_TOKEN, "expiration": None}))

    adapter.start_consent(
        ConsentRequest(
            institution_id="ins_109508",
            reference="ref-2",
            redirect_url=None,
            user_id="user-1",
            update_consent=doc.PLAID_ACCESS_TOKEN,
        )
    )

    sent = api.sent("POST", "/link/token/create")
    assert sent["access_token"] == doc.PLAID_ACCESS_TOKEN
    assert "products" not in sent and "redirect_uri" not in sent and sent["country_codes"] == ["GB"]


@pytest.mark.parametrize(("asked", "requested"), [(None, 730), (2000, 730), (90, 90)])
def test_a_new_consent_asks_for_the_full_history_unless_told_less(api, adapter, asked, requested):
    """Plaid's default is 90 days (docs: /link/token/create transactions.days_requested, max 730)."""
    api.on("POST", "/link/token/create", reply(200, {"link_token": doc.LINK_TOKEN, "expiration": None}))

    adapter.start_consent(
        ConsentRequest(
            institution_id="ins_109508",
            reference="ref-3",
            redirect_url=None,
            user_id="user-1",
            max_history_days=asked,
        )
    )

    assert api.sent("POST", "/link/token/create")["transactions"] == {"days_requested": requested}


def test_exchanging_the_public_token_links_the_item(api, adapter):
    api.on(
        "POST",
        "/item/public_token/exchange",
        reply(
            200,
            {
                "access_token": doc.PLAID_ACCESS_TOKEN,
                "item_id": doc.ITEM_ID,
                "request_id": "Aim3b",
            },
        ),
    )
    api.on("POST", "/accounts/get", reply(200, doc.PLAID_ACCOUNTS))

    outcome = adapter.complete_consent(
        CompletionInput(consent_handle=doc.LINK_TOKEN, public_token=doc.PLAID_PUBLIC_TOKEN)
    )

    assert api.sent("POST", "/item/public_token/exchange") == {"public_token": doc.PLAID_PUBLIC_TOKEN}
    assert outcome.state is ConsentState.LINKED
    assert outcome.credential == doc.PLAID_ACCESS_TOKEN and outcome.item_id == doc.ITEM_ID
    assert outcome.account_ids == (doc.PLAID_CHECKING, doc.PLAID_SAVINGS)
    assert outcome.institution_id == "ins_109508"
    assert doc.PLAID_ACCESS_TOKEN not in repr(outcome)


def test_completion_without_a_public_token_is_pending(api, adapter):
    outcome = adapter.complete_consent(CompletionInput(consent_handle=doc.LINK_TOKEN))

    assert outcome.state is ConsentState.PENDING and api.requests == []


def test_completion_after_update_mode_rereads_the_same_item(api, adapter):
    api.on("POST", "/accounts/get", reply(200, doc.PLAID_ACCOUNTS))

    outcome = adapter.complete_consent(
        CompletionInput(consent_handle=doc.LINK_TOKEN, credential=doc.PLAID_ACCESS_TOKEN)
    )

    assert outcome.state is ConsentState.LINKED and outcome.credential == doc.PLAID_ACCESS_TOKEN
    assert api.calls("POST", "/item/public_token/exchange") == 0


def test_completion_with_a_login_required_item_is_credentials_rejected(api, adapter):
    api.on("POST", "/accounts/get", plaid_failure(400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED"))

    outcome = adapter.complete_consent(
        CompletionInput(consent_handle=doc.LINK_TOKEN, credential=doc.PLAID_ACCESS_TOKEN)
    )

    assert outcome.state is ConsentState.CREDENTIALS_REJECTED and outcome.reason == "ITEM_LOGIN_REQUIRED"


@pytest.mark.parametrize(
    ("item", "state"),
    [
        (doc.plaid_item(), ConsentState.LINKED),
        (doc.plaid_item(consent_expiration_time="2026-06-08T09:30:00Z"), ConsentState.LINKED),
        (
            doc.plaid_item(error=doc.plaid_error("ITEM_ERROR", "ITEM_LOGIN_REQUIRED", "login required")),
            ConsentState.CREDENTIALS_REJECTED,
        ),
        (
            doc.plaid_item(
                error=doc.plaid_error("ITEM_ERROR", "ITEM_LOGIN_REQUIRED", "login required"),
                consent_expiration_time="2026-03-01T00:00:00Z",
            ),
            ConsentState.EXPIRED,
        ),
        (doc.plaid_item(consent_expiration_time="2026-03-01T00:00:00Z"), ConsentState.EXPIRED),
        (
            doc.plaid_item(error=doc.plaid_error("ITEM_ERROR", "USER_PERMISSION_REVOKED", "revoked")),
            ConsentState.REVOKED,
        ),
        (
            doc.plaid_item(error=doc.plaid_error("INSTITUTION_ERROR", "INSTITUTION_DOWN", "down")),
            ConsentState.ERROR,
        ),
    ],
    ids=[
        "healthy",
        "healthy-with-expiry",
        "login-required",
        "consent-expired",
        "expired-no-error-yet",
        "revoked",
        "institution-down",
    ],
)
def test_consent_state_reads_the_item(api, adapter, item, state):
    api.on("POST", "/item/get", reply(200, {"item": item, "status": {}, "request_id": "m8MDnv9okwxFNBV"}))

    outcome = adapter.consent_state(doc.PLAID_ACCESS_TOKEN)

    assert outcome.state is state
    assert outcome.item_id == doc.ITEM_ID
    assert api.sent("POST", "/item/get") == {"access_token": doc.PLAID_ACCESS_TOKEN}


def test_a_removed_item_is_revoked_and_removing_it_again_is_a_no_op(api, adapter):
    not_found = plaid_failure(400, "ITEM_ERROR", "ITEM_NOT_FOUND", "the Item you requested cannot be found")
    api.on("POST", "/item/get", not_found)
    api.on("POST", "/item/remove", reply(200, {"request_id": "m8MDnv9okwxFNBV"}), not_found)

    assert adapter.consent_state(doc.PLAID_ACCESS_TOKEN).state is ConsentState.REVOKED
    adapter.revoke(doc.PLAID_ACCESS_TOKEN)
    adapter.revoke(doc.PLAID_ACCESS_TOKEN)
    assert api.calls("POST", "/item/remove") == 2


# --------------------------------------------------------------------------- institutions and accounts


def test_institution_search_gives_web_address_and_logo(api, adapter):
    api.on(
        "POST",
        "/institutions/search",
        reply(
            200,
            {
                "institutions": [
                    {
                        "institution_id": "ins_109508",
                        "name": "First Platypus Bank",
                        "country_codes": ["GB"],
                        "products": ["transactions"],
                        "url": "https://www.platypus.example",
                        "logo": "iVBORw0KGgo=",
                        "primary_color": "#1f1f1f",
                        "oauth": False,
                        "routing_numbers": [],
                    }
                ],
                "request_id": "Ggmk0enW4smO2Tp",
            },
        ),
    )

    [bank] = adapter.search_institutions("gb", " platypus ")

    assert api.sent("POST", "/institutions/search") == {
        "query": "platypus",
        "country_codes": ["GB"],
        "products": ["transactions"],
        "options": {"include_optional_metadata": True},
    }
    assert (bank.id, bank.name, bank.country, bank.website) == (
        "ins_109508",
        "First Platypus Bank",
        "GB",
        "https://www.platypus.example",
    )
    assert bank.logo_url == "data:image/png;base64,iVBORw0KGgo="
    assert adapter.search_institutions("gb", "  ") == [] and api.calls("POST", "/institutions/search") == 1


def test_accounts_with_exact_balances_and_masks(api, adapter):
    api.on("POST", "/accounts/get", reply(200, doc.PLAID_ACCOUNTS))

    checking, savings = adapter.list_accounts(doc.PLAID_ACCESS_TOKEN)

    assert (checking.name, checking.masked_identifier, checking.currency) == (
        "Plaid Checking",
        "•••• 0000",
        "USD",
    )
    assert (checking.balance, checking.balance_type) == (Decimal("110.45"), "current")
    assert (savings.balance, savings.balance_type) == (Decimal("200"), "available")
    assert checking.institution_id == "ins_109508"
    assert dict(checking.details) == {
        "type": "depository",
        "subtype": "checking",
        "official_name": "Plaid Gold Standard 0% Interest Checking",
    }


# --------------------------------------------------------------------------- transactions


def test_sync_pages_until_has_more_is_false_and_negates_amounts(api, adapter):
    api.on(
        "POST",
        SYNC,
        reply(200, doc.plaid_sync_page("c1", True, added=[doc.plaid_transaction("t1", 12.34)])),
        reply(
            200,
            doc.plaid_sync_page(
                "c2",
                True,
                added=[doc.plaid_transaction("t2", -500)],
                modified=[doc.plaid_transaction("t0", 0.1)],
            ),
        ),
        reply(200, doc.plaid_sync_page("c3", False, removed=["t-old"])),
    )

    page = adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor("c0"))

    assert [api.sent("POST", SYNC, i).get("cursor") for i in range(3)] == ["c0", "c1", "c2"]
    assert api.sent("POST", SYNC, 0)["count"] == 500
    assert [(t.transaction_id, t.amount) for t in page.added] == [
        ("t1", Decimal("-12.34")),
        ("t2", Decimal("500")),
    ]
    assert [(t.transaction_id, t.amount) for t in page.modified] == [("t0", Decimal("-0.1"))]
    assert page.removed == ("t-old",)
    assert page.next_cursor == SyncCursor("c3") and page.complete


def test_a_plaid_transaction_in_our_terms(api, adapter):
    posted = doc.plaid_transaction("t9", 1234567.89, pending_transaction_id="p9")
    pending = doc.plaid_transaction("p10", 0.0, pending=True, merchant_name=None, original_description=None)
    api.on("POST", SYNC, reply(200, doc.plaid_sync_page("c1", False, added=[posted, pending])))

    first, second = adapter.fetch_transactions(
        doc.PLAID_ACCESS_TOKEN, "", adapter.initial_cursor(date(2026, 1, 1))
    ).added

    assert "cursor" not in api.sent("POST", SYNC)  # from the start of the Item's history
    assert (first.amount, first.currency, first.pending) == (Decimal("-1234567.89"), "USD", False)
    assert (first.booking_date, first.value_date) == (date(2026, 3, 8), date(2026, 3, 7))
    assert (first.description, first.counterparty) == ("UBER 063015 SF**POOL**", "Uber")
    assert first.pending_transaction_id == "p9" and first.account_id == doc.PLAID_CHECKING
    assert second.pending and second.booking_date is None and str(second.amount) == "0.0"
    assert (second.description, second.counterparty) == ("Uber 063015 SF**POOL**", "Uber")


def test_a_mutation_during_pagination_restarts_from_the_original_cursor(api, adapter):
    api.on(
        "POST",
        SYNC,
        reply(200, doc.plaid_sync_page("c1", True, added=[doc.plaid_transaction("stale", 1)])),
        plaid_failure(
            400,
            "TRANSACTIONS_ERROR",
            "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
            "Underlying transaction data changed since last page was fetched. Please restart pagination.",
        ),
        reply(200, doc.plaid_sync_page("c1b", True, added=[doc.plaid_transaction("fresh", 1)])),
        reply(200, doc.plaid_sync_page("c2b", False, added=[doc.plaid_transaction("fresh-2", 2)])),
    )

    page = adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor("c0"))

    assert [api.sent("POST", SYNC, i).get("cursor") for i in range(4)] == ["c0", "c1", "c0", "c1b"]
    assert [t.transaction_id for t in page.added] == ["fresh", "fresh-2"]  # nothing from the dropped pages
    assert page.next_cursor == SyncCursor("c2b")


def test_a_sync_that_keeps_mutating_gives_up_after_bounded_restarts(api, adapter):
    api.on(
        "POST", SYNC, plaid_failure(400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
    )

    with pytest.raises(AggregatorUnavailable) as raised:
        adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor("c0"))

    assert (
        api.calls("POST", SYNC) == 3
        and raised.value.provider_code == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"
    )


def test_a_long_feed_is_returned_in_bounded_parts(api, sleeps):
    adapter = make_adapter(api, sleeps, sync=SyncLimits(page_size=2, max_pages=2))
    api.on(
        "POST",
        SYNC,
        reply(200, doc.plaid_sync_page("c1", True, added=[doc.plaid_transaction("t1", 1)])),
        reply(200, doc.plaid_sync_page("c2", True, added=[doc.plaid_transaction("t2", 1)])),
    )

    page = adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor(None))

    assert not page.complete and page.next_cursor == SyncCursor("c2") and len(page.added) == 2
    assert api.sent("POST", SYNC)["count"] == 2


def test_a_feed_not_ready_yet_keeps_the_cursor(api, adapter):
    api.on("POST", SYNC, reply(200, doc.plaid_sync_page("", False)))

    page = adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor("c7"))

    assert page.next_cursor == SyncCursor("c7") and page.added == () and page.complete


def test_a_date_window_is_not_a_plaid_cursor(adapter):
    with pytest.raises(AggregatorRequestRejected):
        adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, DateWindow(date(2026, 1, 1)))


# --------------------------------------------------------------------------- errors and retries


@pytest.mark.parametrize(
    ("status", "error_type", "code", "expected"),
    [
        (400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED", CredentialsRejected),
        (400, "ITEM_ERROR", "ITEM_NOT_FOUND", ConsentRevoked),
        (429, "RATE_LIMIT_EXCEEDED", "TRANSACTIONS_SYNC_LIMIT", AggregatorRateLimited),
        (429, "RATE_LIMIT_EXCEEDED", "ACCOUNTS_LIMIT", AggregatorRateLimited),
        (400, "INSTITUTION_ERROR", "INSTITUTION_DOWN", AggregatorUnavailable),
        (400, "INVALID_REQUEST", "MISSING_FIELDS", AggregatorRequestRejected),
        (400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", AggregatorRequestRejected),
        (400, "INVALID_REQUEST", "INVALID_FIELD", AggregatorRequestRejected),
    ],
)
def test_plaid_errors_map_to_domain_errors(api, adapter, status, error_type, code, expected):
    api.on("POST", SYNC, plaid_failure(status, error_type, code, "the error message"))

    with pytest.raises(expected) as raised:
        adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor("c0"))

    assert type(raised.value) is expected
    assert raised.value.provider_code == code and raised.value.request_id == "HNTDNrA8F1shFEW"
    assert raised.value.message == f"{code}: the error message"
    assert api.calls("POST", SYNC) == 1  # none of these is retried here


def test_rate_limit_uses_retry_after_when_plaid_sends_one(api, adapter):
    api.on(
        "POST",
        "/accounts/get",
        reply(
            429, doc.plaid_error("RATE_LIMIT_EXCEEDED", "ACCOUNTS_LIMIT", "slow down"), {"Retry-After": "60"}
        ),
    )

    with pytest.raises(AggregatorRateLimited) as raised:
        adapter.list_accounts(doc.PLAID_ACCESS_TOKEN)

    assert raised.value.retry_after_seconds == 60


@pytest.mark.parametrize(
    "failure",
    [
        plaid_failure(500, "API_ERROR", "INTERNAL_SERVER_ERROR", "an unexpected error occurred"),
        plaid_failure(503, "API_ERROR", "PLANNED_MAINTENANCE", "the Plaid API is temporarily unavailable"),
        raw(502, b"<html>Bad gateway</html>"),
    ],
    ids=["internal", "maintenance", "gateway"],
)
def test_server_errors_are_retried_then_given_up(api, adapter, sleeps, failure):
    api.on("POST", "/item/get", failure)

    with pytest.raises(AggregatorUnavailable):
        adapter.consent_state(doc.PLAID_ACCESS_TOKEN)

    assert api.calls("POST", "/item/get") == 3 and sleeps.delays == [0.5, 1.0]


def test_a_server_error_then_success(api, adapter):
    api.on(
        "POST",
        "/item/get",
        plaid_failure(500, "API_ERROR", "INTERNAL_SERVER_ERROR"),
        reply(200, {"item": doc.plaid_item(), "request_id": "x"}),
    )

    assert adapter.consent_state(doc.PLAID_ACCESS_TOKEN).state is ConsentState.LINKED


def test_timeouts_are_retried(api, adapter):
    api.on(
        "POST",
        SYNC,
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        reply(200, doc.plaid_sync_page("c1", False)),
    )

    page = adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor("c0"))

    assert page.next_cursor == SyncCursor("c1") and api.calls("POST", SYNC) == 3


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), plaid_failure(500, "API_ERROR", "INTERNAL_SERVER_ERROR")],
    ids=["timeout", "500"],
)
def test_a_public_token_is_never_resent_blindly(api, adapter, failure):
    api.on("POST", "/item/public_token/exchange", failure)

    with pytest.raises(AggregatorUnavailable):
        adapter.complete_consent(
            CompletionInput(consent_handle=doc.LINK_TOKEN, public_token=doc.PLAID_PUBLIC_TOKEN)
        )

    assert api.calls("POST", "/item/public_token/exchange") == 1  # single use: a resend would fail


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        json.dumps(doc.plaid_sync_page("c1", False) | {"has_more": None}).encode(),
        json.dumps(
            doc.plaid_sync_page("c1", False, added=[{"transaction_id": "t1", "account_id": "a"}])
        ).encode(),
        json.dumps(
            doc.plaid_sync_page("c1", False, added=[doc.plaid_transaction("t1", 1) | {"amount": "12,5"}])
        ).encode(),
        json.dumps(
            doc.plaid_sync_page(
                "c1", False, added=[doc.plaid_transaction("t1", 1) | {"iso_currency_code": None}]
            )
        ).encode(),
        json.dumps({"added": [], "has_more": False}).encode(),
    ],
    ids=["not-json", "has-more-missing", "amount-missing", "amount-not-a-number", "no-currency", "no-cursor"],
)
def test_malformed_bodies_are_a_clear_domain_error(api, adapter, body):
    api.on("POST", SYNC, raw(200, body, "application/json"))

    with pytest.raises(MalformedAggregatorResponse) as raised:
        adapter.fetch_transactions(doc.PLAID_ACCESS_TOKEN, doc.PLAID_CHECKING, SyncCursor("c0"))

    assert raised.value.provider == "plaid" and raised.value.status == 502


def test_missing_credentials_are_a_configuration_error(api, sleeps):
    adapter = PlaidAdapter(BASE, static_source({"plaid_client_id": CLIENT_ID}), transport=api.transport())

    with pytest.raises(AggregatorUnavailable) as raised:
        adapter.consent_state(doc.PLAID_ACCESS_TOKEN)

    assert "plaid_secret" in raised.value.message and api.requests == []


def test_secrets_never_reach_error_messages_logs_or_reprs(api, adapter, caplog):
    caplog.set_level(logging.DEBUG)
    echo = f"access token {doc.PLAID_ACCESS_TOKEN} is not valid for client {CLIENT_ID} / {SECRET}"
    api.on("POST", "/accounts/get", plaid_failure(500, "API_ERROR", "INTERNAL_SERVER_ERROR", echo))

    with pytest.raises(AggregatorUnavailable) as raised:
        adapter.list_accounts(doc.PLAID_ACCESS_TOKEN)

    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    reprs = repr(
        CompletionInput(
            consent_handle="h", public_token=doc.PLAID_PUBLIC_TOKEN, credential=doc.PLAID_ACCESS_TOKEN
        )
    )
    reprs += repr(
        ConsentRequest(
            institution_id="i",
            reference="r",
            redirect_url=None,
            user_id="u",
            update_consent=doc.PLAID_ACCESS_TOKEN,
        )
    )
    for secret in (doc.PLAID_ACCESS_TOKEN, doc.PLAID_PUBLIC_TOKEN, CLIENT_ID, SECRET):
        assert secret not in str(raised.value) and secret not in logged and secret not in reprs
    assert raised.value.message.count("[redacted]") == 3
    assert "Aggregator call retried" in caplog.text


def test_environment_names_or_a_local_url():
    assert base_url_for("sandbox") == "https://sandbox.plaid.com"
    assert base_url_for("Production") == "https://production.plaid.com"
    assert base_url_for("http://127.0.0.1:8000/sandbox/plaid") == "http://127.0.0.1:8000/sandbox/plaid"
