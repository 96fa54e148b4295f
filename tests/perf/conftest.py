"""Fixtures for `make bench` (tests/perf): the sandboxes, and a trace of the AWS calls our code makes.

The call counts of the benches come from botocore's own events on the shared clients
(`shared.adapters.aws_clients.aws_client`): `before-parameter-build` sees every request with the
parameters our code passed,
`after-call` the parsed response (a Query's `Count` and `ScannedCount`). The test harness's own
clients (`boto3.client(...)` in the pumps) are separate and never counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from local.bulk_seed import bulk_put, seed_customers
from tests.integration.aggregator_sandboxes import sandboxes

if TYPE_CHECKING:
    from shared.domain.refresh import Engagement

__all__ = [
    "AwsCall",
    "AwsTrace",
    "bulk_put",
    "engagement_row_items",
    "sandboxes",
    "seed_customers",
    "tracing_aws_calls",
]


@dataclass
class AwsCall:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None  # None until the call returns (or when it raised)


@dataclass
class AwsTrace:
    calls: list[AwsCall] = field(default_factory=list)

    def count(self) -> Counter[str]:
        return Counter(call.operation for call in self.calls)

    def of(self, operation: str) -> list[AwsCall]:
        return [call for call in self.calls if call.operation == operation]

    def clear(self) -> None:
        self.calls.clear()


@contextmanager
def tracing_aws_calls(*services: str) -> Iterator[AwsTrace]:
    """Every call our code makes on these services, with its parameters and parsed response."""
    from shared.adapters.aws_clients import aws_client

    trace = AwsTrace()
    open_calls: dict[int, AwsCall] = {}

    def before(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = AwsCall(model.service_model.service_name, model.name, dict(params))
        trace.calls.append(call)
        open_calls[id(context)] = call

    def after(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = open_calls.pop(id(context), None)
        if call is not None:
            call.response = parsed

    for service in services:
        events = aws_client(service).meta.events
        events.register(f"before-parameter-build.{service}", before)
        events.register(f"after-call.{service}", after)
    try:
        yield trace
    finally:
        for service in services:
            events = aws_client(service).meta.events
            events.unregister(f"before-parameter-build.{service}", before)
            events.unregister(f"after-call.{service}", after)


@pytest.fixture
def item_level_moto_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's TransactWriteItems with an item-level undo log instead of a copy of the whole table.

    moto backs up every table a transaction names with `copy.deepcopy` before applying it, so each
    transaction costs time in proportion to the table: a 10,000-engagement fan-out (10,000
    transactions on a table that grows to ~40,000 items) would take hours, all of it moto's. Here
    that copy is skipped for tables, and the transaction's own items are saved instead (their
    state before it) and put back if moto cancels it. Everything else is moto's: each condition
    is evaluated, each write applied, and a cancelled transaction leaves nothing, as before.
    """
    import copy as real_copy
    from types import SimpleNamespace

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    monkeypatch.setattr(
        models,
        "copy",
        SimpleNamespace(
            deepcopy=lambda value: value if isinstance(value, Table) else real_copy.deepcopy(value)
        ),
    )
    transact = models.DynamoDBBackend.transact_write_items

    def with_undo_log(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for entry in transact_items:
            for operation in entry.values():
                name = operation.get("TableName")
                if name not in backend.tables:
                    continue
                table = backend.tables[name]
                attrs = operation.get("Item") or operation.get("Key") or {}
                key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs.get(table.range_key_attr)
                if any(value is None for value in key.values()):
                    continue  # moto refuses the transaction before writing anything
                before = backend.get_item(name, key)
                saved.append((name, key, before.to_json()["Attributes"] if before else None))
        try:
            transact(backend, transact_items)
        except Exception:
            for name, key, before in reversed(saved):
                if before is None:
                    backend.delete_item(name, key)
                else:
                    backend.put_item(name, before)
            raise

    monkeypatch.setattr(models.DynamoDBBackend, "transact_write_items", with_undo_log)


# seeding at scale (bulk_put, seed_customers: local/bulk_seed.py) ---------------------------------
def engagement_row_items(
    engagements: Iterable[Engagement], now: datetime, eula: str
) -> Iterator[dict[str, Any]]:
    """Every scope's dashboard row of each new engagement and its search entries (#55), as
    EngagementRowsRepository writes them."""
    from shared.adapters.dynamodb.engagement_rows_repository import row_writes
    from shared.settings import get_settings

    table_name = get_settings().data_table_name
    for engagement in engagements:
        for write in row_writes(table_name, engagement, None, engagement.stored_bucket(now, eula)):
            yield write["Put"]["Item"]
