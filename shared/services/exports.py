"""CSV exports (issue 16 item 8, R-PRIV-4): a customer's transactions and the firm's audit log.

A request checks who may export what, writes the export (queued) with its `export.requested`
audit event in one transaction and queues one job. The worker reads the data a page at a time (one
Query per page), writes each page's CSV lines to the object being uploaded in parts, so memory holds
one page and one part whatever the size, and marks the export done with its line count and its
`export.completed` event in one transaction. A redelivered job writes the same object again (one
key per export) and finds the export finished: no second completion. The requester (or an admin)
gets a short-lived download URL; issuing one is an audited read (`read.export`, R-PRIV-4).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.accounts import AccountStatus
from shared.domain.audit import AuditEvent, ReadOf
from shared.domain.errors import NotFound, QueueSendFailed, UpstreamUnavailable
from shared.domain.exports import (
    AUDIT_COLUMNS,
    BOM,
    DOWNLOAD_URL_SECONDS,
    OBJECT_DAYS,
    TRANSACTION_COLUMNS,
    Export,
    ExportFilter,
    ExportJob,
    ExportKind,
    ExportStatus,
    audit_row,
    transaction_row,
)
from shared.domain.identity import StaffContext
from shared.observability import logger, metrics
from shared.ports.accounts import AccountStore
from shared.ports.audit import AuditTrail
from shared.ports.customers import CustomerStore
from shared.ports.exports import ExportFiles, ExportStore, ObjectWriter
from shared.ports.queue import JobSender
from shared.services.audit import record_read
from shared.services.customers import visible_customer

PAGE_SIZE = 1000  # items per Query: about 0.5 MB of transactions, under DynamoDB's 1 MB page
ACTIONS = {
    ExportKind.TRANSACTIONS: FirmAction.EXPORT_TRANSACTIONS,
    ExportKind.AUDIT: FirmAction.EXPORT_AUDIT_LOG,
}
Rows = list[Sequence[str]]


@dataclass
class ExportPorts:
    exports: ExportStore
    files: ExportFiles
    customers: CustomerStore
    accounts: AccountStore
    audit: AuditTrail
    queue: JobSender
    clock: Now = field(default=business_now)
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class ExportView:
    export: Export
    status: ExportStatus  # as stored, or `expired` once the object is gone
    download_url: str | None


# requests ----------------------------------------------------------------------------------------
def request_transactions_export(
    ports: ExportPorts, staff: StaffContext, customer_id: str, export_filter: ExportFilter
) -> Export:
    """A customer the caller sees (R-ROLE-2), one of its accepted accounts or all of them."""
    authorize(staff, FirmAction.EXPORT_TRANSACTIONS)
    visible_customer(ports, staff, customer_id)
    if export_filter.account_id is not None:
        account = ports.accounts.get(staff.firm_id, customer_id, export_filter.account_id)
        if account is None or account.status is not AccountStatus.ACCEPTED:
            raise NotFound()
    return _queue(ports, staff, ExportKind.TRANSACTIONS, customer_id, export_filter)


def request_audit_export(
    ports: ExportPorts, staff: StaffContext, customer_id: str | None, export_filter: ExportFilter
) -> Export:
    """The firm's audit log, or one customer's events (admins; like `GET /audit`, an id of no
    customer of the firm gives an empty log, never another firm's)."""
    authorize(staff, FirmAction.EXPORT_AUDIT_LOG)
    return _queue(ports, staff, ExportKind.AUDIT, customer_id, export_filter)


def _queue(
    ports: ExportPorts,
    staff: StaffContext,
    kind: ExportKind,
    customer_id: str | None,
    export_filter: ExportFilter,
) -> Export:
    now = ports.clock()
    export = Export(
        firm_id=staff.firm_id,
        export_id=str(ULID.from_datetime(now)),
        kind=kind,
        requested_by=staff.principal.user_id,
        created_at=now,
        customer_id=customer_id,
        filter=export_filter,
    )
    details = {"kind": kind.value, **export_filter.as_details()}
    ports.exports.create(
        export, ports.audit.put_op(_event(export, export.requested_by, "export.requested", details, now))
    )
    try:
        ports.queue.send([ExportJob(export.firm_id, export.export_id).to_json()])
    except QueueSendFailed:
        failed = replace(export, status=ExportStatus.FAILED, error="not_queued", finished_at=now)
        ports.exports.finish(failed)
        raise UpstreamUnavailable("The export could not be queued; try again.") from None
    metrics.add_metric(name="ExportsRequested", unit="Count", value=1)
    return export


# reading ---------------------------------------------------------------------------------------
def view_export(ports: ExportPorts, staff: StaffContext, export_id: str) -> ExportView:
    """The requester's export, or any of the firm's for an admin; with a download URL once done.
    The right to export is checked again (a role or an assignment may have changed since)."""
    export = ports.exports.get(staff.firm_id, export_id)
    if export is None or not (staff.is_admin or export.requested_by == staff.principal.user_id):
        raise NotFound()
    authorize(staff, ACTIONS[export.kind])
    if export.kind is ExportKind.TRANSACTIONS and export.customer_id:
        visible_customer(ports, staff, export.customer_id)
    now = ports.clock()
    if export.status is not ExportStatus.DONE:
        return ExportView(export, export.status, None)
    if export.finished_at is None or now >= export.finished_at + timedelta(days=OBJECT_DAYS):
        return ExportView(export, ExportStatus.EXPIRED, None)
    url = ports.files.download_url(
        export.firm_id, export.export_id, file_name=export.file_name, expires_seconds=DOWNLOAD_URL_SECONDS
    )
    reader, target = (staff.firm_id, staff.principal.user_id), ("export", export.export_id)
    kind, rows = {"kind": export.kind.value}, export.line_count or 0
    record_read(ports.audit, reader, now, ReadOf.EXPORT, target, export.customer_id, rows=rows, scope=kind)
    return ExportView(export, ExportStatus.DONE, url)


# the worker ------------------------------------------------------------------------------------
def write_export(ports: ExportPorts, job: ExportJob) -> None:
    """Write the export's CSV and mark it done (once, however often the job is delivered)."""
    export = ports.exports.get(job.firm_id, job.export_id)
    if export is None or export.status is not ExportStatus.QUEUED:
        logger.info("Export already finished", extra={"export_id": job.export_id})
        return
    header, pages = (
        (TRANSACTION_COLUMNS, _transaction_pages(ports, export))
        if export.kind is ExportKind.TRANSACTIONS
        else (AUDIT_COLUMNS, _audit_pages(ports, export))
    )
    writer = ports.files.writer(export.firm_id, export.export_id)
    try:
        lines = write_csv(writer, header, pages)
        writer.complete()
    except BaseException:
        writer.abort()
        raise
    now = ports.clock()
    done = replace(export, status=ExportStatus.DONE, line_count=lines, finished_at=now)
    details = {"kind": export.kind.value, "lines": lines}
    if ports.exports.finish(
        done, ports.audit.put_op(_event(export, export.requested_by, "export.completed", details, now))
    ):
        metrics.add_metric(name="ExportLines", unit="Count", value=lines)
    else:
        logger.info("Export finished by another delivery", extra={"export_id": export.export_id})


def export_given_up(ports: ExportPorts, job: ExportJob) -> None:
    """The job was parked after its last delivery: the export says it failed, not queued for ever."""
    export = ports.exports.get(job.firm_id, job.export_id)
    if export is not None and export.status is ExportStatus.QUEUED:
        failed = replace(export, status=ExportStatus.FAILED, error="export_failed", finished_at=ports.clock())
        ports.exports.finish(failed)


def write_csv(writer: ObjectWriter, header: Sequence[str], pages: Iterable[Rows]) -> int:
    """RFC 4180 lines (CRLF, minimal quoting) after a BOM and the header, handed to `writer` a page
    at a time (never the whole file); the number of data lines."""
    text = io.StringIO()
    lines = csv.writer(text, lineterminator="\r\n")
    text.write(BOM)
    lines.writerow(header)
    count = 0
    for rows in pages:
        lines.writerows(rows)
        count += len(rows)
        writer.write(text.getvalue().encode("utf-8"))
        text.seek(0)
        text.truncate()
    if text.tell():
        writer.write(text.getvalue().encode("utf-8"))
    return count


def _transaction_pages(ports: ExportPorts, export: Export) -> Iterator[Rows]:
    """The customer's lines on accepted accounts, newest first (as `GET …/transactions`)."""
    wanted, customer_id = export.filter, export.customer_id or ""  # a transactions export names one
    names = {
        account.account_id: account.name
        for account in ports.accounts.list_for_customer(export.firm_id, customer_id)
        if account.status is AccountStatus.ACCEPTED
    }
    cursor: str | None = None
    while True:
        page = ports.accounts.list_transactions(
            export.firm_id,
            customer_id,
            account_id=wanted.account_id,
            date_from=wanted.date_from,
            date_to=wanted.date_to,
            cursor=cursor,
            limit=ports.page_size,
        )
        yield [
            transaction_row(line, names[line.account_id])
            for line in page.transactions
            if line.account_id in names and (wanted.include_pending or not line.pending)
        ]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _audit_pages(ports: ExportPorts, export: Export) -> Iterator[Rows]:
    """The firm's (or one customer's) audit events of the range, newest first (as `GET /audit`)."""
    cursor: str | None = None
    while True:
        events, cursor = ports.audit.page(
            export.firm_id,
            customer_id=export.customer_id,
            cursor=cursor,
            limit=ports.page_size,
            date_from=export.filter.date_from,
            date_to=export.filter.date_to,
        )
        yield [audit_row(event) for event in events]
        if cursor is None:
            return


def _event(export: Export, actor_id: str, action: str, details: dict[str, Any], at: datetime) -> AuditEvent:
    """An event about the export and its customer: who, what, how many lines (ids and counts only)."""
    return AuditEvent(
        export.firm_id, actor_id, action, "export", export.export_id, details, at, export.customer_id
    )
