"""The GoCardless Bank Account Data sandbox speaks the real API's shapes, deterministically."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from local.sandbox import GoCardlessSandbox
from local.sandbox.gocardless import SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY
from local.sandbox.gocardless_data import BOOKING_LAG_DAYS

START = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
TODAY = START.date()
HOST = "127.0.0.1:8000"
CALLBACK = "http://127.0.0.1:3000/connections/callback"
DEMO_BANK = "DEMOBANK_DMBKGB2L"
NO_IDS_BANK = "NORTHWYND_NWYDGB21"
EMPTY_BANK = "EMPTYVAULT_EMPTGB21"
CREDENTIALS = {"secret_id": SANDBOX_SECRET_ID, "secret_key": SANDBOX_SECRET_KEY}


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Client:
    sandbox: GoCardlessSandbox
    token: str | None = None
    made: int = 0

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        raw: bytes = b"",
    ) -> Reply:
        headers = {"Host": HOST, "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body).encode() if body is not None else raw
        params = {name: [value] for name, value in (query or {}).items()}
        return Reply(*self.sandbox.handle(method, path, params, headers, payload))

    def login(self) -> None:
        self.token = self.call("POST", "/api/v2/token/new/", CREDENTIALS).body["access"]

    def agreement(self, institution_id: str = DEMO_BANK, **overrides: Any) -> dict[str, Any]:
        body = {"institution_id": institution_id, "max_historical_days": 90, "access_valid_for_days": 90}
        reply = self.call("POST", "/api/v2/agreements/enduser/", {**body, **overrides})
        assert reply.status == 201, reply.body
        agreement: dict[str, Any] = reply.body
        return agreement

    def requisition(self, institution_id: str = DEMO_BANK, **agreement: Any) -> dict[str, Any]:
        self.made += 1
        body = {
            "redirect": CALLBACK,
            "institution_id": institution_id,
            "reference": f"ref-{self.made}",
            "agreement": self.agreement(institution_id, **agreement)["id"],
            "user_language": "EN",
        }
        reply = self.call("POST", "/api/v2/requisitions/", body)
        assert reply.status == 201, reply.body
        requisition: dict[str, Any] = reply.body
        return requisition

    def linked_accounts(self, institution_id: str = DEMO_BANK, **agreement: Any) -> list[str]:
        requisition = self.requisition(institution_id, **agreement)
        assert self.call("GET", f"/consent/{requisition['id']}/approve").status == 302
        accounts: list[str] = self.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["accounts"]
        return accounts

    def transactions(self, account_id: str, **query: str) -> Reply:
        return self.call("GET", f"/api/v2/accounts/{account_id}/transactions/", query=query)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> Client:
    api = Client(GoCardlessSandbox(clock=clock))
    api.login()
    return api


def rate_headers(reply: Reply) -> dict[str, str]:
    return {name: value for name, value in reply.headers.items() if name.startswith("HTTP_X_RATELIMIT")}


# --------------------------------------------------------------------------- tokens


def test_token_pair_has_the_documented_lifetimes(client: Client) -> None:
    reply = client.call("POST", "/api/v2/token/new/", CREDENTIALS)

    assert reply.status == 200
    assert set(reply.body) == {"access", "access_expires", "refresh", "refresh_expires"}
    assert (reply.body["access_expires"], reply.body["refresh_expires"]) == (86_400, 2_592_000)


def test_wrong_credentials_get_the_documented_401(client: Client) -> None:
    reply = client.call("POST", "/api/v2/token/new/", {"secret_id": "x", "secret_key": "y"})

    assert reply.status == 401
    assert reply.body == {
        "summary": "Authentication failed",
        "detail": "No active account found with the given credentials",
        "status_code": 401,
    }
    missing = client.call("POST", "/api/v2/token/new/", {"secret_id": "x"})
    assert missing.status == 400
    assert missing.body["secret_key"]["summary"] == "This field is required."


def test_access_token_expires_per_clock_and_refresh_renews_it(client: Client, clock: Clock) -> None:
    pair = client.call("POST", "/api/v2/token/new/", CREDENTIALS).body
    client.token = pair["access"]
    assert client.call("GET", "/api/v2/institutions/").status == 200

    clock.advance(seconds=86_400)
    expired = client.call("GET", "/api/v2/institutions/")
    assert expired.status == 401
    assert expired.body == {
        "summary": "Invalid token",
        "detail": "Token is invalid or expired",
        "status_code": 401,
    }

    refreshed = client.call("POST", "/api/v2/token/refresh/", {"refresh": pair["refresh"]})
    assert refreshed.status == 200
    assert set(refreshed.body) == {"access", "access_expires"}
    client.token = refreshed.body["access"]
    assert client.call("GET", "/api/v2/institutions/").status == 200

    clock.advance(days=30)
    assert client.call("POST", "/api/v2/token/refresh/", {"refresh": pair["refresh"]}).status == 401


def test_every_api_endpoint_but_the_token_ones_needs_a_bearer_token(client: Client) -> None:
    client.token = None
    assert client.call("GET", "/api/v2/institutions/").status == 401
    assert client.call("GET", f"/api/v2/requisitions/{uuid.uuid4()}/").status == 401
    client.token = "not-a-token"
    assert client.call("GET", "/api/v2/institutions/").body["summary"] == "Invalid token"


# --------------------------------------------------------------------------- institutions


def test_institutions_by_country_with_string_day_counts_and_look_alikes(client: Client) -> None:
    reply = client.call("GET", "/api/v2/institutions/", query={"country": "gb"})

    assert reply.status == 200
    banks = {bank["name"]: bank for bank in reply.body}
    look_alikes = [name for name in banks if name.lower().startswith("northw")]
    assert sorted(look_alikes) == ["Northwind Bank", "Northwind Bank Business", "Northwynd Building Society"]
    assert len({banks[name]["id"] for name in look_alikes}) == 3
    assert len({banks[name]["bic"] for name in look_alikes}) == 3
    demo = banks["Demo Bank"]
    assert set(demo) == {
        "id",
        "name",
        "bic",
        "transaction_total_days",
        "max_access_valid_for_days",
        "countries",
        "logo",
    }
    assert demo["transaction_total_days"] == "730"
    assert demo["max_access_valid_for_days"] == "180"
    assert all("GB" in bank["countries"] for bank in reply.body)


def test_other_countries_and_single_institution(client: Client) -> None:
    french = [
        bank["name"] for bank in client.call("GET", "/api/v2/institutions/", query={"country": "FR"}).body
    ]
    german = [
        bank["name"] for bank in client.call("GET", "/api/v2/institutions/", query={"country": "de"}).body
    ]

    assert "Banque Démo" in french and "Demo Bank" not in french
    assert "Beispiel Sparkasse" in german and "Eurobank Digital" in german
    one = client.call("GET", f"/api/v2/institutions/{DEMO_BANK}/")
    assert one.status == 200 and one.body["name"] == "Demo Bank"
    assert client.call("GET", "/api/v2/institutions/NOPE_NOPE/").status == 404
    assert client.call("GET", "/api/v2/institutions/", query={"country": "gbr"}).status == 400


# --------------------------------------------------------------------------- agreements


def test_agreement_is_created_unaccepted(client: Client, clock: Clock) -> None:
    agreement = client.agreement(
        max_historical_days=730, access_valid_for_days=180, access_scope=["transactions"]
    )

    assert uuid.UUID(agreement["id"])
    assert agreement == {
        "id": agreement["id"],
        "created": "2026-03-10T09:30:00.000000Z",
        "institution_id": DEMO_BANK,
        "max_historical_days": 730,
        "access_valid_for_days": 180,
        "access_scope": ["transactions"],
        "accepted": None,
    }
    assert client.call("GET", f"/api/v2/agreements/enduser/{agreement['id']}/").body == agreement


def test_agreement_validation_errors_are_field_level(client: Client) -> None:
    reply = client.call(
        "POST",
        "/api/v2/agreements/enduser/",
        {
            "institution_id": NO_IDS_BANK,
            "max_historical_days": 91,
            "access_valid_for_days": 200,
            "access_scope": ["balances", "everything"],
        },
    )

    assert reply.status == 400
    assert reply.body["status_code"] == 400
    assert reply.body["max_historical_days"] == {
        "summary": "Incorrect max_historical_days",
        "detail": f"max_historical_days must be > 0 and <= {NO_IDS_BANK} transaction_total_days (90)",
    }
    assert reply.body["access_valid_for_days"]["detail"] == "access_valid_for_days must be > 0 and <= 90"
    assert "balances" in reply.body["access_scope"]["detail"]
    unknown = client.call("POST", "/api/v2/agreements/enduser/", {"institution_id": "NOPE"})
    assert unknown.body["institution_id"]["summary"] == "Unknown Institution ID NOPE"
    missing = client.call("POST", "/api/v2/agreements/enduser/", {})
    assert missing.body["institution_id"]["summary"] == "This field is required."


def test_agreement_lookup_and_deletion_rules(client: Client) -> None:
    agreement = client.agreement()
    assert client.call("GET", "/api/v2/agreements/enduser/not-a-uuid/").body["summary"] == (
        "Invalid EndUserAgreement ID"
    )
    assert client.call("GET", f"/api/v2/agreements/enduser/{uuid.uuid4()}/").status == 404

    deleted = client.call("DELETE", f"/api/v2/agreements/enduser/{agreement['id']}/")
    assert deleted.status == 200
    assert deleted.body["summary"] == "End User Agreement deleted"
    assert client.call("GET", f"/api/v2/agreements/enduser/{agreement['id']}/").status == 404

    requisition = client.requisition()
    client.call("GET", f"/consent/{requisition['id']}/approve")
    accepted = client.call("DELETE", f"/api/v2/agreements/enduser/{requisition['agreement']}/")
    assert accepted.status == 400
    assert accepted.body["summary"] == "Cannot delete End User Agreement"


# --------------------------------------------------------------------------- requisitions and consent


def test_requisition_is_created_with_a_consent_link_on_the_mount(client: Client) -> None:
    requisition = client.requisition()

    assert requisition["status"] == "CR"
    assert requisition["accounts"] == []
    assert requisition["link"] == f"http://{HOST}/sandbox/gocardless/consent/{requisition['id']}"
    assert set(requisition) == {
        "id",
        "created",
        "redirect",
        "status",
        "institution_id",
        "agreement",
        "reference",
        "accounts",
        "user_language",
        "link",
        "ssn",
        "account_selection",
        "redirect_immediate",
    }


def test_public_base_url_overrides_the_host(clock: Clock) -> None:
    api = Client(GoCardlessSandbox(clock=clock, public_base_url="https://demo.example/gc/"))
    api.login()

    assert api.requisition()["link"].startswith("https://demo.example/gc/consent/")


def test_approve_links_accounts_accepts_the_agreement_and_redirects_with_ref(client: Client) -> None:
    requisition = client.requisition()
    page = client.call("GET", f"/consent/{requisition['id']}")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"Demo Bank" in page.raw and b"Approve" in page.raw and b"Reject" in page.raw
    assert client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["status"] == "UA"

    approved = client.call("GET", f"/consent/{requisition['id']}/approve")

    assert approved.status == 302
    assert approved.headers["Location"] == f"{CALLBACK}?ref={requisition['reference']}"
    linked = client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body
    assert linked["status"] == "LN"
    assert len(linked["accounts"]) == 2
    agreement = client.call("GET", f"/api/v2/agreements/enduser/{requisition['agreement']}/").body
    assert agreement["accepted"] == "2026-03-10T09:30:00.000000Z"
    account = client.call("GET", f"/api/v2/accounts/{linked['accounts'][0]}/").body
    assert account["status"] == "READY" and account["institution_id"] == DEMO_BANK
    assert account["iban"].startswith("GB")
    assert (
        client.call("GET", f"/consent/{requisition['id']}/approve").body["summary"] == "RequisitionLinkReused"
    )


def test_reject_redirects_with_the_gocardless_error_params(client: Client) -> None:
    requisition = client.requisition()

    rejected = client.call("GET", f"/consent/{requisition['id']}/reject")

    assert rejected.status == 302
    location = urlsplit(rejected.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    assert parse_qs(location.query) == {
        "ref": [requisition["reference"]],
        "error": ["UserCancelledSession"],
        "details": ["User cancelled the session."],
    }
    assert client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["status"] == "RJ"


def test_leave_pending_keeps_the_requisition_unlinked_without_redirect(client: Client) -> None:
    requisition = client.requisition()

    pending = client.call("GET", f"/consent/{requisition['id']}/pending")

    assert pending.status == 200 and "Location" not in pending.headers
    assert client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["status"] == "UA"
    assert client.call("GET", f"/consent/{requisition['id']}/approve").status == 302


def test_consent_is_impossible_once_the_agreement_is_deleted(client: Client) -> None:
    requisition = client.requisition()
    client.call("DELETE", f"/api/v2/agreements/enduser/{requisition['agreement']}/")

    assert client.call("GET", f"/consent/{requisition['id']}/approve").status == 404


def test_a_bank_without_accounts_links_none(client: Client) -> None:
    assert client.linked_accounts(EMPTY_BANK) == []


def test_requisition_validation_errors(client: Client) -> None:
    first = client.requisition()
    body = {"redirect": CALLBACK, "institution_id": DEMO_BANK, "agreement": client.agreement()["id"]}

    duplicate = client.call("POST", "/api/v2/requisitions/", {**body, "reference": first["reference"]})
    assert duplicate.status == 400
    assert duplicate.body["reference"]["summary"] == "Client reference must be unique"
    mismatch = client.call("POST", "/api/v2/requisitions/", {**body, "institution_id": NO_IDS_BANK})
    assert mismatch.body["institution_id"]["summary"] == f"Incorrect Institution ID {NO_IDS_BANK}"
    unknown = client.call("POST", "/api/v2/requisitions/", {**body, "agreement": str(uuid.uuid4())})
    assert unknown.status == 400 and unknown.body["summary"] == "Invalid EUA"
    bad_redirect = client.call("POST", "/api/v2/requisitions/", {**body, "redirect": "not a url"})
    assert bad_redirect.body["redirect"]["summary"] == "Invalid redirect URI"


def test_deleting_a_requisition_removes_its_agreement_and_access(client: Client) -> None:
    requisition = client.requisition()
    client.call("GET", f"/consent/{requisition['id']}/approve")
    account_id = client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["accounts"][0]

    deleted = client.call("DELETE", f"/api/v2/requisitions/{requisition['id']}/")

    assert deleted.status == 200 and deleted.body["summary"] == "Requisition deleted"
    assert client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").status == 404
    assert client.call("GET", f"/api/v2/agreements/enduser/{requisition['agreement']}/").status == 404
    refused = client.call("GET", f"/api/v2/accounts/{account_id}/details/")
    assert refused.status == 403 and refused.body["summary"] == "No valid End User Agreement"


# --------------------------------------------------------------------------- account data


def test_details_and_balances_shapes(client: Client) -> None:
    account_id = client.linked_accounts()[0]

    details = client.call("GET", f"/api/v2/accounts/{account_id}/details/").body["account"]
    assert set(details) == {
        "resourceId",
        "iban",
        "currency",
        "ownerName",
        "name",
        "product",
        "cashAccountType",
    }
    assert details["currency"] == "GBP"
    balances = client.call("GET", f"/api/v2/accounts/{account_id}/balances/").body["balances"]
    assert [b["balanceType"] for b in balances] == ["closingBooked", "interimAvailable"]
    assert all(isinstance(b["balanceAmount"]["amount"], str) for b in balances)
    pending = client.transactions(account_id).body["transactions"]["pending"]
    pending_total = sum((Decimal(tx["transactionAmount"]["amount"]) for tx in pending), Decimal(0))
    booked, available = (Decimal(b["balanceAmount"]["amount"]) for b in balances)
    assert available == booked + pending_total


def test_transactions_are_deterministic_windowed_and_decimal_strings(client: Client, clock: Clock) -> None:
    account_id = client.linked_accounts(max_historical_days=730)[0]
    window = {"date_from": "2025-12-01", "date_to": "2026-01-31"}

    first = client.transactions(account_id, **window)
    again = client.transactions(account_id, **window)
    other = Client(GoCardlessSandbox(clock=clock))
    other.login()
    elsewhere = other.transactions(other.linked_accounts(max_historical_days=730)[0], **window)

    assert first.status == 200
    assert first.raw == again.raw == elsewhere.raw
    booked = json.loads(first.raw, parse_float=Decimal)["transactions"]["booked"]
    assert booked and {tx["bookingDate"] for tx in booked} <= {
        (date(2025, 12, 1) + timedelta(days=n)).isoformat() for n in range(62)
    }
    for tx in booked:
        amount = tx["transactionAmount"]["amount"]
        assert isinstance(amount, str) and Decimal(amount).as_tuple().exponent == -2
        assert tx["transactionId"] and tx["internalTransactionId"]
        assert ("creditorName" in tx) != ("debtorName" in tx)
    assert "Café Münster \u2013 €".encode() in client.transactions(account_id, date_from="2025-06-01").raw


def test_window_is_clamped_to_the_agreement_history(client: Client) -> None:
    account_id = client.linked_accounts(max_historical_days=30)[0]

    booked = client.transactions(account_id, date_from="2025-01-01").body["transactions"]["booked"]

    assert min(tx["bookingDate"] for tx in booked) >= (TODAY - timedelta(days=30)).isoformat()


def test_bad_date_windows_are_rejected_without_spending_the_quota(client: Client) -> None:
    account_id = client.linked_accounts()[0]

    inverted = client.transactions(account_id, date_from="2026-03-01", date_to="2026-02-01")
    malformed = client.transactions(account_id, date_from="01/02/2026")

    assert inverted.status == 400
    assert inverted.body["date_from"]["summary"] == "Incorrect date range"
    assert inverted.body["date_to"]["status_code"] == 400
    assert malformed.status == 400 and "date_from" in malformed.body
    good = client.transactions(account_id)
    assert good.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING"] == "3"


def test_one_bank_gives_no_transaction_ids(client: Client) -> None:
    account_id = client.linked_accounts(NO_IDS_BANK)[0]

    booked = client.transactions(account_id).body["transactions"]["booked"]

    assert booked
    assert all("transactionId" not in tx and tx["internalTransactionId"] for tx in booked)


def test_a_pending_transaction_is_booked_after_the_booking_lag(client: Client, clock: Clock) -> None:
    account_id = client.linked_accounts()[0]
    day_before = (TODAY - timedelta(days=BOOKING_LAG_DAYS)).isoformat()
    today_view = client.transactions(account_id).body["transactions"]
    pending = [tx for tx in today_view["pending"] if tx["valueDate"] == day_before]
    assert pending, "every day has a line, pending until its booking day is over"
    assert all("bookingDate" not in tx and "transactionId" not in tx for tx in pending)
    assert not {tx["internalTransactionId"] for tx in pending} & {
        tx["internalTransactionId"] for tx in today_view["booked"]
    }

    clock.advance(days=1)
    client.login()
    tomorrow_view = client.transactions(account_id).body["transactions"]

    booked = {tx["internalTransactionId"]: tx for tx in tomorrow_view["booked"]}
    for tx in pending:
        assert booked[tx["internalTransactionId"]]["bookingDate"] == TODAY.isoformat()
        assert booked[tx["internalTransactionId"]]["transactionAmount"] == tx["transactionAmount"]
    assert not {tx["internalTransactionId"] for tx in pending} & {
        tx["internalTransactionId"] for tx in tomorrow_view["pending"]
    }


# --------------------------------------------------------------------------- limits and expiry


def test_daily_account_limit_is_per_endpoint_and_resets_at_utc_midnight(client: Client, clock: Clock) -> None:
    account_id = client.linked_accounts()[0]
    path = f"/api/v2/accounts/{account_id}/details/"

    remaining = [
        client.call("GET", path).headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING"] for _ in range(4)
    ]
    refused = client.call("GET", path)

    assert remaining == ["3", "2", "1", "0"]
    assert refused.status == 429
    assert refused.body == {
        "summary": "Rate limit exceeded",
        "detail": "The rate limit for this resource is 4/day. Please try again in 52200 seconds",
        "status_code": 429,
    }
    assert rate_headers(refused) == {
        "HTTP_X_RATELIMIT_LIMIT": "100",
        "HTTP_X_RATELIMIT_REMAINING": "95",
        "HTTP_X_RATELIMIT_RESET": "60",
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT": "4",
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": "0",
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": "52200",
    }
    assert client.call("GET", f"/api/v2/accounts/{account_id}/balances/").status == 200
    clock.advance(seconds=52_200)
    assert client.call("GET", path).status == 200


def test_company_wide_accounts_limit_per_minute(client: Client, clock: Clock) -> None:
    path = f"/api/v2/accounts/{client.linked_accounts()[0]}/"

    replies = [client.call("GET", path) for _ in range(101)]

    assert [reply.status for reply in replies[:100]] == [200] * 100
    assert replies[100].status == 429
    assert replies[100].body["detail"].startswith("The rate limit for this resource is 100/minute.")
    clock.advance(minutes=1)
    assert client.call("GET", path).status == 200


def test_expired_agreement_answers_with_the_eua_expired_body(client: Client, clock: Clock) -> None:
    requisition = client.requisition(access_valid_for_days=30)
    client.call("GET", f"/consent/{requisition['id']}/approve")
    account_id = client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["accounts"][0]
    assert client.transactions(account_id).status == 200

    clock.advance(days=30)
    client.login()
    expired = client.transactions(account_id)

    assert expired.status == 401
    assert expired.body == {
        "summary": f"End User Agreement (EUA) {requisition['agreement']} has expired",
        "detail": "EUA was valid for 30 days and it expired at 2026-04-09 09:30:00+00:00. "
        "The end user must connect the account once more with new EUA and Requisition",
        "status_code": 401,
    }
    assert client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["status"] == "EX"
    assert client.call("GET", f"/api/v2/accounts/{account_id}/").body["status"] == "EXPIRED"


def test_an_agreement_can_be_force_expired(client: Client) -> None:
    requisition = client.requisition()
    client.call("GET", f"/consent/{requisition['id']}/approve")
    account_id = client.call("GET", f"/api/v2/requisitions/{requisition['id']}/").body["accounts"][0]

    forced = client.call("POST", f"/_control/agreements/{requisition['agreement']}/expire")

    assert forced.status == 200
    assert client.call("GET", f"/api/v2/accounts/{account_id}/balances/").status == 401
    assert client.call("POST", f"/_control/agreements/{uuid.uuid4()}/expire").status == 404


# --------------------------------------------------------------------------- failures on demand and control


def test_failures_on_demand_hit_the_next_n_matching_calls(client: Client) -> None:
    account_id = client.linked_accounts()[0]
    rule = {"path_prefix": "/api/v2/accounts/", "status": 503, "times": 2}
    assert client.call("POST", "/_control/failures", rule).status == 201

    first, second = (client.call("GET", f"/api/v2/accounts/{account_id}/details/") for _ in range(2))

    assert first.status == second.status == 503
    assert first.body == {
        "summary": "Couldn't update account details",
        "detail": "Institution service unavailable",
        "type": "ServiceError",
        "status_code": 503,
    }
    assert client.call("GET", "/api/v2/institutions/").status == 200
    assert client.call("GET", f"/api/v2/accounts/{account_id}/details/").status == 200


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(401, "AccessExpiredError"), (429, "RateLimitError"), (500, "UnknownRequestError")],
)
def test_injected_failures_are_typed_like_the_institution_errors(
    client: Client, status: int, error_type: str
) -> None:
    account_id = client.linked_accounts()[0]
    client.call(
        "POST", "/_control/failures", {"path_prefix": "/api/v2/accounts/", "status": status, "times": 1}
    )

    failed = client.transactions(account_id)

    assert failed.status == status
    assert failed.body["type"] == error_type
    if status == 429:
        assert failed.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING"] == "0"
        assert failed.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET"] == "52200"


def test_injected_failure_can_be_delayed(client: Client) -> None:
    rule = {"path_prefix": "/api/v2/institutions/", "status": 500, "times": 1, "delay_seconds": 0.05}
    client.call("POST", "/_control/failures", rule)

    started = time.monotonic()
    reply = client.call("GET", "/api/v2/institutions/")

    assert reply.status == 500 and time.monotonic() - started >= 0.05


def test_invalid_failure_rules_are_refused(client: Client) -> None:
    for rule in (
        {"path_prefix": "api", "status": 500, "times": 1},
        {"path_prefix": "/api/", "status": 418, "times": 1},
        {"path_prefix": "/api/", "status": 500, "times": 0},
        {"path_prefix": "/api/", "status": 500, "times": 1, "delay_seconds": -1},
    ):
        assert client.call("POST", "/_control/failures", rule).status == 400


def test_state_and_reset(client: Client) -> None:
    requisition = client.requisition()
    client.call("POST", "/_control/failures", {"path_prefix": "/api/", "status": 500, "times": 3})

    state = client.call("GET", "/_control/state").body
    assert [r["id"] for r in state["requisitions"]] == [requisition["id"]]
    assert state["failures"] == [{"path_prefix": "/api/", "status": 500, "times": 3, "delay_seconds": 0.0}]

    assert client.call("POST", "/_control/reset").status == 200
    assert client.call("GET", "/api/v2/institutions/").status == 401
    client.login()
    assert client.requisition()["id"] == requisition["id"]


def test_unknown_paths_methods_and_bodies(client: Client) -> None:
    assert client.call("GET", "/api/v2/nothing/").body == {
        "summary": "Not found.",
        "detail": "Not found.",
        "status_code": 404,
    }
    assert client.call("GET", "/api/v2/institutions").status == 404
    assert client.call("PUT", "/api/v2/institutions/").status == 405
    malformed = client.call("POST", "/api/v2/agreements/enduser/", raw=b"{not json")
    assert malformed.status == 400 and malformed.body["summary"] == "JSON parse error"
    assert client.call("POST", "/api/v2/agreements/enduser/", [1, 2]).status == 400


# --------------------------------------------------------------------------- concurrency


def test_concurrent_calls_keep_state_consistent(client: Client) -> None:
    account_id = client.linked_accounts()[0]
    body = {"redirect": CALLBACK, "institution_id": DEMO_BANK}

    start = threading.Barrier(8, timeout=10)

    def create(n: int) -> int:
        start.wait()
        reference = "contested" if n % 2 else f"unique-{n}"
        return client.call("POST", "/api/v2/requisitions/", {**body, "reference": reference}).status

    def fetch(_: int) -> int:
        start.wait()
        return client.call("GET", f"/api/v2/accounts/{account_id}/details/").status

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = Counter(pool.map(create, range(16)))
        fetched = Counter(pool.map(fetch, range(16)))

    assert created == {201: 9, 400: 7}
    assert fetched == {200: 4, 429: 12}
    requisitions = client.call("GET", "/_control/state").body["requisitions"]
    assert len({r["id"] for r in requisitions}) == len(requisitions) == 10
