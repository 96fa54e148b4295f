"""The data lifecycle after consent (R-PRIV-1..3): a relationship that ends, what the firm retains
and for how long, and when a customer's personal data is erased.

Pure rules: no boto3, no environment. Days are the firm's local days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_RETENTION_YEARS = 6  # what a firm keeps for its bookkeeping unless it says otherwise (R-PRIV-2)
MIN_RETENTION_YEARS = 1
MAX_RETENTION_YEARS = 30


class EndedBy(StrEnum):
    FIRM = "firm"  # the firm removed the customer
    CUSTOMER = "customer"  # the customer left the firm


@dataclass(frozen=True)
class FirmSettings:
    """A firm's own settings for the data lifecycle."""

    firm_id: str
    retention_years: int = DEFAULT_RETENTION_YEARS


def local_day(moment: datetime, timezone: str) -> date:
    """The firm's calendar day of `moment`."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def erasure_due(ended_at: datetime, timezone: str, retention_years: int) -> date:
    """The firm-local day from which an ended relationship's data is erased: the day it ended, that
    many years on (29 February ends on 28 February of a common year)."""
    day = local_day(ended_at, timezone)
    try:
        return day.replace(year=day.year + retention_years)
    except ValueError:
        return day.replace(year=day.year + retention_years, day=28)


@dataclass(frozen=True)
class ErasureJob:
    """What the erasure queue carries: the customer of one firm whose data is erased."""

    firm_id: str
    customer_id: str

    def to_json(self) -> str:
        return json.dumps({"firm_id": self.firm_id, "customer_id": self.customer_id}, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> ErasureJob:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("an erasure job is a JSON object")
        firm_id, customer_id = data.get("firm_id"), data.get("customer_id")
        if not (isinstance(firm_id, str) and firm_id and isinstance(customer_id, str) and customer_id):
            raise ValueError("an erasure job names a firm and a customer")
        return cls(firm_id, customer_id)
