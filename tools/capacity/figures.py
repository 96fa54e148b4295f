"""From simulated days to a month's usage at any firm size (issue 20).

`day_figures` turns one simulated day (tools/capacity/simulate.py) into a day's quantities of each
priced metric, every activity weighted by how often it happens a day (`Mix`). `fit` takes the days
simulated at several firm sizes and, for each metric, the straight line `fixed + per_customer * N`
through them (least squares) with how far the measured points lie from it: a metric the code does
per customer is a line (tests/integration/test_capacity_simulation.py checks the largest deviation).
`monthly_usage` reads the lines at N customers: the flows * days in a month, the stocks (storage)
as they stand a year into the service, the month's active users, the fixed monthly resources.

Modelled, not measured (each named where it is used): Lambda time on AWS (tools/capacity/durations.py:
compute measured here, AWS and aggregator latencies from limits.json, init from a fresh
interpreter at each instance's first invocation of an activity), the event source mappings' empty
polls, X-Ray's sampling, Lambda's own log lines, CloudWatch Logs' stored volume.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.spec import FUNCTIONS, KEYS, QUEUES, SECRETS
from tools.capacity.usage import BASE, InvocationRecord, UsageLine

DAYS_PER_MONTH = 30.44
Metric = tuple[str, str, str]  # (service, metric, qualifier)
LAMBDA_PLATFORM_LOG_BYTES = 350  # START, END and REPORT lines Lambda writes for every invocation
XRAY_RESERVOIR_PER_DAY = 86_400  # X-Ray's default rule: 1 trace a second, then 5 %
XRAY_FIXED_RATE = 0.05
POLLERS_PER_QUEUE = 5  # an SQS event source mapping polls with 5 long-polling pollers when idle
LONG_POLL_SECONDS = 20
LOG_RETENTION_DAYS = 90  # infra/constructs/functions.py LOG_RETENTION, THREE_MONTHS (tests/infra checks)
HISTORY_DAYS = 365  # storage is priced a year into the service: onboarding plus a year of days
STAFF_PER_CUSTOMER = 1 / 250  # staff members (all of them active each month) per customer


@dataclass
class DayFigures:
    customers: int
    quantities: dict[Metric, float]  # a day's (flows) or the day's end (stocks: storage, "_bytes")


@dataclass(frozen=True)
class Line:
    fixed: float
    per_customer: float
    worst_deviation: float  # the largest |measured - line| / max(|measured|, 1) over the fitted points

    def at(self, customers: int) -> float:
        return max(self.fixed + self.per_customer * customers, 0.0)


@dataclass
class Fit:
    sizes: list[int]
    lines: dict[Metric, Line] = field(default_factory=dict)
    customer_visits_per_day: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes,
            "customer_visits_per_day": self.customer_visits_per_day,
            "lines": [{"metric": list(metric), **vars(line)} for metric, line in sorted(self.lines.items())],
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")


def day_figures(simulated: Any, mix: Any, limits: Any, init_ms: Mapping[str, float]) -> DayFigures:
    """One simulated day (a `simulate.Simulated`) as a day's quantities, each activity weighted."""
    from tools.capacity.durations import modeled_ms

    recording = simulated.recording
    day: dict[Metric, float] = defaultdict(float)
    for record in recording.records:
        if record.activity == "setup":
            continue
        weight = mix.weight(record.activity)
        spec = FUNCTIONS[record.function]
        seconds = modeled_ms(record, limits, init_ms.get(record.function, 0.0)) / 1000
        day["lambda", "requests", record.function] += weight
        day["lambda", "gb_seconds", record.function] += weight * seconds * spec.memory_mb / 1024
        if spec.kind == "api":
            day["apigw", "requests", ""] += weight
        if spec.kind == "job":
            day["scheduler", "invocations", ""] += weight
        day["logs", "ingested_gb", record.function] += (
            weight * (record.log_bytes + LAMBDA_PLATFORM_LOG_BYTES) / 1e9
        )
        day["xray", "invocations", ""] += weight  # turned into traces recorded in monthly_usage
        for name, count in record.aws_calls.items():
            service = name.partition(":")[0]
            if name == "sesv2:SendEmail":
                day["ses", "emails", ""] += weight * count
            elif service == "kms":
                day["kms", "requests", ""] += weight * count
            elif name == "secretsmanager:GetSecretValue":
                day["secretsmanager", "api_calls", ""] += weight * count
        day["sqs", "requests", ""] += weight * record.sqs_requests
        _units(day, weight, record)
    for activity, chunks in recording.outside_sqs_chunks.items():  # the event source mappings' calls
        if activity != "setup":
            day["sqs", "requests", ""] += mix.weight(activity) * chunks
    for metric, outside in (
        ("write_request_units", recording.outside_writes),
        ("read_request_units", recording.outside_reads),
    ):
        for activity, units in outside:
            if activity != "setup":
                day["dynamodb", metric, _where(units.table, units.index)] += (
                    mix.weight(activity) * units.units
                )
    for table, size in simulated.storage_bytes.items():
        day["dynamodb", "storage_bytes", table] = float(size)
        day["dynamodb", "daily_growth_bytes", table] = float(
            size - simulated.storage_before_day.get(table, 0)
        )
    return DayFigures(simulated.customers, dict(day))


def _units(day: dict[Metric, float], weight: float, record: InvocationRecord) -> None:
    for units in record.writes:
        day["dynamodb", "write_request_units", _where(units.table, units.index)] += weight * units.units
    for units in record.reads:
        day["dynamodb", "read_request_units", _where(units.table, units.index)] += weight * units.units


def _where(table: str, index: str) -> str:
    return table if index == BASE else f"{table}:{index}"


def fit(days: Sequence[DayFigures], customer_visits_per_day: float) -> Fit:
    """Each metric's least-squares line through the simulated sizes (at least two)."""
    sizes = [day.customers for day in days]
    if len(set(sizes)) < 2:
        raise ValueError("a line needs days simulated at two firm sizes at least")
    result = Fit(sizes, customer_visits_per_day=customer_visits_per_day)
    metrics = sorted({metric for day in days for metric in day.quantities})
    mean_n = statistics.fmean(sizes)
    spread = sum((n - mean_n) ** 2 for n in sizes)
    for metric in metrics:
        values = [day.quantities.get(metric, 0.0) for day in days]
        mean_v = statistics.fmean(values)
        slope = sum((n - mean_n) * (v - mean_v) for n, v in zip(sizes, values, strict=True)) / spread
        fixed = mean_v - slope * mean_n
        worst = max(
            abs(v - (fixed + slope * n)) / max(abs(v), 1.0) for n, v in zip(sizes, values, strict=True)
        )
        result.lines[metric] = Line(fixed, slope, worst)
    return result


def monthly_usage(figures: Fit, customers: int) -> list[UsageLine]:
    """What a firm of `customers` customers uses in a month, as priced lines."""
    month: dict[Metric, float] = defaultdict(float)
    invocations_per_day = 0.0
    for (service, metric, qualifier), line in figures.lines.items():
        value = line.at(customers)
        if (service, metric) == ("xray", "invocations"):
            invocations_per_day = value
        elif (service, metric) == ("dynamodb", "storage_bytes"):
            growth = figures.lines.get(("dynamodb", "daily_growth_bytes", qualifier))
            stored = value + (growth.at(customers) if growth else 0.0) * HISTORY_DAYS
            month["dynamodb", "storage_gb_month", qualifier] += stored / 1e9
            month["dynamodb", "pitr_gb_month", qualifier] += stored / 1e9
        elif (service, metric) == ("dynamodb", "daily_growth_bytes"):
            continue
        else:
            month[service, metric, qualifier] += value * DAYS_PER_MONTH
            if (service, metric) == ("logs", "ingested_gb"):  # kept LOG_RETENTION_DAYS, uncompressed
                month["logs", "stored_gb_month", qualifier] += value * LOG_RETENTION_DAYS
    recorded = min(invocations_per_day, XRAY_RESERVOIR_PER_DAY) + XRAY_FIXED_RATE * max(
        invocations_per_day - XRAY_RESERVOIR_PER_DAY, 0.0
    )
    month["xray", "traces_recorded", ""] = recorded * DAYS_PER_MONTH
    idle_polls = len(QUEUES) * POLLERS_PER_QUEUE * 86_400 / LONG_POLL_SECONDS
    month["sqs", "requests", "idle polling"] = idle_polls * DAYS_PER_MONTH
    active_customers = customers * (1 - math.exp(-figures.customer_visits_per_day * DAYS_PER_MONTH))
    month["cognito", "mau", ""] = active_customers + customers * STAFF_PER_CUSTOMER
    month["secretsmanager", "secrets", ""] = len(SECRETS)
    month["kms", "keys", ""] = len(KEYS) + 1  # the spec's keys and the alarm topic's key
    return [UsageLine(*metric, quantity) for metric, quantity in sorted(month.items()) if quantity > 0]
