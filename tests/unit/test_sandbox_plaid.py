"""The Plaid sandbox speaks the real API's shapes, signs its webhooks as Plaid does, and is
deterministic."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from local.sandbox.plaid import SANDBOX_CLIENT_ID, SANDBOX_SECRET, PlaidSandbox

START = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
HOST = "127.0.0.1:8000"
HOOK = "http://127.0.0.1:8000/webhooks/plaid"
US_BANK = "ins_109508"
UK_BANK = "ins_900004"
EMPTY_BANK = "ins_900003"
CREDENTIALS = {"client_id": SANDBOX_CLIENT_ID, "secret": SANDBOX_SECRET}
LINK_REQUEST = {
    "client_name": "Client Data Sharing",
    "language": "en",
    "country_codes": ["US"],
    "user": {"client_user_id": "customer-1"},
    "products": ["transactions"],
}


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Delivered:
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.body)
        return payload


@dataclass
class Recorder:
    delivered: list[Delivered] = field(default_factory=list)

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> None:
        self.delivered.append(Delivered(url, headers, body))

    def codes(self) -> list[str]:
        return [webhook.payload["webhook_code"] for webhook in self.delivered]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw, parse_float=Decimal)


@dataclass
class Synced:
    added: list[dict[str, Any]]
    modified: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    cursor: str
    pages: int


@dataclass
class Client:
    sandbox: PlaidSandbox

    def call(self, path: str, body: dict[str, Any] | None = None, *, raw: bytes | None = None) -> Reply:
        payload = raw if raw is not None else json.dumps({**CREDENTIALS, **(body or {})}).encode()
        headers = {"Host": HOST, "Content-Type": "application/json"}
        return Reply(*self.sandbox.handle("POST", path, {}, headers, payload))

    def ok(self, path: str, body: dict[str, Any] | None = None) -> Any:
        reply = self.call(path, body)
        assert reply.status == 200, reply.body
        return reply.body

    def get(self, path: str, **query: str) -> Reply:
        params = {name: [value] for name, value in query.items()}
        return Reply(*self.sandbox.handle("GET", path, params, {"Host": HOST}, b""))

    def connect(self, institution_id: str = US_BANK, *, days: int = 90, webhook: str | None = HOOK) -> str:
        """A sandbox Item, exchanged: its access token."""
        options: dict[str, Any] = {"transactions": {"days_requested": days}}
        if webhook:
            options["webhook"] = webhook
        public = self.ok(
            "/sandbox/public_token/create",
            {"institution_id": institution_id, "initial_products": ["transactions"], "options": options},
        )["public_token"]
        access_token: str = self.ok("/item/public_token/exchange", {"public_token": public})["access_token"]
        return access_token

    def sync(self, access_token: str, cursor: str = "", count: int = 100) -> Synced:
        """Every page from `cursor` until `has_more` is false."""
        synced = Synced([], [], [], cursor, 0)
        while True:
            page = self.ok(
                "/transactions/sync", {"access_token": access_token, "cursor": synced.cursor, "count": count}
            )
            synced.added += page["added"]
            synced.modified += page["modified"]
            synced.removed += page["removed"]
            synced.cursor = page["next_cursor"]
            synced.pages += 1
            if not page["has_more"]:
                return synced

    def fail(self, rule: dict[str, Any]) -> Reply:
        return Reply(*self.sandbox.handle("POST", "/_control/failures", {}, {}, json.dumps(rule).encode()))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def webhooks() -> Recorder:
    return Recorder()


@pytest.fixture
def client(clock: Clock, webhooks: Recorder) -> Client:
    return Client(PlaidSandbox(clock=clock, deliver_webhook=webhooks))


def verified_payload(client: Client, webhook: Delivered, clock: Clock) -> dict[str, Any]:
    """Verify a webhook as Plaid documents it: ES256 only, key by kid, iat fresh, body hash."""
    token = webhook.headers["Plaid-Verification"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    key = client.ok("/webhook_verification_key/get", {"key_id": header["kid"]})["key"]
    assert key["expired_at"] is None
    claims = jwt.decode(token, jwt.PyJWK(key), algorithms=["ES256"], options={"verify_iat": False})
    assert 0 <= clock.now.timestamp() - claims["iat"] <= 300
    assert hmac.compare_digest(hashlib.sha256(webhook.body).hexdigest(), claims["request_body_sha256"])
    return webhook.payload


# --------------------------------------------------------------------------- the whole journey


def test_link_token_public_token_exchange_accounts_and_paged_sync(client: Client, clock: Clock) -> None:
    link = client.ok("/link/token/create", {**LINK_REQUEST, "webhook": HOOK})
    assert link["link_token"].startswith("link-sandbox-")
    assert link["expiration"] == "2026-03-10T13:30:00Z"

    access_token = client.connect(days=730)
    assert access_token.startswith("access-sandbox-")

    accounts = client.ok("/accounts/get", {"access_token": access_token})["accounts"]
    assert [(a["type"], a["subtype"], a["name"]) for a in accounts] == [
        ("depository", "checking", "Everyday Checking"),
        ("depository", "savings", "Instant Saver"),
    ]
    balances = accounts[0]["balances"]
    assert isinstance(balances["current"], Decimal) and balances["iso_currency_code"] == "USD"
    assert balances["available"] <= balances["current"]
    assert len(accounts[0]["mask"]) == 4 and len(accounts[0]["account_id"]) == 37

    first = client.ok("/transactions/sync", {"access_token": access_token, "count": 100})
    assert first["has_more"] is True and len(first["added"]) == 100
    assert first["transactions_update_status"] == "HISTORICAL_UPDATE_COMPLETE"

    synced = client.sync(access_token)
    assert synced.pages > 10 and not synced.modified and not synced.removed
    ids = [tx["transaction_id"] for tx in synced.added]
    assert len(ids) == len(set(ids))
    authorized = sorted(tx["authorized_date"] for tx in synced.added)
    assert "2024-03-10" <= authorized[0] <= "2024-03-12" and authorized[-1] == "2026-03-09"
    assert any(tx["pending"] for tx in synced.added)
    assert {tx["merchant_name"] for tx in synced.added} >= {
        "Café Münster",
        "Bäckerei Müller",
        "Zoë's Pizzeria 🍕",
    }

    again = client.sync(access_token, synced.cursor)
    assert (again.added, again.modified, again.removed, again.cursor) == ([], [], [], synced.cursor)


def test_a_pending_transaction_posts_as_removed_plus_added_with_its_pending_id(
    client: Client, clock: Clock
) -> None:
    access_token = client.connect()
    synced = client.sync(access_token)
    seen_pending = {tx["transaction_id"] for tx in synced.added if tx["pending"]}
    posted: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []

    for _ in range(3):
        clock.advance(days=1)
        later = client.sync(access_token, synced.cursor)
        yesterday = (clock.now.date() - timedelta(days=1)).isoformat()
        new += [tx for tx in later.added if not tx["pending_transaction_id"]]
        assert all(
            tx["authorized_date"] == yesterday for tx in later.added if not tx["pending_transaction_id"]
        )
        removed = {tx["transaction_id"] for tx in later.removed}
        for tx in later.added:
            if tx["pending_transaction_id"] in seen_pending:
                assert tx["pending"] is False and tx["pending_transaction_id"] in removed
                posted.append(tx)
        seen_pending |= {tx["transaction_id"] for tx in later.added if tx["pending"]}
        assert removed <= seen_pending
        synced = later

    assert new and posted, "three days bring new transactions and post at least one pending payment"
    assert posted[0]["date"] > posted[0]["authorized_date"]


def test_a_two_day_pending_payment_is_enriched_on_its_second_day(client: Client, clock: Clock) -> None:
    access_token = client.connect()
    cursor = client.sync(access_token).cursor
    modified: list[dict[str, Any]] = []
    for _ in range(5):
        clock.advance(days=1)
        later = client.sync(access_token, cursor)
        modified += later.modified
        cursor = later.cursor

    assert modified
    assert all(tx["pending"] and tx["merchant_name"] for tx in modified)


def test_numbers_are_json_numbers_and_never_floats_on_the_wire(client: Client) -> None:
    access_token = client.connect()
    raw = client.call("/transactions/sync", {"access_token": access_token, "count": 5}).raw.decode()

    assert '"amount": "' not in raw
    amounts = [tx["amount"] for tx in json.loads(raw, parse_float=Decimal)["added"]]
    assert all(isinstance(amount, Decimal | int) for amount in amounts)
    assert all(Decimal(amount) == Decimal(amount).quantize(Decimal("0.01")) for amount in amounts)


def test_sync_is_deterministic_across_sandboxes(clock: Clock) -> None:
    first, second = (Client(PlaidSandbox(clock=clock)) for _ in range(2))
    one, two = (c.sync(c.connect()) for c in (first, second))
    assert one.added == two.added and one.cursor == two.cursor


# --------------------------------------------------------------------------- webhooks


def test_item_creation_sends_a_verifiable_sync_updates_available(
    client: Client, clock: Clock, webhooks: Recorder
) -> None:
    access_token = client.connect()
    client.connect(webhook=None)

    [webhook] = webhooks.delivered
    assert webhook.url == HOOK and webhook.headers["Content-Type"] == "application/json"
    payload = verified_payload(client, webhook, clock)
    assert payload == {
        "webhook_type": "TRANSACTIONS",
        "webhook_code": "SYNC_UPDATES_AVAILABLE",
        "item_id": client.ok("/item/get", {"access_token": access_token})["item"]["item_id"],
        "initial_update_complete": True,
        "historical_update_complete": True,
        "environment": "sandbox",
    }
    assert (
        jwt.get_unverified_header(webhook.headers["Plaid-Verification"])["kid"]
        == client.sandbox.signing_key_id
    )


def test_verification_keys_current_expired_and_unknown(client: Client, clock: Clock) -> None:
    current = client.ok("/webhook_verification_key/get", {"key_id": client.sandbox.signing_key_id})["key"]
    assert set(current) == {"alg", "created_at", "crv", "expired_at", "kid", "kty", "use", "x", "y"}
    assert (current["alg"], current["crv"], current["kty"], current["use"]) == ("ES256", "P-256", "EC", "sig")
    assert current == client.sandbox.public_jwk()

    expired = client.ok("/webhook_verification_key/get", {"key_id": client.sandbox.expired_key_id})["key"]
    assert expired["expired_at"] is not None and expired["created_at"] < expired["expired_at"]
    body = b'{"webhook_type": "ITEM"}'
    token = client.sandbox.sign_body(body, key_id=client.sandbox.expired_key_id)
    claims = jwt.decode(token, jwt.PyJWK(expired), algorithms=["ES256"], options={"verify_iat": False})
    assert claims == {
        "iat": int(clock.now.timestamp()),
        "request_body_sha256": hashlib.sha256(body).hexdigest(),
    }

    unknown = client.call("/webhook_verification_key/get", {"key_id": "nope"})
    assert unknown.status == 400
    assert unknown.body["error_code"] == "INVALID_WEBHOOK_VERIFICATION_KEY_ID"


def test_the_signing_key_is_the_same_in_every_sandbox(clock: Clock) -> None:
    assert PlaidSandbox(clock=clock).public_jwk() == PlaidSandbox().public_jwk()


def test_fire_webhook_codes_and_their_effects(client: Client, clock: Clock, webhooks: Recorder) -> None:
    access_token = client.connect()
    for code in ("DEFAULT_UPDATE", "PENDING_DISCONNECT", "PENDING_EXPIRATION", "LOGIN_REPAIRED"):
        fired = client.ok("/sandbox/item/fire_webhook", {"access_token": access_token, "webhook_code": code})
        assert fired.keys() == {"webhook_fired", "request_id"} and fired["webhook_fired"] is True

    payloads = [verified_payload(client, w, clock) for w in webhooks.delivered[1:]]
    default, disconnect, expiration, repaired = payloads
    assert default["webhook_type"] == "TRANSACTIONS" and default["new_transactions"] >= 0
    assert default["error"] is None
    assert disconnect["reason"] == "INSTITUTION_TOKEN_EXPIRATION"
    assert expiration["consent_expiration_time"] == "2026-03-17T09:30:00Z"
    assert repaired == {
        "webhook_type": "ITEM",
        "webhook_code": "LOGIN_REPAIRED",
        "item_id": repaired["item_id"],
        "environment": "sandbox",
    }
    item = client.ok("/item/get", {"access_token": access_token})
    assert item["item"]["consent_expiration_time"] == "2026-03-17T09:30:00Z"
    assert item["status"]["last_webhook"] == {
        "code_sent": "LOGIN_REPAIRED",
        "sent_at": "2026-03-10T09:30:00Z",
    }


def test_fire_webhook_refusals(client: Client) -> None:
    access_token = client.connect()
    unknown = client.call(
        "/sandbox/item/fire_webhook", {"access_token": access_token, "webhook_code": "NOPE"}
    )
    wrong_type = client.call(
        "/sandbox/item/fire_webhook",
        {"access_token": access_token, "webhook_code": "ERROR", "webhook_type": "TRANSACTIONS"},
    )
    silent = client.connect(webhook=None)
    no_hook = client.call(
        "/sandbox/item/fire_webhook", {"access_token": silent, "webhook_code": "DEFAULT_UPDATE"}
    )

    assert (unknown.status, unknown.body["error_code"]) == (400, "INVALID_FIELD")
    assert (wrong_type.status, wrong_type.body["error_code"]) == (400, "INVALID_FIELD")
    assert (no_hook.body["error_type"], no_hook.body["error_code"]) == (
        "SANDBOX_ERROR",
        "SANDBOX_WEBHOOK_INVALID",
    )


def test_webhook_update_acknowledges_to_the_new_url(client: Client, clock: Clock, webhooks: Recorder) -> None:
    access_token = client.connect()
    new_url = "http://127.0.0.1:9000/webhooks/plaid"

    item = client.ok("/item/webhook/update", {"access_token": access_token, "webhook": new_url})["item"]

    assert item["webhook"] == new_url
    acknowledged = webhooks.delivered[-1]
    assert acknowledged.url == new_url
    assert verified_payload(client, acknowledged, clock)["new_webhook_url"] == new_url


def test_webhooks_are_delivered_after_the_lock_is_released(clock: Clock) -> None:
    """A receiver that calls back into the sandbox (to fetch the key) must not deadlock."""
    keys: list[dict[str, Any]] = []
    holder: dict[str, Client] = {}

    def deliver(url: str, headers: dict[str, str], body: bytes) -> None:
        kid = jwt.get_unverified_header(headers["Plaid-Verification"])["kid"]
        keys.append(holder["client"].ok("/webhook_verification_key/get", {"key_id": kid})["key"])

    holder["client"] = Client(PlaidSandbox(clock=clock, deliver_webhook=deliver))
    holder["client"].connect()
    assert len(keys) == 1


# --------------------------------------------------------------------------- item errors and update mode


def test_reset_login_puts_the_item_in_error_and_sends_item_error(
    client: Client, clock: Clock, webhooks: Recorder
) -> None:
    access_token = client.connect()

    assert client.ok("/sandbox/item/reset_login", {"access_token": access_token})["reset_login"] is True

    error = verified_payload(client, webhooks.delivered[-1], clock)
    assert (error["webhook_type"], error["webhook_code"]) == ("ITEM", "ERROR")
    assert error["error"] == {
        "causes": [],
        "display_message": None,
        "documentation_url": "https://plaid.com/docs/?ref=error#item-errors",
        "error_code": "ITEM_LOGIN_REQUIRED",
        "error_code_reason": None,
        "error_message": "the login details of this item have changed (credentials, MFA, or required user "
        "action) and a user login is required to update this information. use Link's update mode to restore "
        "the item to a good state",
        "error_type": "ITEM_ERROR",
        "status": 400,
        "suggested_action": None,
    }
    item = client.ok("/item/get", {"access_token": access_token})
    assert item["item"]["error"]["error_code"] == "ITEM_LOGIN_REQUIRED"
    assert item["status"]["transactions"]["last_successful_update"] is None
    for path in ("/transactions/sync", "/accounts/get", "/accounts/balance/get"):
        refused = client.call(path, {"access_token": access_token})
        assert (refused.status, refused.body["error_code"]) == (400, "ITEM_LOGIN_REQUIRED")


def test_update_mode_repairs_the_item_and_shares_new_accounts(client: Client, webhooks: Recorder) -> None:
    access_token = client.connect()
    cursor = client.sync(access_token).cursor
    client.ok(
        "/sandbox/item/fire_webhook", {"access_token": access_token, "webhook_code": "NEW_ACCOUNTS_AVAILABLE"}
    )
    client.ok("/sandbox/item/reset_login", {"access_token": access_token})
    assert webhooks.codes() == ["SYNC_UPDATES_AVAILABLE", "NEW_ACCOUNTS_AVAILABLE", "ERROR"]

    link = client.ok("/link/token/create", {**LINK_REQUEST, "products": None, "access_token": access_token})
    assert link["expiration"] == "2026-03-10T10:00:00Z"
    page = client.get(f"/link/{link['link_token']}")
    assert page.status == 200 and b"First Platypus Bank" in page.raw and b"Reconnect" in page.raw
    done = client.get(f"/link/{link['link_token']}/connect")
    assert done.status == 302

    accounts = client.ok("/accounts/get", {"access_token": access_token})["accounts"]
    assert [a["name"] for a in accounts] == ["Everyday Checking", "Instant Saver", "Travel Saver"]
    public_token = parse_qs(urlsplit(done.headers["Location"]).query)["public_token"][0]
    exchanged = client.ok("/item/public_token/exchange", {"public_token": public_token})
    assert exchanged["access_token"] == access_token
    new_history = client.sync(access_token, cursor)
    assert {tx["account_id"] for tx in new_history.added} == {accounts[2]["account_id"]}


def test_uk_consent_expires_after_90_days_and_update_mode_renews_it(client: Client, clock: Clock) -> None:
    access_token = client.connect(UK_BANK)
    item = client.ok("/item/get", {"access_token": access_token})["item"]
    assert item["consent_expiration_time"] == "2026-06-08T09:30:00Z"
    assert (
        client.ok("/accounts/get", {"access_token": access_token})["accounts"][0]["balances"][
            "iso_currency_code"
        ]
        == "GBP"
    )

    clock.advance(days=90)
    expired = client.call("/transactions/sync", {"access_token": access_token})
    assert expired.body["error_code"] == "ITEM_LOGIN_REQUIRED"
    assert expired.body["error_code_reason"] == "OAUTH_CONSENT_EXPIRED"

    link = client.ok(
        "/link/token/create", {**LINK_REQUEST, "country_codes": ["GB"], "access_token": access_token}
    )
    client.get(f"/link/{link['link_token']}/connect")
    renewed = client.ok("/item/get", {"access_token": access_token})["item"]
    assert renewed["consent_expiration_time"] == "2026-09-06T09:30:00Z" and renewed["error"] is None


def test_removed_items_answer_item_not_found(client: Client) -> None:
    access_token = client.connect()

    assert client.ok("/item/remove", {"access_token": access_token}).keys() == {"request_id"}

    for path in ("/item/get", "/accounts/get", "/transactions/sync", "/item/remove"):
        gone = client.call(path, {"access_token": access_token})
        assert (gone.status, gone.body["error_type"], gone.body["error_code"]) == (
            400,
            "ITEM_ERROR",
            "ITEM_NOT_FOUND",
        )
    unknown = client.call("/item/get", {"access_token": "access-sandbox-unknown"})
    assert (unknown.body["error_code"], unknown.body["error_message"]) == (
        "INVALID_ACCESS_TOKEN",
        "could not find matching access token",
    )


def test_public_tokens_are_single_use_and_expire(client: Client, clock: Clock) -> None:
    def public_token() -> str:
        token: str = client.ok(
            "/sandbox/public_token/create", {"institution_id": US_BANK, "initial_products": ["transactions"]}
        )["public_token"]
        return token

    used = public_token()
    client.ok("/item/public_token/exchange", {"public_token": used})
    stale = public_token()
    clock.advance(minutes=30)

    replayed = client.call("/item/public_token/exchange", {"public_token": used})
    expired = client.call("/item/public_token/exchange", {"public_token": stale})
    malformed = client.call("/item/public_token/exchange", {"public_token": "garbage"})
    assert replayed.body["error_message"] == "could not find matching public token"
    assert expired.body["error_message"].startswith("provided public token is expired")
    assert malformed.body["error_message"].startswith("provided public token is in an invalid format")
    assert {r.body["error_code"] for r in (replayed, expired, malformed)} == {"INVALID_PUBLIC_TOKEN"}


def test_a_bank_without_accounts_gives_an_item_with_none(client: Client) -> None:
    access_token = client.connect(EMPTY_BANK)
    assert client.ok("/accounts/get", {"access_token": access_token})["accounts"] == []
    assert client.sync(access_token).added == []


# --------------------------------------------------------------------------- sync edge cases


def test_data_changing_mid_pagination_is_a_mutation_error_and_restart_works(
    client: Client, clock: Clock
) -> None:
    access_token = client.connect(days=730)
    first = client.ok("/transactions/sync", {"access_token": access_token, "count": 100})
    clock.advance(days=1)

    second = client.call("/transactions/sync", {"access_token": access_token, "cursor": first["next_cursor"]})

    assert second.status == 400
    assert (second.body["error_type"], second.body["error_code"]) == (
        "TRANSACTIONS_ERROR",
        "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
    )
    assert second.body["error_message"] == (
        "Underlying transaction data changed since last page was fetched. "
        "Please restart pagination from last update."
    )
    assert len(client.sync(access_token).added) > 100


def test_sync_request_validation(client: Client) -> None:
    access_token = client.connect()
    for bad in ({"count": 0}, {"count": 501}, {"count": "10"}, {"cursor": "not-a-cursor"}):
        refused = client.call("/transactions/sync", {"access_token": access_token, **bad})
        assert (refused.status, refused.body["error_code"]) == (400, "INVALID_FIELD"), bad
    other = client.sync(client.connect()).cursor
    assert client.call("/transactions/sync", {"access_token": access_token, "cursor": other}).status == 400
    missing = client.call("/transactions/sync", {})
    assert missing.body["error_message"] == "the following required fields are missing: access_token"


def test_original_description_on_request(client: Client) -> None:
    access_token = client.connect()
    page = client.ok(
        "/transactions/sync",
        {"access_token": access_token, "count": 3, "options": {"include_original_description": True}},
    )
    assert all(tx["original_description"] == tx["name"] for tx in page["added"])


# --------------------------------------------------------------------------- institutions


def test_institution_search_shows_look_alikes_with_web_address_and_logo(client: Client) -> None:
    found = client.ok(
        "/institutions/search",
        {"query": "platypus", "country_codes": ["US"], "options": {"include_optional_metadata": True}},
    )["institutions"]

    assert [(i["name"], i["url"]) for i in found] == [
        ("First Platypus Bank", "https://www.firstplatypus.example"),
        ("First Platypus Bank Business", "https://business.firstplatypus.example"),
    ]
    assert base64.b64decode(found[0]["logo"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert found[0]["country_codes"] == ["US"] and "transactions" in found[0]["products"]

    plain = client.ok("/institutions/search", {"query": "banque demo", "country_codes": ["FR"]})[
        "institutions"
    ]
    assert [(i["name"], i["url"], i["logo"]) for i in plain] == [("Banque Démo", None, None)]
    assert (
        client.ok("/institutions/search", {"query": "platypus", "country_codes": ["GB"]})["institutions"]
        == []
    )


def test_institution_by_id(client: Client) -> None:
    body = {
        "institution_id": UK_BANK,
        "country_codes": ["GB"],
        "options": {"include_optional_metadata": True},
    }
    institution = client.ok("/institutions/get_by_id", body)["institution"]
    assert (institution["name"], institution["oauth"], institution["url"]) == (
        "Northwind Bank",
        True,
        "https://www.northwind.example",
    )
    for wrong in ({**body, "institution_id": "ins_0"}, {**body, "country_codes": ["US"]}):
        refused = client.call("/institutions/get_by_id", wrong)
        assert (refused.body["error_type"], refused.body["error_code"]) == (
            "INVALID_INPUT",
            "INVALID_INSTITUTION",
        )


# --------------------------------------------------------------------------- Link pages


def test_link_pages_list_institutions_and_redirect_with_a_public_token(
    client: Client, webhooks: Recorder
) -> None:
    redirect_uri = "http://127.0.0.1:8000/connections/plaid/complete?from=link"
    token = client.ok("/link/token/create", {**LINK_REQUEST, "redirect_uri": redirect_uri, "webhook": HOOK})[
        "link_token"
    ]

    page = client.get(f"/link/{token}")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"First Platipus Credit Union" in page.raw and b"Northwind" not in page.raw
    assert f"http://{HOST}/sandbox/plaid/link/{token}/cancel".encode() in page.raw

    done = client.get(f"/link/{token}/connect", institution_id="ins_900001")
    location = urlsplit(done.headers["Location"])
    params = parse_qs(location.query)
    assert done.status == 302 and location.path == "/connections/plaid/complete"
    assert (
        params["from"] == ["link"]
        and params["link_token"] == [token]
        and params["institution_id"] == ["ins_900001"]
    )
    exchanged = client.ok("/item/public_token/exchange", {"public_token": params["public_token"][0]})
    item = client.ok("/item/get", {"access_token": exchanged["access_token"]})["item"]
    assert (item["institution_id"], item["webhook"], item["item_id"]) == (
        "ins_900001",
        HOOK,
        exchanged["item_id"],
    )
    assert webhooks.codes() == ["SYNC_UPDATES_AVAILABLE"]


def test_link_without_redirect_uri_lands_on_link_complete(clock: Clock) -> None:
    client = Client(PlaidSandbox(clock=clock, public_base_url="http://localhost:8000/sandbox/plaid/"))
    token = client.ok("/link/token/create", LINK_REQUEST)["link_token"]

    done = client.get(f"/link/{token}/connect")
    cancelled = client.get(f"/link/{token}/cancel")

    location = urlsplit(done.headers["Location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == "http://localhost:8000/sandbox/plaid/link-complete"
    )
    assert parse_qs(location.query)["institution_id"] == [US_BANK]
    assert parse_qs(urlsplit(cancelled.headers["Location"]).query)["status"] == ["exited"]
    landing = client.get("/link-complete", public_token="public-sandbox-x", link_token=token)
    assert landing.status == 200 and b"public-sandbox-x" in landing.raw


def test_link_refuses_unknown_expired_and_foreign_choices(client: Client, clock: Clock) -> None:
    token = client.ok("/link/token/create", LINK_REQUEST)["link_token"]
    assert client.get(f"/link/{token}/connect", institution_id=UK_BANK).status == 400
    assert client.get("/link/link-sandbox-unknown").status == 400
    clock.advance(hours=4)
    assert client.get(f"/link/{token}").status == 400


def test_link_token_validation(client: Client) -> None:
    missing = client.call("/link/token/create", {"client_name": "x"})
    assert missing.body["error_message"] == (
        "the following required fields are missing: language, country_codes, user.client_user_id, products"
    )
    too_long = client.call("/link/token/create", {**LINK_REQUEST, "transactions": {"days_requested": 731}})
    assert too_long.body["error_code"] == "INVALID_FIELD"
    unknown_item = client.call("/link/token/create", {**LINK_REQUEST, "access_token": "access-sandbox-nope"})
    assert unknown_item.body["error_code"] == "INVALID_ACCESS_TOKEN"


# --------------------------------------------------------------------------- credentials and errors


def test_wrong_credentials_get_invalid_api_keys(client: Client) -> None:
    reply = client.call("/institutions/search", {"query": "x", "country_codes": ["US"], "secret": "wrong"})

    assert reply.status == 400
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.body == {
        "causes": [],
        "display_message": None,
        "documentation_url": "https://plaid.com/docs/?ref=error#invalid-input-errors",
        "error_code": "INVALID_API_KEYS",
        "error_code_reason": None,
        "error_message": "invalid client_id or secret provided",
        "error_type": "INVALID_INPUT",
        "request_id": reply.body["request_id"],
        "status": 400,
        "suggested_action": None,
    }
    assert len(reply.body["request_id"]) == 15


def test_credentials_in_headers_and_missing_credentials(clock: Clock) -> None:
    sandbox = PlaidSandbox(clock=clock, client_id="my-client", secret="my-secret")
    body = json.dumps({"query": "north", "country_codes": ["GB"]}).encode()
    headers = {"PLAID-CLIENT-ID": "my-client", "plaid-secret": "my-secret"}

    status, _, raw = sandbox.handle("POST", "/institutions/search", {}, headers, body)
    assert status == 200 and len(json.loads(raw)["institutions"]) == 3
    status, _, raw = sandbox.handle("POST", "/institutions/search", {}, {}, body)
    assert (status, json.loads(raw)["error_message"]) == (
        400,
        "the following required fields are missing: client_id, secret",
    )
    status, _, raw = sandbox.handle(
        "POST", "/institutions/search", {}, {"PLAID-CLIENT-ID": "my-client", "PLAID-SECRET": "x"}, body
    )
    assert json.loads(raw)["error_code"] == "INVALID_API_KEYS"


def test_unknown_paths_methods_and_bodies(client: Client) -> None:
    not_found = client.call("/nothing/here")
    assert (not_found.status, not_found.body["error_type"], not_found.body["error_code"]) == (
        404,
        "INVALID_REQUEST",
        "NOT_FOUND",
    )
    assert client.get("/accounts/get").status == 404
    malformed = client.call("/accounts/get", raw=b"{not json")
    assert (malformed.status, malformed.body["error_code"]) == (400, "INVALID_BODY")
    assert client.call("/accounts/get", raw=b"[1, 2]").body["error_code"] == "INVALID_BODY"


# --------------------------------------------------------------------------- failures on demand and control


def test_injected_rate_limit_hits_the_next_n_matching_calls(client: Client) -> None:
    access_token = client.connect()
    rule = {"path_prefix": "/transactions/sync", "error_code": "TRANSACTIONS_SYNC_LIMIT", "times": 2}
    created = client.fail(rule)
    assert created.status == 201
    assert created.body == {
        **rule,
        "error_type": "RATE_LIMIT_EXCEEDED",
        "status": 429,
        "after": 0,
        "delay_seconds": 0,
    }

    first, second = (client.call("/transactions/sync", {"access_token": access_token}) for _ in range(2))

    assert first.status == second.status == 429
    assert (
        first.body["error_message"]
        == "rate limit exceeded for attempts to access this item. please try again later"
    )
    assert client.call("/accounts/get", {"access_token": access_token}).status == 200
    assert client.call("/transactions/sync", {"access_token": access_token}).status == 200


def test_injected_mutation_after_the_first_page(client: Client) -> None:
    access_token = client.connect(days=730)
    client.fail(
        {
            "path_prefix": "/transactions/sync",
            "error_code": "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
            "times": 1,
            "after": 1,
        }
    )

    first = client.call("/transactions/sync", {"access_token": access_token})
    second = client.call(
        "/transactions/sync", {"access_token": access_token, "cursor": first.body["next_cursor"]}
    )

    assert first.status == 200 and first.body["has_more"]
    assert (second.status, second.body["error_code"]) == (400, "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
    assert client.call("/transactions/sync", {"access_token": access_token}).status == 200


@pytest.mark.parametrize(
    ("error_code", "status", "error_type"),
    [
        ("INTERNAL_SERVER_ERROR", 500, "API_ERROR"),
        ("PLANNED_MAINTENANCE", 503, "API_ERROR"),
        ("INSTITUTION_DOWN", 400, "INSTITUTION_ERROR"),
        ("ITEM_LOGIN_REQUIRED", 400, "ITEM_ERROR"),
    ],
)
def test_injected_failures_have_plaid_status_and_type(
    client: Client, error_code: str, status: int, error_type: str
) -> None:
    client.fail({"path_prefix": "/institutions/", "error_code": error_code, "status": status, "times": 1})

    failed = client.call("/institutions/search", {"query": "x", "country_codes": ["US"]})

    assert (failed.status, failed.body["error_type"], failed.body["error_code"]) == (
        status,
        error_type,
        error_code,
    )


def test_injected_failure_can_be_delayed(client: Client) -> None:
    client.fail(
        {
            "path_prefix": "/institutions/",
            "error_code": "INTERNAL_SERVER_ERROR",
            "times": 1,
            "delay_seconds": 0.05,
        }
    )

    started = time.monotonic()
    reply = client.call("/institutions/search", {"query": "x", "country_codes": ["US"]})

    assert reply.status == 500 and time.monotonic() - started >= 0.05


def test_invalid_failure_rules_are_refused(client: Client) -> None:
    valid = {"path_prefix": "/accounts/", "error_code": "ACCOUNTS_LIMIT", "times": 1}
    for rule in (
        {**valid, "path_prefix": "accounts"},
        {**valid, "error_code": "INVALID_API_KEYS"},
        {**valid, "status": 500},
        {**valid, "error_type": "API_ERROR"},
        {**valid, "times": 0},
        {**valid, "after": -1},
        {**valid, "delay_seconds": -1},
    ):
        assert client.fail(rule).status == 400, rule


def test_state_and_reset(client: Client) -> None:
    access_token = client.connect()
    client.fail({"path_prefix": "/accounts/", "error_code": "ACCOUNTS_LIMIT", "times": 3})

    state = client.get("/_control/state").body
    assert [item["access_token"] for item in state["items"]] == [access_token]
    assert state["failures"][0]["times"] == 3
    assert [w["webhook_code"] for w in state["webhooks"]] == ["SYNC_UPDATES_AVAILABLE"]
    assert state["signing_key_id"] == client.sandbox.signing_key_id

    assert client.call("/_control/reset").status == 200
    assert (
        client.call("/item/get", {"access_token": access_token}).body["error_code"] == "INVALID_ACCESS_TOKEN"
    )
    assert client.connect() == access_token


# --------------------------------------------------------------------------- concurrency


def test_concurrent_calls_keep_state_consistent(client: Client, webhooks: Recorder) -> None:
    start = threading.Barrier(8, timeout=10)

    def connect(_: int) -> str:
        start.wait()
        return client.connect()

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(connect, range(16)))
        syncs = list(pool.map(lambda token: len(client.sync(token).added), tokens))

    assert len(set(tokens)) == 16
    assert len(webhooks.delivered) == 16
    assert Counter(syncs).total() == 16 and min(syncs) > 0
    assert len(client.get("/_control/state").body["items"]) == 16


def test_the_stand_in_for_links_script_is_served_where_plaids_cdn_has_it(client: Client) -> None:
    """Plaid's path (/link/v2/stable/link-initialize.js) answers the stand-in, with Plaid's JS interface
    (`Plaid.create({token, onSuccess, onExit})` with open/exit/destroy), never taken for a link token."""
    script = client.get("/link/v2/stable/link-initialize.js")
    assert script.status == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    text = script.raw.decode()
    assert "window.Plaid = { create: create }" in text
    assert all(f"{name}:" in text for name in ("open", "exit", "destroy"))
    assert "config.onSuccess" in text and "config.onExit" in text
    assert "/link-complete" in text  # where the sandbox's Link lands: public_token or status=exited
    assert client.get("/link/v2/stable/other.js").status == 404
