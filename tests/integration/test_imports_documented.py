"""Imports against the providers' documented behaviour (issue 13): payloads written from the
GoCardless and Plaid documentation, served to the real adapters, through the real services on
moto. Each test names the documented behaviour it holds us to."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.clock import CLOCK
from shared.domain.aggregator import AggregatorRateLimited
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob
from shared.services.imports import import_connection
from tests.fixtures.aggregator import documented as doc
from tests.fixtures.aggregator.fake_api import reply
from tests.integration.documented_providers import (
    Documented,
    accounts_of,
    connect,
    gc_details,
    gc_path,
    gc_transactions,
    link,
    plaid_pages,
    review,
    run_import,
    script_gocardless,
    script_plaid,
    stored_lines,
)
from tests.integration.documented_providers import documented as documented

GC_ONE, GC_TWO = "3fa85f64-5717-4562-b3fc-2c963f66afa6", "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
IBAN_ONE, IBAN_TWO = "GB33BUKB20201555555555", "GB94BARC10201530093459"


def _yesterday() -> str:
    return (CLOCK.now().date() - timedelta(days=1)).isoformat()


def _plaid_line(transaction_id: str, amount: float, *, pending: bool = False, **extra: Any) -> dict[str, Any]:
    return doc.plaid_transaction(
        transaction_id, amount, pending=pending, date=_yesterday(), authorized_date=_yesterday(), **extra
    )


# --------------------------------------------------------------------------- 1. removed pendings

HOLD = _plaid_line  # an authorisation hold that vanishes (Plaid: in `removed`, never posted)

CHANGES = {
    "pending": lambda: ("added", _plaid_line("pending-uber", 12.5, pending=True)),
    "hold": lambda: ("added", _plaid_line("hold-hotel", 200, pending=True, merchant_name="Hotel")),
    "posted": lambda: (
        "added",
        _plaid_line("posted-uber", 12.5, pending_transaction_id="pending-uber"),
    ),
    "removed": lambda: ("removed", "hold-hotel"),
}


def _pages(order: tuple[str, ...], per_page: int) -> list[dict[str, Any]]:
    """The four changes in `order`, `per_page` to a `/transactions/sync` page."""
    changes = [CHANGES[name]() for name in order]
    chunks = [changes[i : i + per_page] for i in range(0, len(changes), per_page)]
    pages = []
    for n, chunk in enumerate(chunks):
        added = [c for kind, c in chunk if kind == "added"]
        removed = [c for kind, c in chunk if kind == "removed"]
        pages.append(
            doc.plaid_sync_page(f"cursor-{n + 1}", n + 1 < len(chunks), added=added, removed=removed)
        )
    return pages


ORDERS = [
    ("pending", "hold", "posted", "removed"),
    ("posted", "removed", "pending", "hold"),  # the replacement before what it replaces
    ("removed", "hold", "posted", "pending"),
]


@pytest.mark.parametrize("per_page", [1, 2, 4])
@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_a_first_plaid_import_ends_with_the_providers_end_state_whatever_the_pages(
    documented: Documented, order, per_page
):
    """Plaid /transactions/sync: a posted transaction names the pending one it replaces in
    `pending_transaction_id`; a vanished hold comes in `removed`. A first import after both
    happened (the firm accepted a day late) keeps only the posted line."""
    script_plaid(documented)
    linked = link(documented, "plaid")
    plaid_pages(documented.plaid_api, *_pages(order, per_page))

    report = run_import(linked)

    assert report.outcome is Outcome.IMPORTED
    lines = stored_lines(linked)
    assert [(line["transaction_id"], line["amount"], line["pending"]) for line in lines] == [
        ("posted-uber", "-12.50", False)
    ]


def test_a_pending_stored_yesterday_goes_when_today_it_posts_or_vanishes(documented: Documented):
    script_plaid(documented)
    linked = link(documented, "plaid")
    plaid_pages(
        documented.plaid_api,
        doc.plaid_sync_page(
            "c1",
            False,
            added=[
                _plaid_line("pending-uber", 12.5, pending=True),
                _plaid_line("hold-hotel", 200, pending=True),
            ],
        ),
    )
    run_import(linked)
    assert {line["transaction_id"] for line in stored_lines(linked)} == {"pending-uber", "hold-hotel"}

    plaid_pages(
        documented.plaid_api,
        doc.plaid_sync_page(
            "c2",
            True,
            added=[_plaid_line("posted-uber", 12.5, pending_transaction_id="pending-uber")],
        ),
        doc.plaid_sync_page("c3", False, removed=["hold-hotel"]),
    )
    report = run_import(linked)

    assert report.deleted == 2
    assert [line["transaction_id"] for line in stored_lines(linked)] == ["posted-uber"]


def test_a_transaction_added_then_modified_in_one_import_is_written_once_as_modified(documented: Documented):
    script_plaid(documented)
    linked = link(documented, "plaid")
    plaid_pages(
        documented.plaid_api,
        doc.plaid_sync_page("c1", True, added=[_plaid_line("tx-1", 10)]),
        doc.plaid_sync_page("c2", False, modified=[_plaid_line("tx-1", 11, name="Uber corrected")]),
    )

    report = run_import(linked)

    assert report.written == 1
    assert [(line["transaction_id"], line["amount"]) for line in stored_lines(linked)] == [("tx-1", "-11.00")]


# --------------------------------------------------------------------------- 2. blank ids


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_blank_gocardless_ids_are_no_ids(documented: Documented, blank):
    """GoCardless: `transactionId` and `internalTransactionId` are optional; a bank that sends
    them blank gave no id. Two different lines of a day must both be stored, under fingerprints."""
    script_gocardless(documented, {GC_ONE: IBAN_ONE})
    linked = link(documented, "gocardless")
    day = _yesterday()
    lines = [
        {
            "transactionId": blank,
            "internalTransactionId": blank,
            "bookingDate": day,
            "valueDate": day,
            "transactionAmount": {"amount": amount, "currency": "GBP"},
            "creditorName": name,
            "remittanceInformationUnstructured": name,
        }
        for amount, name in (("-4.20", "Bakery"), ("-60.00", "Garage"))
    ]
    documented.gocardless_api.on(
        "GET", gc_path("accounts", GC_ONE, "transactions"), reply(200, gc_transactions(lines))
    )

    run_import(linked)
    run_import(linked)  # idempotent: the fingerprints are stable

    stored = stored_lines(linked)
    assert sorted(line["amount"] for line in stored) == ["-4.20", "-60.00"]
    assert all(line["transaction_id"].startswith("fp_") for line in stored)


def test_a_blank_plaid_id_is_fingerprinted_and_a_blank_removal_removes_nothing(documented: Documented):
    script_plaid(documented)
    linked = link(documented, "plaid")
    plaid_pages(
        documented.plaid_api,
        doc.plaid_sync_page(
            "c1",
            False,
            added=[
                _plaid_line(" ", 5, name="Kiosk"),
                _plaid_line("", 7, name="Bakery"),
                _plaid_line("tx-9", 9),
            ],
            removed=[" "],
        ),
    )

    run_import(linked)

    ids = sorted(line["transaction_id"] for line in stored_lines(linked))
    assert len(ids) == 3 and ids[-1] == "tx-9" and all(i.startswith("fp_") for i in ids[:2])


# --------------------------------------------------------------------------- 8. declined accounts


def test_a_declined_account_is_never_read_again(documented: Documented):
    """After the firm declines an account: no details, balances or transactions request for it,
    in imports, find-new-accounts, or a new consent (GoCardless issues new account ids)."""
    script_gocardless(documented, {GC_ONE: IBAN_ONE, GC_TWO: IBAN_TWO})
    linked = link(
        documented,
        "gocardless",
        decide=lambda account: (
            "decline" if account["masked_identifier"].endswith(IBAN_TWO[-4:]) else "accept"
        ),
    )
    reads_at_link = {e: documented.gc_requests(GC_TWO, e) for e in ("details", "balances", "transactions")}
    assert reads_at_link == {"details": 1, "balances": 1, "transactions": 0}  # offered once, at link

    run_import(linked)
    from functions.connections_api import handler as connections_api
    from tests.integration.onboarding_support import INVITEE, call

    status, _ = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/find-new-accounts",
        INVITEE,
        path_parameters={"connection_id": linked.connection_id},
    )
    assert status == 200

    assert {
        e: documented.gc_requests(GC_TWO, e) for e in ("details", "balances", "transactions")
    } == reads_at_link
    assert documented.gc_requests(GC_ONE, "transactions") == 1


# --------------------------------------------------------------------------- 9-11. requests, not successes

ENDPOINTS = ("details", "balances", "transactions")
RATE_LIMITED = doc.gc_error(
    429, "Rate limit exceeded", "The rate limit for this resource is 4/day. Please try again in 3600 seconds"
)
LIMIT_HEADERS = {
    "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT": "4",
    "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": "0",
    "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": "3600",
}


def _customer_calls(linked) -> dict[str, int]:
    """Status of refresh, find-new-accounts and a manual import, as the customer and the firm ask."""
    from functions.connections_api import handler as connections_api
    from tests.integration.onboarding_support import ADMIN, INVITEE, call

    path = {"connection_id": linked.connection_id}
    return {
        "refresh": call(
            connections_api, "POST", "/connections/{connection_id}/refresh", INVITEE, path_parameters=path
        )[0],
        "find": call(
            connections_api,
            "POST",
            "/connections/{connection_id}/find-new-accounts",
            INVITEE,
            path_parameters=path,
        )[0],
        "import": call(
            connections_api,
            "POST",
            "/customers/{customer_id}/imports",
            ADMIN,
            path_parameters={"customer_id": linked.customer_id},
        )[0],
    }


def test_every_request_counts_and_none_goes_past_four_a_day(documented: Documented):
    """GoCardless counts requests per account and endpoint a day (4): a timed-out request that
    reached it, a retried 5xx, link-time reads, find-new-accounts, the schedule, Data Refresh and
    manual imports together never make it see a fifth."""
    script_gocardless(documented, {GC_ONE: IBAN_ONE})
    linked = link(documented, "gocardless")
    empty = reply(200, gc_transactions([]))
    documented.gocardless_api.on(
        "GET",
        gc_path("accounts", GC_ONE, "transactions"),
        httpx.ReadTimeout("timed out after reaching the provider"),
        reply(500, doc.gc_error(500, "Internal server error", "Try again later")),
        empty,
    )
    documented.gocardless_api.on(
        "GET",
        gc_path("accounts", GC_ONE, "details"),
        httpx.ReadTimeout("timed out"),
        reply(200, gc_details(IBAN_ONE)),
    )
    from shared.domain.jobs import ImportReason

    outcomes = []
    for reason in itertools.islice(itertools.cycle(list(ImportReason)), 6):
        try:
            outcomes.append(run_import(linked, reason).outcome)
        except Exception as error:  # a job the queue would retry
            outcomes.append(type(error).__name__)
        _customer_calls(linked)

    seen_by_provider = {e: documented.gc_requests(GC_ONE, e) for e in ENDPOINTS}
    counted_by_us = {e: bootstrap.request_gate().requests_today(GC_ONE, e) for e in ENDPOINTS}
    assert seen_by_provider == counted_by_us
    assert max(seen_by_provider.values()) == 4 and all(n <= 4 for n in seen_by_provider.values())
    assert Outcome.BUDGET_SPENT in outcomes


def test_nothing_goes_to_the_provider_after_a_429_until_its_reset(documented: Documented):
    script_gocardless(documented, {GC_ONE: IBAN_ONE})
    linked = link(documented, "gocardless")
    transactions = gc_path("accounts", GC_ONE, "transactions")
    documented.gocardless_api.on("GET", transactions, reply(429, RATE_LIMITED, LIMIT_HEADERS))

    with pytest.raises(Exception) as limited:
        run_import(linked)
    assert (
        getattr(limited.value, "reset_at", None)
        == CLOCK.now().replace(microsecond=0) + timedelta(seconds=3600)
        or getattr(limited.value, "retry_after_seconds", 0) >= 3599
    )
    before = dict(documented.gocardless_api.served)
    requests_before = len(documented.gocardless_api.requests)

    assert _customer_calls(linked) == {"refresh": 429, "find": 429, "import": 429}
    with pytest.raises(AggregatorRateLimited):
        run_import(linked)
    assert len(documented.gocardless_api.requests) == requests_before  # not one request
    assert dict(documented.gocardless_api.served) == before
    connection = bootstrap.connections().connections.get(
        bootstrap.connections().connections.locate(linked.connection_id)  # type: ignore[arg-type]
    )
    assert connection is not None and connection.rate_limited_until is not None
    from functions.connections_api import handler as connections_api
    from tests.integration.onboarding_support import INVITEE, call

    _, shown = call(connections_api, "GET", "/connections", INVITEE)
    assert [c["rate_limited_until"] for c in shown] == [
        connection.rate_limited_until.isoformat().replace("+00:00", "Z")
    ]

    CLOCK.advance(timedelta(seconds=3601))
    documented.gocardless_api.on("GET", transactions, reply(200, gc_transactions([])))
    assert run_import(linked).outcome is Outcome.IMPORTED
    assert documented.gc_requests(GC_ONE, "transactions") == 2


# --------------------------------------------------------------------------- 6-7. one account's failure

PROCESSING = doc.gc_error(
    409,
    "Account is being processed",
    f"Account {GC_TWO} is being processed. Please try again later.",
    "AccountProcessing",
)
INACTIVE = doc.gc_error(409, "Account inactive", f"Account {GC_TWO} is inactive.", "AccountInactiveError")


@pytest.fixture
def sent_jobs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    from shared.adapters.queue import JobQueue

    sent: list[tuple[str, int]] = []

    def send(self: JobQueue, bodies: list[str], delay_seconds: int = 0) -> None:
        # An accepted account's first import (issue 16) is the set-up's, not the job under test's.
        sent.extend((b, delay_seconds) for b in bodies if json.loads(b)["reason"] != "accepted")

    monkeypatch.setattr(JobQueue, "send", send)
    return sent


def _connection(linked):
    connections = bootstrap.connections().connections
    address = connections.locate(linked.connection_id)
    assert address is not None
    connection = connections.get(address)
    assert connection is not None
    return connection


def test_an_account_still_processing_is_flagged_and_retried_alone_while_the_others_import(
    documented: Documented, sent_jobs
):
    script_gocardless(documented, {GC_ONE: IBAN_ONE, GC_TWO: IBAN_TWO})
    linked = link(documented, "gocardless")
    documented.gocardless_api.on("GET", gc_path("accounts", GC_TWO, "transactions"), reply(409, PROCESSING))

    report = run_import(linked)

    assert (report.outcome, report.accounts_unavailable, report.retried) == (Outcome.IMPORTED, 1, 1)
    assert _connection(linked).status.value == "linked"  # reauthorising would not fix it
    by_id = accounts_of(linked.customer_id)
    two, one = linked.account_ids[GC_TWO], linked.account_ids[GC_ONE]
    assert (by_id[two]["problem"], by_id[two]["fix"]) == ("account_processing", "retry_later")
    assert by_id[one]["problem"] is None
    [(body, delay)] = sent_jobs
    retry = ImportJob.from_json(body)
    assert (retry.accounts, retry.attempt, retry.refresh_job_id) == ((two,), 1, None)
    assert 60 <= delay <= 90

    # The retry reads that account only; once ready, its flag goes.
    documented.gocardless_api.on(
        "GET", gc_path("accounts", GC_TWO, "transactions"), reply(200, gc_transactions([]))
    )
    one_reads = {e: documented.gc_requests(GC_ONE, e) for e in ENDPOINTS}
    assert import_connection(bootstrap.imports(), retry).outcome is Outcome.IMPORTED
    assert {e: documented.gc_requests(GC_ONE, e) for e in ENDPOINTS} == one_reads
    assert accounts_of(linked.customer_id)[two]["problem"] is None


@pytest.mark.parametrize(
    "answer",
    [reply(409, INACTIVE), reply(404, doc.gc_error(404, "Not found.", "Not found."))],
    ids=["inactive", "gone"],
)
def test_a_closed_or_unknown_account_is_flagged_without_retry_and_the_connection_stays_linked(
    documented: Documented, sent_jobs, answer
):
    script_gocardless(documented, {GC_ONE: IBAN_ONE, GC_TWO: IBAN_TWO})
    linked = link(documented, "gocardless")
    documented.gocardless_api.on("GET", gc_path("accounts", GC_TWO, "transactions"), answer)

    report = run_import(linked)

    assert (report.outcome, report.accounts_unavailable, report.retried, sent_jobs) == (
        Outcome.IMPORTED,
        1,
        0,
        [],
    )
    assert _connection(linked).status.value == "linked"
    account = accounts_of(linked.customer_id)[linked.account_ids[GC_TWO]]
    assert (account["problem"], account["fix"]) == ("account_unavailable", "check_with_bank")


def test_retries_of_one_account_back_off_with_jitter_and_stop():
    from shared.services.imports import MAX_ACCOUNT_RETRIES, retry_delay

    lowest = [retry_delay(n, 0.0) for n in range(MAX_ACCOUNT_RETRIES)]
    highest = [retry_delay(n, 0.999) for n in range(MAX_ACCOUNT_RETRIES)]
    assert lowest == [60, 120] and highest == [89, 179]


def test_a_job_at_its_last_retry_queues_no_other(documented: Documented, sent_jobs):
    from shared.services.imports import MAX_ACCOUNT_RETRIES

    script_gocardless(documented, {GC_ONE: IBAN_ONE, GC_TWO: IBAN_TWO})
    linked = link(documented, "gocardless")
    documented.gocardless_api.on("GET", gc_path("accounts", GC_TWO, "transactions"), reply(409, PROCESSING))
    last = replace(linked.job(), accounts=(linked.account_ids[GC_TWO],), attempt=MAX_ACCOUNT_RETRIES)

    assert import_connection(bootstrap.imports(), last).retried == 0
    assert sent_jobs == []


# --------------------------------------------------------------------------- 3. one bank account, one id


def test_the_same_bank_account_through_a_second_connection_keeps_its_id_and_decision(documented: Documented):
    """GoCardless gives each requisition its own account ids; the IBAN says it is the same account."""
    script_gocardless(documented, {GC_ONE: IBAN_ONE, GC_TWO: IBAN_TWO})
    linked = link(
        documented,
        "gocardless",
        decide=lambda account: (
            "decline" if account["masked_identifier"].endswith(IBAN_TWO[-4:]) else "accept"
        ),
    )
    before = accounts_of(linked.customer_id)
    from functions.connections_api import handler as connections_api
    from tests.integration.onboarding_support import INVITEE, call

    first_gone = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/deauthorise",
        INVITEE,
        path_parameters={"connection_id": linked.connection_id},
    )
    assert first_gone[0] == 200  # the first connection ended: the account moves to the second
    gc_three, gc_four = "0b0e0c2a-1111-4c4c-9d9d-aaaaaaaaaaaa", "0b0e0c2a-2222-4c4c-9d9d-bbbbbbbbbbbb"
    script_gocardless(documented, {gc_three: " gb33 bukb 2020 1555 5555 55 ", gc_four: IBAN_TWO})

    second = connect(documented, "gocardless", linked.customer_id)

    after = accounts_of(linked.customer_id)
    assert set(after) == set(before)  # no second account offered
    stored = {
        a.account_id: a
        for a in bootstrap.imports().accounts.list_for_customer(DEMO_FIRM.firm_id, linked.customer_id)
    }
    assert {a.account_id: a.status.value for a in stored.values()} == {
        linked.account_ids[GC_ONE]: "accepted",
        linked.account_ids[GC_TWO]: "declined",  # stays declined
    }
    moved = stored[linked.account_ids[GC_ONE]]
    assert (moved.connection_id, moved.provider_account_id) == (second, gc_three)
    assert documented.gc_requests(gc_four, "details") == 0  # declined: not read under the new consent either


def test_an_account_a_live_connection_imports_stays_with_it(documented: Documented):
    script_gocardless(documented, {GC_ONE: IBAN_ONE})
    linked = link(documented, "gocardless")
    script_gocardless(documented, {"0b0e0c2a-1111-4c4c-9d9d-cccccccccccc": IBAN_ONE})

    connect(documented, "gocardless", linked.customer_id)

    [account] = bootstrap.imports().accounts.list_for_customer(DEMO_FIRM.firm_id, linked.customer_id)
    assert (account.connection_id, account.provider_account_id) == (linked.connection_id, GC_ONE)


def test_look_alike_plaid_accounts_without_a_persistent_id_stay_two_accounts(documented: Documented):
    """Two accounts with the same mask, name and subtype (Plaid's sandbox has such) are two."""
    twins = {
        **doc.PLAID_ACCOUNTS,
        "accounts": [
            {**doc.PLAID_ACCOUNTS["accounts"][0], "account_id": doc.PLAID_CHECKING},
            {**doc.PLAID_ACCOUNTS["accounts"][0], "account_id": doc.PLAID_SAVINGS},
        ],
    }
    script_plaid(documented, twins)
    linked = link(documented, "plaid")
    from functions.connections_api import handler as connections_api
    from tests.integration.onboarding_support import INVITEE, call

    call(
        connections_api,
        "POST",
        "/connections/{connection_id}/find-new-accounts",
        INVITEE,
        path_parameters={"connection_id": linked.connection_id},
    )

    stored = bootstrap.imports().accounts.list_for_customer(DEMO_FIRM.firm_id, linked.customer_id)
    assert sorted(a.provider_account_id for a in stored) == sorted([doc.PLAID_CHECKING, doc.PLAID_SAVINGS])


def test_one_accounts_429_does_not_stop_the_others(documented: Documented):
    script_gocardless(documented, {GC_ONE: IBAN_ONE, GC_TWO: IBAN_TWO})
    linked = link(documented, "gocardless")
    documented.gocardless_api.on(
        "GET", gc_path("accounts", GC_TWO, "transactions"), reply(429, RATE_LIMITED, LIMIT_HEADERS)
    )

    report = run_import(linked)

    assert report.outcome is Outcome.IMPORTED
    assert _connection(linked).last_import_outcome == "imported"
    run_import(linked)  # held: the account's endpoint is not asked again before its reset
    assert documented.gc_requests(GC_TWO, "transactions") == 1
    assert documented.gc_requests(GC_ONE, "transactions") == 2


def test_balances_that_fail_after_the_lines_are_stored_do_not_fail_the_import(documented: Documented):
    """Plaid /accounts/get with options.account_ids answers INVALID_ACCOUNT_ID for an account
    closed since: the lines are kept and the job ends (no redelivery re-reading everything)."""
    script_plaid(documented)
    linked = link(documented, "plaid")
    plaid_pages(documented.plaid_api, doc.plaid_sync_page("c1", False, added=[_plaid_line("tx-1", 3)]))
    documented.plaid_api.on(
        "POST",
        "/accounts/get",
        reply(
            400,
            doc.plaid_error(
                "INVALID_INPUT", "INVALID_ACCOUNT_ID", "one or more of the account IDs is invalid"
            ),
        ),
    )

    assert run_import(linked).outcome is Outcome.IMPORTED
    assert [line["transaction_id"] for line in stored_lines(linked)] == ["tx-1"]


def test_a_removal_of_a_line_older_than_the_window_deletes_it(documented: Documented):
    script_plaid(documented)
    linked = link(documented, "plaid")
    old = (CLOCK.now().date() - timedelta(days=60)).isoformat()
    plaid_pages(
        documented.plaid_api,
        doc.plaid_sync_page(
            "c1", False, added=[doc.plaid_transaction("old-1", 9, date=old, authorized_date=old)]
        ),
    )
    run_import(linked)
    plaid_pages(documented.plaid_api, doc.plaid_sync_page("c2", False, removed=["old-1"]))

    assert run_import(linked).deleted == 1
    assert stored_lines(linked) == []


def test_a_plaid_restart_drops_the_pendings_the_provider_no_longer_has(documented: Documented):
    """Accepting a second account re-reads the Item's feed from its start: Plaid's answer is its
    whole state, with no `removed` for what vanished meanwhile."""
    script_plaid(documented)
    linked = link(
        documented,
        "plaid",
        decide=lambda account: "accept" if account["masked_identifier"].endswith("0000") else None,
    )
    plaid_pages(
        documented.plaid_api,
        doc.plaid_sync_page("c1", False, added=[_plaid_line("hold-1", 50, pending=True)]),
    )
    run_import(linked)
    savings = next(a for a in accounts_of(linked.customer_id).values() if a["status"] == "new")
    review(linked.customer_id, savings["account_id"])
    plaid_pages(documented.plaid_api, doc.plaid_sync_page("r1", False, added=[_plaid_line("tx-2", 4)]))

    run_import(linked)

    assert [line["transaction_id"] for line in stored_lines(linked)] == ["tx-2"]
