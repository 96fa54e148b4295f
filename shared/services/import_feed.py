"""One feed of an import job: an account, or the whole consent when the provider keeps one change
feed (R-IMP-1, R-IMP-2). It is read from its saved cursor up to the close of the previous day in
the firm's time zone; what is new or changed is written in batches, pendings that were booked or
dropped are deleted, and only then is the cursor saved. The job around it (accounts, errors,
retries, the connection's status) is `imports.import_connection`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.domain.accounts import BankTransaction, SharedAccount
from shared.domain.aggregator import (
    AggregatorProvider,
    AggregatorTransaction,
    RequestsSpent,
    TransactionPage,
    cursor_from_json,
    cursor_to_json,
)
from shared.domain.connections import Connection
from shared.domain.imports import MAX_HISTORY_DAYS, booking_day, transaction_key
from shared.observability import metrics
from shared.ports.imports import FeedState, StoredTransaction

if TYPE_CHECKING:
    from shared.services.imports import ImportPorts, ImportReport

MAX_PAGES_PER_JOB = 50  # a provider that keeps saying "more" is continued by the next job


def import_feed(
    ports: ImportPorts,
    provider: AggregatorProvider,
    connection: Connection,
    credential: str,  # the connection's, opened for this job
    accounts: list[SharedAccount],
    until: date,
    report: ImportReport,
) -> bool:
    """Import one feed; False when today's requests were spent before anything was read."""
    feed_id = accounts[0].account_id if provider.feed_per_account else connection.connection_id
    state = ports.imports.feed_state(connection.firm_id, connection.customer_id, feed_id)
    linked = connection.linked_at or connection.created_at
    earliest = linked.date() - timedelta(days=MAX_HISTORY_DAYS)
    covered = {account.account_id for account in accounts}
    # An account accepted after the feed began was skipped by it so far: read the feed from its
    # start again (storage is idempotent), so that account gets its whole history too.
    restart = not state.cursor or not covered <= set(state.accounts)
    cursor = provider.initial_cursor(earliest) if restart else cursor_from_json(state.cursor or {})
    cursor = cursor.not_before(earliest).until(until)
    ours = {account.provider_account_id: account for account in accounts}
    pages: list[TransactionPage] = []
    for _ in range(MAX_PAGES_PER_JOB):
        try:
            page = provider.fetch_transactions(credential, accounts[0].provider_account_id, cursor)
        except RequestsSpent:  # today's requests are spent (nothing was sent): tomorrow, from here
            if not pages:
                report.feeds_skipped_for_budget += 1
                return False
            break
        pages.append(page)
        cursor = page.next_cursor
        if page.complete:
            break
    # Read from the start to the end, a feed is the provider's whole state: a stored pending it
    # no longer has is gone (a removal that happened before a restart is never sent as one).
    whole = restart and bool(pages) and pages[-1].complete
    _store(ports, connection, ours, pages, until, report, whole=whole)
    # Saved only now that every page is stored: a crash before this re-reads, never skips.
    last_booked = max(
        (t.booking_date for p in pages for t in (*p.added, *p.modified) if t.booking_date and not t.pending),
        default=state.last_booked,
    )
    ports.imports.save_feed_state(
        connection.firm_id,
        connection.customer_id,
        feed_id,
        FeedState(
            cursor=cursor_to_json(cursor),
            last_booked=last_booked,
            last_imported_at=ports.clock(),
            accounts=tuple(sorted(covered | set(state.accounts))),
        ),
    )
    return True


def _store(
    ports: ImportPorts,
    connection: Connection,
    ours: dict[str, SharedAccount],
    pages: list[TransactionPage],
    until: date,
    report: ImportReport,
    *,
    whole: bool = False,
) -> None:
    changed = [t for p in pages for t in (*p.added, *p.modified)]
    # What the provider ended with, whatever the pages' size and order: a removed transaction,
    # or a pending one its posted transaction replaces, is gone (provider ids are never reused),
    # even when it was added earlier in this very import.
    dropped = {r for p in pages for r in p.removed} | {
        t.pending_transaction_id for t in changed if t.pending_transaction_id
    }
    snapshot = whole or any(p.pending_snapshot for p in pages)
    latest: dict[str, dict[str, AggregatorTransaction]] = {}
    stored: dict[str, dict[str, StoredTransaction]] = {}
    for provider_account_id, account in ours.items():
        latest[provider_account_id] = {
            transaction_key(t, account.account_id): t for t in changed if t.account_id == provider_account_id
        }  # a later page's version of a transaction replaces an earlier one
        dates = [booking_day(t, until) for t in latest[provider_account_id].values()]
        since = min([*dates, until]) - timedelta(days=31)  # pendings may be a month old
        stored[provider_account_id] = ports.imports.recent(connection.firm_id, account.account_id, since)
    # A removal or change of a line older than the window (rare): read the accounts' whole history.
    asked = {r for p in pages for r in p.removed} | {
        transaction_key(t, ours[t.account_id].account_id)
        for p in pages
        for t in p.modified
        if t.account_id in ours
    }
    if asked - {key for rows in stored.values() for key in rows}:
        for provider_account_id, account in ours.items():
            stored[provider_account_id] = ports.imports.recent(
                connection.firm_id, account.account_id, date.min
            )
    for provider_account_id, account in ours.items():
        mine = [t for key, t in latest[provider_account_id].items() if key not in dropped]
        puts, keep, moved = _changes(account, mine, until, stored[provider_account_id])
        report.written += len(puts)
        report.unchanged += len(mine) - len(puts)
        gone = [
            entry.sort_key
            for key, entry in stored[provider_account_id].items()
            if key not in keep and (key in dropped or (snapshot and entry.pending))
        ] + moved
        report.deleted += len(gone)
        ports.accounts.write_transactions(connection.firm_id, connection.customer_id, puts, gone)
        metrics.add_metric(name="TransactionsImported", unit="Count", value=len(puts))
        metrics.add_metric(name="DuplicatesSkipped", unit="Count", value=len(mine) - len(puts))


def _changes(
    account: SharedAccount,
    transactions: Iterable[AggregatorTransaction],
    until: date,
    stored: dict[str, StoredTransaction],
) -> tuple[list[BankTransaction], set[str], list[str]]:
    """The transactions to write (new or changed), the keys this import saw, and the stored rows
    a changed transaction leaves (its day is part of the row's key: a booked pending moves)."""
    puts: list[BankTransaction] = []
    seen: set[str] = set()
    moved: list[str] = []
    for t in transactions:
        key = transaction_key(t, account.account_id)
        seen.add(key)
        row = BankTransaction(
            firm_id=account.firm_id,
            customer_id=account.customer_id,
            account_id=account.account_id,
            transaction_key=key,
            booking_date=booking_day(t, until),
            amount=Decimal(t.amount),
            currency=t.currency,
            description=t.description or "",
            counterparty=t.counterparty,
            pending=t.pending,
        )
        known = stored.get(key)
        fingerprint = (row.booking_date.isoformat(), str(row.amount), row.pending, row.description)
        if known is None:
            puts.append(row)
        elif known.fingerprint != fingerprint:
            ledger_account, category, assigned_by = known.assignment
            puts.append(
                replace(row, ledger_account=ledger_account, category=category, assigned_by=assigned_by)
            )
            if known.fingerprint[0] != row.booking_date.isoformat():  # the day is in the row's key
                moved.append(known.sort_key)
    return puts, seen, moved
