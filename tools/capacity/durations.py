"""How long an invocation would take on AWS, from what it did locally (issue 20).

On moto an AWS call costs what the local emulation costs and a provider request what the local sandbox
costs, so neither time is AWS's. A recorded invocation keeps its own compute time (`compute_ms`: the
handler's wall time minus the time inside AWS calls and provider requests) and gets the modeled latency
of each call back: `modeled_ms`. The latencies, the partition and service limits and the providers' rate
limits are data (limits.json, each figure with its source, the day it was read and whether it was
verified); `load_limits` reads them into `Limits`. The bill's Lambda GB-seconds use the same
`modeled_ms`, so duration has one definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.domain.aggregator import calls_kept_for_people
from tools.capacity.usage import InvocationRecord

LIMITS_FILE = Path(__file__).with_name("limits.json")
ANY_CALL = "*"  # latency_p50_ms's entry for a service the file does not list


@dataclass(frozen=True)
class Figure:
    """One figure of limits.json with where it comes from."""

    value: float
    unit: str
    source: str
    read_on: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class ProviderLimits:
    """What bounds the requests of imports at one aggregator."""

    requests_per_minute: float  # what the imports may use of the client-wide limit (imports_share)
    p50_ms: float  # assumed latency of one request
    per_account_endpoint_per_day: float | None = None  # a daily count per account (GoCardless), not a rate

    @property
    def requests_per_second(self) -> float:
        return self.requests_per_minute / 60


@dataclass(frozen=True)
class Limits:
    partition_wcu: float  # write units per second one partition (of a table or GSI) serves
    partition_rcu: float
    table_max_wru: float  # an on-demand table's default throughput quota
    table_max_rru: float
    transact_wru_per_kb: float
    account_concurrency: int  # Lambda concurrent executions per Region (default quota)
    unreserved_minimum: int
    sqs_max_concurrency_min: int  # range of an SQS event source's maximum concurrency
    sqs_max_concurrency_max: int
    sqs_in_flight: int  # in-flight messages per standard queue
    latency_p50_ms: Mapping[str, float]  # "service:Operation", "service" or ANY_CALL -> ms
    providers: Mapping[str, ProviderLimits]
    figures: Mapping[str, Figure]  # every figure of the file by its dotted path, with its source

    def call_ms(self, call: str) -> float:
        """Modeled p50 of one AWS call "service:Operation": the operation's own figure, else its
        service's, else the file's default."""
        service = call.split(":", 1)[0]
        for key in (call, service, ANY_CALL):
            if key in self.latency_p50_ms:
                return self.latency_p50_ms[key]
        raise KeyError(f"limits.json has no latency for {call!r} and no {ANY_CALL!r} default")

    @property
    def provider_ms(self) -> float:
        """A provider request's modeled latency: the slowest provider's (records do not name theirs)."""
        return max((p.p50_ms for p in self.providers.values()), default=0.0)


def _figures(node: Mapping[str, Any], prefix: str = "") -> dict[str, Figure]:
    """Every leaf of the file that carries a value, by its dotted path."""
    found: dict[str, Figure] = {}
    for key, child in node.items():
        if not isinstance(child, dict):
            continue
        path = f"{prefix}{key}"
        if "value" in child:
            found[path] = Figure(
                value=float(child["value"]),
                unit=child["unit"],
                source=child["source"],
                read_on=child["read_on"],
                verified=bool(child["verified"]),
                note=child.get("note", ""),
            )
        else:
            found.update(_figures(child, f"{path}."))
    return found


# Providers whose limit the code itself keeps (shared/adapters/dynamodb/request_pace.py): the demand
# above it waits for its turn instead of meeting the provider's 429s.
PACED_PROVIDERS = frozenset({"gocardless"})


def imports_share(provider: str, requests_per_minute: float) -> float:
    """What the imports may use of a provider's limit: all of it, or, where the code paces the
    provider, the limit less the share each minute keeps for the requests people wait for."""
    if provider not in PACED_PROVIDERS:
        return requests_per_minute
    return requests_per_minute - calls_kept_for_people(int(requests_per_minute))


def load_limits(path: Path = LIMITS_FILE) -> Limits:
    figures = _figures(json.loads(path.read_text(encoding="utf-8")))

    def value(key: str) -> float:
        return figures[key].value

    latency_prefix = "latency_p50_ms."
    provider_names = {key.split(".")[1] for key in figures if key.startswith("providers.")}
    day_limit = "per_account_endpoint_per_day"
    return Limits(
        partition_wcu=value("dynamodb.partition_wcu_per_s"),
        partition_rcu=value("dynamodb.partition_rcu_per_s"),
        table_max_wru=value("dynamodb.table_max_wru_per_s"),
        table_max_rru=value("dynamodb.table_max_rru_per_s"),
        transact_wru_per_kb=value("dynamodb.transact_write_wru_per_kb"),
        account_concurrency=int(value("lambda.account_concurrency")),
        unreserved_minimum=int(value("lambda.unreserved_minimum")),
        sqs_max_concurrency_min=int(value("lambda.sqs_max_concurrency_min")),
        sqs_max_concurrency_max=int(value("lambda.sqs_max_concurrency_max")),
        sqs_in_flight=int(value("sqs.in_flight_standard")),
        latency_p50_ms={
            key.removeprefix(latency_prefix): f.value
            for key, f in figures.items()
            if key.startswith(latency_prefix)
        },
        providers={
            name: ProviderLimits(
                requests_per_minute=imports_share(
                    name, value(f"providers.{name}.import_requests_per_minute")
                ),
                p50_ms=value(f"providers.{name}.p50_ms"),
                per_account_endpoint_per_day=(
                    figures[f"providers.{name}.{day_limit}"].value
                    if f"providers.{name}.{day_limit}" in figures
                    else None
                ),
            )
            for name in sorted(provider_names)
        },
        figures=figures,
    )


def modeled_ms(record: InvocationRecord, limits: Limits, init_ms: float = 0.0) -> float:
    """The invocation's duration on AWS: its own compute, each AWS call at its modeled latency, each
    provider request at the provider's, and the init time when it started a new instance."""
    aws = sum(count * limits.call_ms(call) for call, count in record.aws_calls.items())
    provider = record.provider_requests * limits.provider_ms
    return record.compute_ms + aws + provider + (init_ms if record.cold else 0.0)


def mean_modeled_ms(
    records: list[InvocationRecord], limits: Limits, init_ms: Mapping[str, float] | None = None
) -> float:
    """The mean modeled duration of some invocations (0 for none), each cold one with its function's init."""
    if not records:
        return 0.0
    inits = init_ms or {}
    return sum(modeled_ms(r, limits, inits.get(r.function, 0.0)) for r in records) / len(records)
