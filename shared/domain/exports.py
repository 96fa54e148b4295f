"""CSV exports (issue 16 item 8): a customer's transactions and the firm's audit log.

An export is a record (queued, then done with its line count, or failed) and a CSV object written
by a worker. The CSV is RFC 4180 (comma, CRLF, fields quoted when they hold a comma, a quote or a
line break), UTF-8 with a byte-order mark so spreadsheets read the accents right, a header row
always, and the columns below in this order (the README documents them: keep it in step).

Formula safety: a spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return) as
a formula. Every cell that carries text from outside (descriptions, counterparties, names, ids and
codes we did not mint) is written with a leading apostrophe when it starts with one of them. The
cells we format ourselves (amounts, dates, times, booleans) never are: a negative amount stays
-12.50, a number to the spreadsheet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared.domain.accounts import BankTransaction
from shared.domain.audit import AuditEvent
from shared.domain.errors import InvalidRequest
from shared.domain.money import format_amount

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DOWNLOAD_URL_SECONDS = 15 * 60  # a presigned GET lives this long
OBJECT_DAYS = 1  # the bucket's lifecycle rule deletes an export's object after this many days

TRANSACTION_COLUMNS = (
    "booking_date",
    "account_id",
    "account_name",
    "amount",
    "currency",
    "status",
    "description",
    "counterparty",
    "ledger_account",
    "category",
    "transaction_id",
)
AUDIT_COLUMNS = (
    "occurred_at",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "customer_id",
    "details",
)


class ExportKind(StrEnum):
    TRANSACTIONS = "transactions"
    AUDIT = "audit"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # shown, never stored: done, and its object is past the bucket's lifetime


@dataclass(frozen=True)
class ExportFilter:
    """What an export holds: a date range (inclusive; audit: UTC days), and for transactions one
    account or all accepted ones, with or without pending lines; for the audit log, one customer's
    events or the firm's."""

    date_from: date | None = None
    date_to: date | None = None
    account_id: str | None = None
    include_pending: bool = False

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidRequest("The date range ends before it starts.", code="invalid_date_range")

    def as_details(self) -> dict[str, Any]:
        """The filter as audit details and stored fields (ids, dates and flags only)."""
        values = {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "account_id": self.account_id,
            "include_pending": self.include_pending or None,
        }
        return {name: value for name, value in values.items() if value is not None}

    @classmethod
    def of_details(cls, values: dict[str, Any]) -> ExportFilter:
        return cls(
            date_from=date.fromisoformat(values["date_from"]) if values.get("date_from") else None,
            date_to=date.fromisoformat(values["date_to"]) if values.get("date_to") else None,
            account_id=values.get("account_id"),
            include_pending=bool(values.get("include_pending", False)),
        )


@dataclass(frozen=True)
class Export:
    firm_id: str
    export_id: str  # a ULID: sortable by creation time
    kind: ExportKind
    requested_by: str  # the staff member's sub
    created_at: datetime
    customer_id: str | None = None  # the customer exported, or the audit log's one customer
    filter: ExportFilter = field(default_factory=ExportFilter)
    status: ExportStatus = ExportStatus.QUEUED
    line_count: int | None = None  # data lines, the header aside (once done)
    finished_at: datetime | None = None
    error: str | None = None  # a stable code, when failed

    @property
    def file_name(self) -> str:
        """What the browser saves the download as."""
        return f"{self.kind.value}-{self.export_id}.csv"


@dataclass(frozen=True)
class ExportJob:
    """What the export queue carries: the export to write (the rest is on its record)."""

    firm_id: str
    export_id: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> ExportJob:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("an export job is a JSON object")
        values = (data["firm_id"], data["export_id"])
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise ValueError("an export job names its firm and export")
        return cls(*values)


# rows ------------------------------------------------------------------------------------------
def safe_text(value: str | None) -> str:
    """A text cell a spreadsheet will not run as a formula (see the module's docstring)."""
    if not value:
        return ""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def transaction_row(transaction: BankTransaction, account_name: str) -> Sequence[str]:
    return (
        transaction.booking_date.isoformat(),
        safe_text(transaction.account_id),
        safe_text(account_name),
        format_amount(transaction.amount, transaction.currency),  # as on the wire: -12.50
        safe_text(transaction.currency),
        "pending" if transaction.pending else "booked",
        safe_text(transaction.description),
        safe_text(transaction.counterparty),
        safe_text(transaction.ledger_account),
        safe_text(transaction.category),
        safe_text(transaction.transaction_key),
    )


def audit_row(event: AuditEvent) -> Sequence[str]:
    return (
        event.occurred_at.isoformat(),
        safe_text(event.actor_id),
        safe_text(event.action),
        safe_text(event.target_type),
        safe_text(event.target_id),
        safe_text(event.customer_id),
        safe_text(json.dumps(event.details, sort_keys=True, separators=(",", ":"), default=str)),
    )
