"""Bodies of the exports API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.exports import AUDIT_COLUMNS, TRANSACTION_COLUMNS, ExportFilter, ExportKind, ExportStatus
from shared.services.exports import ExportView


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TransactionsExportIn(StrictBody):
    account_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="One accepted account; all of them if absent"
    )
    date_from: date | None = Field(default=None, alias="from", description="First booking day, inclusive")
    date_to: date | None = Field(default=None, alias="to", description="Last booking day, inclusive")
    include_pending: bool = Field(default=False, description="Pending lines too (default: booked only)")

    def to_filter(self) -> ExportFilter:
        return ExportFilter(self.date_from, self.date_to, self.account_id, self.include_pending)


class AuditExportIn(StrictBody):
    customer_id: str | None = Field(
        default=None, min_length=1, max_length=40, description="One customer's events only"
    )
    date_from: date | None = Field(default=None, alias="from", description="First day (UTC), inclusive")
    date_to: date | None = Field(default=None, alias="to", description="Last day (UTC), inclusive")

    def to_filter(self) -> ExportFilter:
        return ExportFilter(self.date_from, self.date_to)


class ExportOut(BaseModel):
    export_id: str
    kind: ExportKind
    status: ExportStatus = Field(description="queued, done, failed; expired once the file is deleted (a day)")
    customer_id: str | None
    account_id: str | None
    date_from: date | None = Field(alias="from")
    date_to: date | None = Field(alias="to")
    include_pending: bool
    created_at: datetime
    finished_at: datetime | None
    line_count: int | None = Field(description="Data lines of the CSV (the header row aside), once done")
    error: str | None = Field(description="Why it failed: not_queued, export_failed")
    columns: list[str] = Field(description="The CSV's header row, in order")
    download_url: str | None = Field(
        description="Once done: a presigned GET of the CSV, valid 15 minutes (ask again for a fresh one)"
    )

    @classmethod
    def of(cls, view: ExportView) -> ExportOut:
        export = view.export
        wanted = export.filter
        return cls.model_validate(
            {
                "export_id": export.export_id,
                "kind": export.kind,
                "status": view.status,
                "customer_id": export.customer_id,
                "account_id": wanted.account_id,
                "from": wanted.date_from,
                "to": wanted.date_to,
                "include_pending": wanted.include_pending,
                "created_at": export.created_at,
                "finished_at": export.finished_at,
                "line_count": export.line_count,
                "error": export.error,
                "columns": list(
                    TRANSACTION_COLUMNS if export.kind is ExportKind.TRANSACTIONS else AUDIT_COLUMNS
                ),
                "download_url": view.download_url,
            }
        )
