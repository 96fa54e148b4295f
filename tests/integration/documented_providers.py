"""GoCardless and Plaid as their documentation describes them, not as our sandboxes behave:
scripted HTTP answers (tests/fixtures/aggregator) behind the real adapters, wired into the real
services on moto. A test scripts what the provider says and counts what it was asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.gocardless import GoCardlessAdapter
from shared.adapters.aggregator.plaid import PlaidAdapter, SyncLimits
from shared.clock import CLOCK
from shared.domain.aggregator import AggregatorProvider
from shared.domain.jobs import ImportJob, ImportReason
from shared.services.imports import ImportReport, import_connection
from tests.fixtures.aggregator import documented as doc
from tests.fixtures.aggregator.fake_api import FakeApi, reply
from tests.integration.onboarding_support import (
    ADMIN,
    INVITEE,
    call,
    invitation_tokens,
    seed_firms,
    take_first_imports,
)

GC_BASE = "https://bankaccountdata.gocardless.test"
PLAID_BASE = "https://sandbox.plaid.test"
GC_PREFIX = "/api/v2/"
CREDENTIALS = {
    "gocardless_secret_id": "secret-id-0123456789",
    "gocardless_secret_key": "secret-key-0123456789",
    "plaid_client_id": "client-id-0123456789",
    "plaid_secret": "plaid-secret-0123456789",
}


def gc_path(*parts: str) -> str:
    return GC_PREFIX + "".join(f"{part}/" for part in parts)


@dataclass
class Documented:
    """The two providers' HTTP APIs (scripted) and the adapters that talk to them."""

    gocardless_api: FakeApi = field(default_factory=FakeApi)
    plaid_api: FakeApi = field(default_factory=FakeApi)
    plaid_page_size: int = 500

    def __post_init__(self) -> None:
        self.adapters: dict[str, AggregatorProvider] = {}
        self.rebuild()

    def rebuild(self, **options: Any) -> None:
        """Adapters as the composition root builds them (the request gate included), on our clock."""
        credentials = static_source(CREDENTIALS)
        gate = bootstrap.request_gate()
        self.adapters = {
            "gocardless": GoCardlessAdapter(
                GC_BASE,
                credentials,
                transport=self.gocardless_api.transport(),
                clock=CLOCK.now,
                sleep=lambda _: None,
                gate=gate,
                pace=bootstrap.request_pace(),
                **options,
            ),
            "plaid": PlaidAdapter(
                PLAID_BASE,
                credentials,
                transport=self.plaid_api.transport(),
                clock=CLOCK.now,
                sleep=lambda _: None,
                sync=SyncLimits(page_size=self.plaid_page_size),
                **options,
            ),
        }

    def provider(self, name: str) -> AggregatorProvider:
        return self.adapters[name]

    def gc_requests(self, account_id: str, endpoint: str) -> int:
        """Requests GoCardless received for an account's endpoint (as the provider counts them)."""
        return self.gocardless_api.calls("GET", gc_path("accounts", account_id, endpoint))


@pytest.fixture
def documented(aws, monkeypatch: pytest.MonkeyPatch) -> Documented:
    from local.provision import create_queues

    queues = create_queues()
    monkeypatch.setenv("IMPORT_QUEUE_URL", queues["imports"].url)
    monkeypatch.setenv("REFRESH_QUEUE_URL", queues["refresh"].url)
    bootstrap.reset()
    providers = Documented()
    connections = replace(bootstrap.connections(), providers=providers.provider)
    monkeypatch.setattr(bootstrap, "connections", lambda: connections)
    imports = replace(bootstrap.imports(), providers=providers.provider)
    monkeypatch.setattr(bootstrap, "imports", lambda: imports)
    return providers


# --------------------------------------------------------------------------- GoCardless scripts


def gc_account_meta(account_id: str, iban: str, status: str = "READY") -> dict[str, Any]:
    return {**doc.GC_ACCOUNT, "id": account_id, "iban": iban, "status": status}


def gc_details(iban: str, name: str = "Main Account", currency: str = "GBP") -> dict[str, Any]:
    return {"account": {**doc.GC_DETAILS["account"], "iban": iban, "name": name, "currency": currency}}


def script_gocardless(
    providers: Documented, accounts: dict[str, str], *, requisition_status: str = "LN"
) -> None:
    """A requisition linking `accounts` ({provider account id: IBAN}), with every read answered."""
    api = providers.gocardless_api
    accepted = (CLOCK.now() - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    api.on("POST", gc_path("token", "new"), reply(200, doc.gc_token()))
    api.on("GET", gc_path("institutions", doc.INSTITUTION_ID), reply(200, doc.GC_INSTITUTION))
    api.on("POST", gc_path("agreements", "enduser"), reply(201, doc.gc_agreement()))
    api.on("GET", gc_path("agreements", "enduser", doc.AGREEMENT_ID), reply(200, doc.gc_agreement(accepted)))
    api.on("POST", gc_path("requisitions"), reply(201, doc.gc_requisition("CR")))
    api.on(
        "GET",
        gc_path("requisitions", doc.REQUISITION_ID),
        reply(200, doc.gc_requisition(requisition_status, list(accounts))),
    )
    for account_id, iban in accounts.items():
        api.on("GET", gc_path("accounts", account_id), reply(200, gc_account_meta(account_id, iban)))
        api.on("GET", gc_path("accounts", account_id, "details"), reply(200, gc_details(iban)))
        api.on("GET", gc_path("accounts", account_id, "balances"), reply(200, doc.GC_BALANCES))
        api.on(
            "GET",
            gc_path("accounts", account_id, "transactions"),
            reply(200, {"transactions": {"booked": [], "pending": []}}),
        )


def gc_transactions(booked: list[dict[str, Any]], pending: list[dict[str, Any]] | None = None) -> dict:
    return {"transactions": {"booked": booked, "pending": pending or []}, "last_updated": None}


# --------------------------------------------------------------------------- Plaid scripts


def script_plaid(providers: Documented, accounts: dict[str, Any] | None = None) -> None:
    api = providers.plaid_api
    api.on(
        "POST",
        "/institutions/get_by_id",
        reply(
            200,
            {
                "institution": {
                    "institution_id": "ins_109508",
                    "name": "First Platypus Bank",
                    "country_codes": ["GB"],
                    "products": ["transactions"],
                    "url": "https://www.platypus.example",
                    "logo": None,
                },
                "request_id": "m8MDnv9okwxFNBV",
            },
        ),
    )
    api.on("POST", "/link/token/create", reply(200, {"link_token": doc.LINK_TOKEN, "expiration": None}))
    api.on(
        "POST",
        "/item/public_token/exchange",
        reply(200, {"access_token": doc.PLAID_ACCESS_TOKEN, "item_id": doc.ITEM_ID, "request_id": "r1"}),
    )
    api.on("POST", "/accounts/get", reply(200, accounts or doc.PLAID_ACCOUNTS))
    api.on("POST", "/item/get", reply(200, {"item": doc.plaid_item(), "request_id": "r2"}))


def plaid_pages(api: FakeApi, *pages: dict[str, Any]) -> None:
    """`/transactions/sync` answers these pages in order (the last one repeats)."""
    api.on("POST", "/transactions/sync", *[reply(200, page) for page in pages])


# --------------------------------------------------------------------------- the journey


@dataclass(frozen=True)
class Linked:
    customer_id: str
    connection_id: str
    account_ids: dict[str, str]  # provider account id -> our account id

    def job(self, reason: ImportReason = ImportReason.SCHEDULE) -> ImportJob:
        return ImportJob(DEMO_FIRM.firm_id, self.customer_id, self.connection_id, reason)


def invited_customer() -> str:
    seed_firms()
    _, customer = call(
        invitations, "POST", "/customers/invitations", ADMIN, body={"name": "Jane", "email": INVITEE.email}
    )
    [token] = invitation_tokens(INVITEE.email)
    call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token})
    return str(customer["customer_id"])


def connect(providers: Documented, provider: str, customer_id: str) -> str:
    """The customer connects and completes the consent; returns the connection id."""
    institution = doc.INSTITUTION_ID if provider == "gocardless" else "ins_109508"
    status, started = call(
        connections_api,
        "POST",
        "/connections",
        INVITEE,
        body={"provider": provider, "institution_id": institution},
    )
    assert status == 201, started
    connection_id = started["connection"]["connection_id"]
    if provider == "gocardless":
        reference = providers.gocardless_api.sent("POST", gc_path("requisitions"))["reference"]
        response = connections_api.lambda_handler(
            __import__("tests.conftest", fromlist=["api_event"]).api_event(
                "GET", "/callbacks/gocardless", query={"ref": reference}
            ),
            __import__("tests.conftest", fromlist=["FakeLambdaContext"]).FakeLambdaContext(),
        )
        assert response["statusCode"] == 302, response
    else:
        status, body = call(
            connections_api,
            "POST",
            "/connections/{connection_id}/complete",
            INVITEE,
            path_parameters={"connection_id": connection_id},
            body={"public_token": doc.PLAID_PUBLIC_TOKEN},
        )
        assert status == 200, body
    return str(connection_id)


def accounts_of(customer_id: str) -> dict[str, dict[str, Any]]:
    """Every account the firm sees for the customer, new or accepted, by our account id."""
    _, listed = call(
        invitations,
        "GET",
        "/customers/{customer_id}/accounts",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    return {a["account_id"]: a for section in listed.values() if isinstance(section, list) for a in section}


def review(customer_id: str, account_id: str, decision: str = "accept") -> None:
    status, body = call(
        invitations,
        "POST",
        f"/customers/{{customer_id}}/accounts/{{account_id}}/{decision}",
        ADMIN,
        path_parameters={"customer_id": customer_id, "account_id": account_id},
    )
    assert status == 200, body
    if decision == "accept":
        take_first_imports()  # its first import, queued at once (issue 16): not the test's own jobs


def link(
    providers: Documented,
    provider: str,
    *,
    decide: Callable[[dict[str, Any]], str | None] = lambda account: "accept",
) -> Linked:
    """Jane connects; the admin reviews each offered account (`decide` says accept, decline or
    nothing). Maps provider account ids to ours through the stored accounts."""
    customer_id = invited_customer()
    connection_id = connect(providers, provider, customer_id)
    offered = accounts_of(customer_id)
    for account_id, account in offered.items():
        decision = decide(account)
        if decision:
            review(customer_id, account_id, decision)
    accounts = bootstrap.imports().accounts.list_for_customer(DEMO_FIRM.firm_id, customer_id)
    return Linked(customer_id, connection_id, {a.provider_account_id: a.account_id for a in accounts})


def run_import(linked: Linked, reason: ImportReason = ImportReason.SCHEDULE) -> ImportReport:
    return import_connection(bootstrap.imports(), linked.job(reason))


def stored_lines(linked: Linked) -> list[dict[str, Any]]:
    """The customer's stored lines as the firm reads them (every page)."""
    lines: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        status, page = call(
            invitations,
            "GET",
            "/customers/{customer_id}/transactions",
            ADMIN,
            path_parameters={"customer_id": linked.customer_id},
            query=query,
        )
        assert status == 200, page
        lines += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return lines
    raise AssertionError("more than 100 pages")
