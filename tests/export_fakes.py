"""In-memory ports of CSV exports (issue 16 item 8), beside tests/fakes.py and with its semantics:
an export written with its audit event in one transaction, finished only while queued; and an
object store that keeps each object's bytes and how much a writer ever held at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.domain.exports import Export, ExportStatus
from shared.ports.storage import TransactItem
from tests.fakes import (
    FakeAccounts,
    FakeAudit,
    FakeCustomers,
    FakeQueue,
    Has,
    absent,
    put_item,
    transact_write,
)


@dataclass
class FakeExports:
    """ExportStore: exports by (firm, id)."""

    rows: dict[tuple[str, str], Export] = field(default_factory=dict)

    def create(self, export: Export, *extra: TransactItem) -> Export:
        transact_write([put_item(self.rows, (export.firm_id, export.export_id), export, absent), *extra])
        return export

    def get(self, firm_id: str, export_id: str) -> Export | None:
        return self.rows.get((firm_id, export_id))

    def finish(self, export: Export, *extra: TransactItem) -> bool:
        key = (export.firm_id, export.export_id)
        try:
            transact_write([put_item(self.rows, key, export, Has("status", ExportStatus.QUEUED)), *extra])
        except Exception:  # the transaction was cancelled: not queued any more
            return False
        return True


@dataclass
class FakeWriter:
    files: FakeExportFiles
    key: tuple[str, str]
    part_bytes: int
    buffer: bytearray = field(default_factory=bytearray)
    parts: list[bytes] = field(default_factory=list)

    def write(self, chunk: bytes) -> None:
        self.files.chunks.append(len(chunk))
        self.buffer += chunk
        self.files.most_held = max(self.files.most_held, len(self.buffer))
        while len(self.buffer) >= self.part_bytes:
            self.parts.append(bytes(self.buffer[: self.part_bytes]))
            del self.buffer[: self.part_bytes]

    def complete(self) -> None:
        if self.files.failing:
            raise RuntimeError("the object store is unavailable")
        self.files.objects[self.key] = b"".join(self.parts) + bytes(self.buffer)
        self.files.part_counts[self.key] = len(self.parts) + (1 if self.buffer else 0)

    def abort(self) -> None:
        self.files.aborted += 1


@dataclass
class FakeExportFiles:
    """ExportFiles: objects by (firm, export id); `most_held` is the most bytes a writer ever held,
    `chunks` the size of every write (the service's pages)."""

    part_bytes: int = 8 * 1024 * 1024
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    part_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    chunks: list[int] = field(default_factory=list)
    most_held: int = 0
    aborted: int = 0
    urls: list[tuple[str, int]] = field(default_factory=list)
    failing: bool = False

    def writer(self, firm_id: str, export_id: str) -> FakeWriter:
        return FakeWriter(self, (firm_id, export_id), self.part_bytes)

    def delete(self, firm_id: str, export_id: str) -> None:
        self.objects.pop((firm_id, export_id), None)

    def download_url(self, firm_id: str, export_id: str, *, file_name: str, expires_seconds: int) -> str:
        url = f"https://exports.example/{firm_id}/{export_id}?name={file_name}&expires={expires_seconds}"
        self.urls.append((url, expires_seconds))
        return url

    def text(self, firm_id: str, export_id: str) -> str:
        return self.objects[(firm_id, export_id)].decode("utf-8")


@dataclass
class ExportFakes:
    exports: FakeExports = field(default_factory=FakeExports)
    files: FakeExportFiles = field(default_factory=FakeExportFiles)
    customers: FakeCustomers = field(default_factory=FakeCustomers)
    accounts: FakeAccounts = field(default_factory=FakeAccounts)
    audit: FakeAudit = field(default_factory=FakeAudit)
    queue: FakeQueue = field(default_factory=FakeQueue)
    page_size: int = 1000

    def ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.exports import ExportPorts

        return ExportPorts(
            exports=self.exports,
            files=self.files,
            customers=self.customers,
            accounts=self.accounts,  # type: ignore[arg-type]  # the subset services call
            audit=self.audit,
            queue=self.queue,
            clock=clock,
            page_size=self.page_size,
        )

    def with_page_size(self, size: int) -> ExportFakes:
        return replace(self, page_size=size)
