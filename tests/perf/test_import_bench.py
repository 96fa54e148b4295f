"""B4 import calls (issues 5 and 8): the DynamoDB calls to import 10,000 transactions for one
account, against the minimum of ceil(N/25) BatchWriteItem; no transaction is written with
PutItem, and reading the same 10,000 lines again writes nothing.

The import is the real use case (`import_connection`) on moto, fed by the volume provider of
tests/integration/test_import_volume.py (the sandbox adapter with a 10,000-line feed).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.imports_repository import FeedState
from shared.domain.imports import Outcome
from shared.services.imports import import_connection
from tests.integration.test_import_volume import N, VolumeProvider
from tests.integration.test_imports import linked, stored
from tests.perf.conftest import AwsTrace, tracing_aws_calls

TARGET = 1.05
WRITES = ("PutItem", "BatchWriteItem", "TransactWriteItems", "UpdateItem", "DeleteItem")


def _transaction_writes(trace: AwsTrace, transactions_pk: str) -> dict[str, int]:
    """Items written to the customer's transaction collection, by operation."""

    def touches(item_or_key: dict[str, Any]) -> bool:
        return item_or_key.get("PK", {}).get("S") == transactions_pk

    written = {operation: 0 for operation in WRITES}
    for call in trace.calls:
        params = call.params
        if call.operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                written[call.operation] += sum(
                    touches(
                        r.get("PutRequest", {}).get("Item", {}) or r.get("DeleteRequest", {}).get("Key", {})
                    )
                    for r in requests
                )
        elif call.operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (op,) = entry.values()
                written[call.operation] += touches(op.get("Item") or op.get("Key") or {})
        elif call.operation in WRITES:
            written[call.operation] += touches(params.get("Item") or params.get("Key") or {})
    return written


def test_b4_import_calls(sandboxes, bar):
    job, account_id = linked(sandboxes)
    ports = bootstrap.imports()
    account = ports.accounts.get(job.firm_id, job.customer_id, account_id)
    provider = VolumeProvider(sandboxes.provider("gocardless"), account.provider_account_id)
    volume_ports = replace(ports, providers=lambda _: provider)
    transactions_pk = keys.customer_transactions_pk(job.firm_id, job.customer_id)

    with tracing_aws_calls("dynamodb") as first:
        report = import_connection(volume_ports, job)
    # The same 10,000 lines again: the feed's cursor is forgotten (as when a job is redelivered
    # after storing its pages but before saving the cursor), so the whole feed is read again.
    ports.imports.save_feed_state(
        job.firm_id, job.customer_id, job.connection_id, FeedState(None, None, None)
    )
    with tracing_aws_calls("dynamodb") as again:
        second = import_connection(volume_ports, job)

    minimum = math.ceil(N / 25)
    calls = first.count()
    total = sum(calls.values())
    ratio = total / minimum
    written = _transaction_writes(first, transactions_pk)
    rewritten = _transaction_writes(again, transactions_pk)
    lines = stored(job)
    unique = len({item["transaction_key"]["S"] for item in lines})
    bar(
        "B4 import calls",
        transactions=N,
        minimum_batch_writes=minimum,
        batch_writes=calls["BatchWriteItem"],
        dynamodb_calls=total,
        ratio=f"{ratio:.3f}",
        target=TARGET,
        transaction_puts=written["PutItem"],
        other_calls=" ".join(f"{op}:{n}" for op, n in sorted(calls.items()) if op != "BatchWriteItem"),
        reimport_calls=sum(again.count().values()),
        reimport_writes=sum(rewritten.values()),
        stored=len(lines),
        unique=unique,
    )
    assert report.outcome is Outcome.IMPORTED and report.written == N
    assert len(lines) == unique == N  # every transaction stored exactly once
    assert written["BatchWriteItem"] == N and calls["BatchWriteItem"] == minimum
    assert written["PutItem"] == 0 and written["TransactWriteItems"] == written["UpdateItem"] == 0
    assert ratio <= TARGET
    assert (second.outcome, second.written, second.unchanged) == (Outcome.IMPORTED, 0, N)
    assert sum(rewritten.values()) == 0 and again.count()["BatchWriteItem"] == 0
