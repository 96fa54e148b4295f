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
