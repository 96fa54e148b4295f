"""Import rules (R-IMP-1..4, R-CON-6): windows, keys, the daily call budget.

Transaction keys: the provider's transaction id when there is one (stable across fetches
and consents); otherwise a SHA-256 fingerprint of our own (stable) account id and the
provider's identifying fields, with an occurrence index for identical movements of a day.
Limit of the fingerprint: if a bank edits such a transaction's text or amount later, the
edited one is a new key (the old one stays unless it was pending, which snapshots replace).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.domain.aggregator import AggregatorTransaction

OVERLAP_DAYS = 3  # re-read the last days: banks book late and pendings turn into bookings
DAILY_CALLS_PER_ENDPOINT = 4  # GoCardless: requests per account, per limited endpoint, per day
MAX_HISTORY_DAYS = 730


class Outcome(StrEnum):
    IMPORTED = "imported"
    NOT_IMPORTABLE = "not_importable"  # revoked, expired, pending...: parked, known reason
    NO_ACCEPTED_ACCOUNTS = "no_accepted_accounts"
    BUDGET_SPENT = "budget_spent"  # today's calls are used up: tomorrow's run continues
    CONSENT_EXPIRED = "consent_expired"  # connection marked expired, customer notified
    CREDENTIALS_REJECTED = "credentials_rejected"
    ACCOUNTS_UNAVAILABLE = "accounts_unavailable"  # no account could be read (flagged, some retried)


def last_closed_day(now: datetime, timezone: str) -> date:
    """The previous day in the firm's time zone: imports go up to its close (R-IMP-1)."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def window_start(last_booked: date | None, linked_at: datetime, history_days: int) -> date:
    """From the last imported booking date (minus an overlap), or the whole allowed history
    for a first import. After a lapse the gap is covered, within the history (R-CON-6)."""
    earliest = linked_at.date() - timedelta(days=history_days)
    if last_booked is None:
        return earliest
    return max(earliest, last_booked - timedelta(days=OVERLAP_DAYS))


def transaction_key(transaction: AggregatorTransaction, account_id: str) -> str:
    if transaction.transaction_id and transaction.transaction_id.strip():
        return transaction.transaction_id.strip()
    canonical = json.dumps([account_id, sorted(transaction.raw_fingerprint_fields)], ensure_ascii=False)
    return "fp_" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def booking_day(transaction: AggregatorTransaction, fallback: date) -> date:
    return transaction.booking_date or transaction.value_date or fallback
