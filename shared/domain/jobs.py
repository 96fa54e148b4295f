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


@dataclass(frozen=True)
class ImportJob:
    firm_id: str
    customer_id: str
    connection_id: str
    reason: ImportReason

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> ImportJob:
        data = json.loads(body)
        return cls(data["firm_id"], data["customer_id"], data["connection_id"], ImportReason(data["reason"]))
