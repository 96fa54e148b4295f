"""The recorded figures' shapes, shared by the recorder, the bill and the heat model.

One simulated day yields `InvocationRecord`s (what each Lambda invocation did: its AWS calls, the
write and read units per partition key, its compute time) and day totals that are not invocations
(API Gateway requests, emails, scheduler runs). `UsageLine`s are what a month costs: a quantity of one
priced metric, e.g. ("dynamodb", "write_request_units", "data:GSI1", 1.2e6).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

BASE = "base"  # KeyUnits.index of the table itself (else the GSI's name)


@dataclass(frozen=True)
class UsageLine:
    service: str  # lambda, apigw, dynamodb, sqs, scheduler, cognito, ses, logs, secretsmanager, kms, ...
    metric: str  # requests, gb_seconds, read_request_units, write_request_units, storage_gb_month, ...
    qualifier: str  # what it is of: a function, "table" or "table:GSI", a queue; "" when none
    quantity: float  # a month's, in the metric's unit


@dataclass(frozen=True)
class KeyUnits:
    """Capacity units one request spent on one partition of a table or of one of its GSIs."""

    table: str  # the logical table of infra/spec.py TABLES ("data", "audit", "idempotency")
    index: str  # BASE or the GSI's name
    partition_key: str  # the partition key's value
    units: float  # write units (WRU) for a write, read units (RRU) for a read


@dataclass
class InvocationRecord:
    """One Lambda invocation of the simulated day."""

    function: str  # infra/spec.py FUNCTIONS name
    activity: str  # the day's activity it belongs to: daily_import, data_refresh, staff_api, ...
    handler_ms: float  # wall time of the handler, measured locally
    aws_ms: float  # of which inside AWS calls (on moto: not AWS's time, replaced by the model's)
    provider_ms: float  # of which inside requests to the aggregators (the local sandboxes)
    aws_calls: Counter[str] = field(default_factory=Counter)  # "service:Operation" -> count
    provider_requests: int = 0  # HTTP requests to the aggregators
    sqs_requests: int = 0  # SQS requests as billed (64 KB chunks of what it sent or received)
    writes: list[KeyUnits] = field(default_factory=list)
    reads: list[KeyUnits] = field(default_factory=list)
    event_bytes: int = 0  # the invocation's event (payload) size
    response_bytes: int = 0
    log_bytes: int = 0  # what the function logged (CloudWatch Logs ingestion, before Lambda's own lines)
    cold: bool = False  # whether a new instance was started for it

    @property
    def compute_ms(self) -> float:
        """The handler's own time: what does not depend on AWS's or the provider's latency."""
        return max(self.handler_ms - self.aws_ms - self.provider_ms, 0.0)
