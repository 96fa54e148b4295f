"""10,000 transactions for one account: each stored exactly once, in ceil(N/25) batch writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from shared import bootstrap
from shared.domain.aggregator import AggregatorTransaction, SyncCursor, TransactionPage
from shared.services.imports import import_connection
from tests.conftest import counting_aws_calls
from tests.integration.test_imports import linked, stored

N = 10_000


class VolumeProvider:
    """Wraps the sandbox adapter; its transaction feed returns N movements for one account."""

    feed_per_account = False

    def __init__(self, inner, account_id: str) -> None:
        self._inner, self._account_id = inner, account_id
        self.name = inner.name

    def initial_cursor(self, since: date) -> SyncCursor:
        return SyncCursor(None)

    def fetch_transactions(self, credential: str, account_id: str, cursor) -> TransactionPage:
        if cursor.value == "done":
            return TransactionPage(added=(), modified=(), removed=(), next_cursor=cursor, complete=True)
        start = date(2025, 1, 1)
        added = tuple(
            AggregatorTransaction(
                transaction_id=f"t{n:05d}",
                internal_id=None,
                account_id=self._account_id,
                booking_date=start + timedelta(days=n % 600),
                value_date=None,
                amount=Decimal(f"-{n}.01"),
                currency="EUR",
                description=f"Paiement n°{n} \u2013 café",
                counterparty=None,
                pending=False,
            )
            for n in range(N)
        )
        return TransactionPage(
            added=added, modified=(), removed=(), next_cursor=SyncCursor("done"), complete=True
        )

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_ten_thousand_transactions_are_stored_once_with_batch_writes(sandboxes):
    job, account_id = linked(sandboxes)
    ports = bootstrap.imports()
    account = ports.accounts.get(job.firm_id, job.customer_id, account_id)
    provider = VolumeProvider(sandboxes.provider("gocardless"), account.provider_account_id)
    volume_ports = replace(ports, providers=lambda _: provider)

    with counting_aws_calls("dynamodb") as calls:
        report = import_connection(volume_ports, job)
    assert report.written == N
    assert calls["BatchWriteItem"] == -(-N // 25) and calls["PutItem"] <= 1  # the feed state
    items = stored(job)
    keys = [i["transaction_key"]["S"] for i in items]
    assert len(keys) == N == len(set(keys))

    with counting_aws_calls("dynamodb") as calls:
        again = import_connection(replace(volume_ports, providers=lambda _: provider), job)
    assert (again.written, calls["BatchWriteItem"]) == (0, 0)
