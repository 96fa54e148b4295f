"""Import rules on the in-memory ports (tests/fakes.py): no moto, no HTTP. The provider is a
scripted port double; the same rules are tested end to end on documented payloads in
tests/integration/test_imports_documented.py."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.accounts import AccountProblem, AccountStatus, SharedAccount
from shared.domain.aggregator import (
    AccountUnavailable,
    AggregatorAccount,
    AggregatorRateLimited,
    AggregatorTransaction,
    DateWindow,
    PaceWindow,
    RequestsSpent,
    SyncCursor,
    TransactionPage,
)
from shared.domain.connections import Connection, ConnectionStatus
from shared.domain.identity import Firm
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob, ImportReason
from shared.ports.connections import ConnectionAddress
from shared.services.imports import import_and_report, import_connection
from tests.fakes import ImportFakes

pytestmark = pytest.mark.fakes

NOW = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
YESTERDAY = date(2026, 6, 16)
FIRM, CUSTOMER, CONNECTION = "firm-1", "customer-1", "connection-1"


def line(tid: str, amount: str, *, pending: bool = False, replaces: str | None = None, account: str = "p-a"):
    return AggregatorTransaction(
        transaction_id=tid,
        internal_id=None,
        account_id=account,
        booking_date=None if pending else YESTERDAY,
        value_date=YESTERDAY,
        amount=Decimal(amount),
        currency="GBP",
        description=f"line {tid}",
        counterparty=None,
        pending=pending,
        pending_transaction_id=replaces,
    )


def page(*, added=(), modified=(), removed=(), complete=True, cursor="c") -> TransactionPage:
    return TransactionPage(
        added=tuple(added),
        modified=tuple(modified),
        removed=tuple(removed),
        next_cursor=SyncCursor(cursor),
        complete=complete,
    )


@dataclass
class Provider:
    """The aggregator port, scripted: pages (or errors) per provider account id, in order."""

    feed_per_account: bool = False
    name: str = "scripted"
    script: dict[str, list[Any]] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    listed: list[tuple[str, ...] | None] = field(default_factory=list)

    def initial_cursor(self, since: date) -> Any:
        return DateWindow(since) if self.feed_per_account else SyncCursor(None)

    def fetch_transactions(self, credential: str, account_id: str, cursor: Any) -> TransactionPage:
        self.fetched.append(account_id)
        answer = self.script[account_id].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def list_accounts(self, credential: str, *, only=None, skip=None) -> list[AggregatorAccount]:
        self.listed.append(tuple(only) if only is not None else None)
        return [
            AggregatorAccount(
                account_id=a, name=a, masked_identifier=None, currency="GBP", balance=Decimal("1.00"),
                balance_type="current", institution_id="bank",
            )
            for a in (only or ())
        ]  # fmt: skip


def world(*provider_accounts: str, status: AccountStatus = AccountStatus.ACCEPTED) -> ImportFakes:
    fakes = ImportFakes()
    fakes.identities.firms[FIRM] = Firm(FIRM, "Firm", "Europe/London")
    fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, CONNECTION)] = Connection(
        firm_id=FIRM, customer_id=CUSTOMER, connection_id=CONNECTION, user_id="user-1", provider="scripted",
        institution_id="bank", institution_name="Bank", status=ConnectionStatus.LINKED, created_at=NOW,
        credential="credential", linked_at=NOW, version=1,
    )  # fmt: skip
    for provider_account in provider_accounts:
        fakes.accounts.add(
            SharedAccount(
                firm_id=FIRM, customer_id=CUSTOMER, account_id=f"acc-{provider_account}",
                connection_id=CONNECTION, institution_name="Bank", masked_identifier="•••• 0001",
                name=provider_account, currency="GBP", balance=None, last_updated=None, status=status,
                provider_account_id=provider_account,
            )
        )  # fmt: skip
    return fakes


JOB = ImportJob(FIRM, CUSTOMER, CONNECTION, ImportReason.SCHEDULE)
CHANGES = {
    "pending": ("added", line("pending-1", "-12.50", pending=True)),
    "hold": ("added", line("hold-1", "-200", pending=True)),
    "posted": ("added", line("posted-1", "-12.50", replaces="pending-1")),
    "removed": ("removed", "hold-1"),
}


@pytest.mark.parametrize("per_page", [1, 2, 3, 4])
@pytest.mark.parametrize("order", list(itertools.permutations(CHANGES)), ids="-".join)
def test_an_import_ends_in_the_providers_end_state_whatever_the_pages(order, per_page):
    """Every order of the four changes, every page size (96 cases, in milliseconds)."""
    chunks = [order[i : i + per_page] for i in range(0, len(order), per_page)]
    pages = [
        page(
            added=[CHANGES[n][1] for n in chunk if CHANGES[n][0] == "added"],
            removed=[CHANGES[n][1] for n in chunk if CHANGES[n][0] == "removed"],
            complete=n == len(chunks) - 1,
        )
        for n, chunk in enumerate(chunks)
    ]
    fakes = world("p-a")
    provider = Provider(script={"p-a": pages})

    report = import_connection(fakes.ports(provider, lambda: NOW), JOB)

    assert report.outcome is Outcome.IMPORTED
    assert [(t.transaction_key, t.amount, t.pending) for t in fakes.accounts.of(FIRM, CUSTOMER)] == [
        ("posted-1", Decimal("-12.50"), False)
    ]


def test_one_account_still_processing_is_retried_alone_and_the_others_import():
    fakes = world("p-a", "p-b")
    provider = Provider(
        feed_per_account=True,
        script={
            "p-a": [page(added=[line("a-1", "-1", account="p-a")])],
            "p-b": [AccountUnavailable(retry_later=True)],
        },
    )

    report = import_connection(fakes.ports(provider, lambda: NOW, rand=lambda: 0.5), JOB)

    assert (report.outcome, report.accounts_unavailable, report.retried) == (Outcome.IMPORTED, 1, 1)
    assert fakes.accounts.get(FIRM, CUSTOMER, "acc-p-b").problem is AccountProblem.PROCESSING
    assert (
        fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, CONNECTION)].status
        is ConnectionStatus.LINKED
    )
    [(body, delay)] = fakes.queue.sent
    assert ImportJob.from_json(body).accounts == ("acc-p-b",) and delay == 75
    assert provider.listed == [("p-a",)]  # balances of the imported account only


def test_no_account_read_is_its_own_outcome():
    fakes = world("p-a")
    provider = Provider(feed_per_account=True, script={"p-a": [AccountUnavailable()]})

    assert import_connection(fakes.ports(provider, lambda: NOW), JOB).outcome is Outcome.ACCOUNTS_UNAVAILABLE
    assert fakes.queue.sent == [] and provider.listed == []


def test_spent_requests_skip_that_feed_and_all_spent_is_budget_spent():
    fakes = world("p-a", "p-b")
    spent = RequestsSpent(retry_after_seconds=60, reset_at=NOW + timedelta(hours=14))
    provider = Provider(feed_per_account=True, script={"p-a": [spent], "p-b": [spent]})

    assert import_connection(fakes.ports(provider, lambda: NOW), JOB).outcome is Outcome.BUDGET_SPENT
    assert provider.listed == []  # nothing read, no balances either


def test_declined_accounts_are_neither_fetched_nor_listed():
    fakes = world("p-a")
    fakes.accounts.add(
        SharedAccount(
            firm_id=FIRM, customer_id=CUSTOMER, account_id="acc-declined", connection_id=CONNECTION,
            institution_name="Bank", masked_identifier="•••• 0002", name="declined", currency="GBP",
            balance=None, last_updated=None, status=AccountStatus.DECLINED, provider_account_id="p-declined",
        )
    )  # fmt: skip
    provider = Provider(feed_per_account=True, script={"p-a": [page()]})

    import_connection(fakes.ports(provider, lambda: NOW), JOB)

    assert provider.fetched == ["p-a"] and provider.listed == [("p-a",)]


def test_every_connection_change_rewrites_the_data_refresh_rows_and_progress_is_reported():
    """The side effect is visible: each save is followed by one `connection_changed`."""
    fakes = world("p-a")
    provider = Provider(script={"p-a": [page(added=[line("t-1", "-3")])]})

    report = import_and_report(fakes.ports(provider, lambda: NOW), JOB)

    assert report.outcome is Outcome.IMPORTED
    assert len(fakes.engagements.changed) == fakes.connections.saves == 1
    assert [kind for kind, _ in fakes.engagements.progress] == ["started", "uploaded", "finished"]


# --------------------------------------------------------------------------- the company-wide pace
PACED = PaceWindow.of(NOW).refused(NOW)  # 09:30:00 with the minute spent: 60 s to 09:31


def test_a_job_the_pace_refuses_at_once_waits_for_the_next_minute_as_for_a_429():
    fakes = world("p-a", "p-b")
    provider = Provider(feed_per_account=True, script={"p-a": [PACED], "p-b": [page()]})

    with pytest.raises(AggregatorRateLimited) as waits:  # the worker re-sends it at the reset: no DLQ
        import_connection(fakes.ports(provider, lambda: NOW), JOB)

    assert not isinstance(waits.value, RequestsSpent)
    assert (waits.value.reset_at, waits.value.retry_after_seconds) == (NOW + timedelta(minutes=1), 60)
    connection = fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, CONNECTION)]
    # The company's minute, not the connection's: nothing held (people's calls on it spend their share).
    assert connection.rate_limited_until is None
    assert connection.status is ConnectionStatus.LINKED and connection.last_import_outcome is None
    assert provider.fetched == ["p-a"] and fakes.queue.sent == []  # the worker re-sends the job itself


def test_accounts_the_pace_cut_off_come_back_at_the_next_minute_and_the_imported_are_kept():
    fakes = world("p-a", "p-b", "p-c")
    provider = Provider(
        feed_per_account=True,
        script={"p-a": [page(added=[line("a-1", "-1", account="p-a")])], "p-b": [PACED], "p-c": [page()]},
    )
    job = ImportJob(FIRM, CUSTOMER, CONNECTION, ImportReason.REFRESH, refresh_job_id="refresh-1", attempt=1)

    report = import_connection(fakes.ports(provider, lambda: NOW), job)

    assert (report.outcome, report.written, report.retried) == (Outcome.IMPORTED, 1, 2)
    assert provider.fetched == ["p-a", "p-b"]  # p-c waits too: the minute is spent
    [(body, delay)] = fakes.queue.sent
    rest = ImportJob.from_json(body)
    assert (rest.accounts, rest.attempt, rest.refresh_job_id, delay) == (
        ("acc-p-b", "acc-p-c"),
        1,
        "refresh-1",
        60,
    )
    assert [t.transaction_key for t in fakes.accounts.of(FIRM, CUSTOMER)] == ["a-1"]
    connection = fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, CONNECTION)]
    assert connection.rate_limited_until is None  # the rest is not held back beyond the minute


def test_a_refresh_cut_off_by_the_pace_is_finished_by_the_job_that_reads_the_rest():
    fakes = world("p-a", "p-b")
    provider = Provider(
        feed_per_account=True,
        script={"p-a": [page(added=[line("a-1", "-1", account="p-a")])], "p-b": [PACED, page()]},
    )
    job = ImportJob(FIRM, CUSTOMER, CONNECTION, ImportReason.REFRESH, refresh_job_id="refresh-1", attempt=1)
    ports = fakes.ports(provider, lambda: NOW)

    cut = import_and_report(ports, job)
    assert cut.paced == 1 and [kind for kind, _ in fakes.engagements.progress] == ["started", "uploaded"]
    [(body, _)] = fakes.queue.sent
    rest = import_and_report(ports, ImportJob.from_json(body))  # at its turn
    assert rest.outcome is Outcome.IMPORTED and rest.paced == 0
    assert [kind for kind, _ in fakes.engagements.progress][-1] == "finished"  # only now


def test_a_job_that_retries_one_account_and_is_cut_off_by_the_pace_counts_both_as_retried():
    fakes = world("p-a", "p-b", "p-c", "p-d")
    provider = Provider(
        feed_per_account=True,
        script={
            "p-a": [page(added=[line("a-1", "-1", account="p-a")])],
            "p-b": [AccountUnavailable(retry_later=True)],
            "p-c": [PACED],
            "p-d": [page()],
        },
    )

    report = import_connection(fakes.ports(provider, lambda: NOW, rand=lambda: 0.5), JOB)

    # p-b retried on its own, p-c and p-d back at the pace's turn: three accounts come back
    assert [ImportJob.from_json(body).accounts for body, _ in fakes.queue.sent] == [
        ("acc-p-c", "acc-p-d"),
        ("acc-p-b",),
    ]
    assert (report.outcome, report.retried) == (Outcome.IMPORTED, 3)
