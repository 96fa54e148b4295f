"""Messages between functions: what the import queue carries."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum


class ImportReason(StrEnum):
    SCHEDULE = "schedule"  # the daily import (R-IMP-1)
    REFRESH = "refresh"  # Data Refresh (R-REF-*)
    MANUAL = "manual"  # "Import transactions" by a firm user
    PROVIDER = "provider"  # the aggregator says new data is ready (Plaid SYNC_UPDATES_AVAILABLE)
    ACCEPTED = "accepted"  # an account the firm has just accepted: its first import, at once


@dataclass(frozen=True)
class ImportJob:
    firm_id: str
    customer_id: str
    connection_id: str
    reason: ImportReason
    refresh_job_id: str | None = None  # a Data Refresh job to report progress to (R-REF-6)
    # A retry of some accounts only (our account ids), after `attempt` earlier tries: the other
    # accounts of the connection were imported by the job that failed on these.
    accounts: tuple[str, ...] | None = None
    attempt: int = 0

    def to_json(self) -> str:
        values = {name: value for name, value in asdict(self).items() if value is not None and value != 0}
        return json.dumps(values, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> ImportJob:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("an import job is a JSON object")
        return cls(
            _id(data["firm_id"]),
            _id(data["customer_id"]),
            _id(data["connection_id"]),
            ImportReason(data["reason"]),
            data.get("refresh_job_id"),
            tuple(str(a) for a in data["accounts"]) if isinstance(data.get("accounts"), list) else None,
            int(data.get("attempt", 0)),
        )


def _id(value: object) -> str:
    """An id a job names: a non-blank string, or the message is not a job (it is parked)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a job names its firm, customer and connection")
    return value
