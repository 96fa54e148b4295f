"""Port: export records and the private object store their CSV files go to.

What services need from storage; `shared/adapters/dynamodb/exports_repository.py` and
`shared/adapters/export_files.py` implement it, tests fake it (tests/fakes.py).
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.exports import Export
from shared.ports.storage import TransactItem


class ExportStore(Protocol):
    def create(self, export: Export, *extra: TransactItem) -> Export:
        """Write the new export with `extra` (its audit event) in one transaction."""
        ...

    def get(self, firm_id: str, export_id: str) -> Export | None: ...

    def finish(self, export: Export, *extra: TransactItem) -> bool:
        """Store `export` (done or failed) with `extra` in one transaction, only if it is still
        queued; False when it was not (another delivery finished it first)."""
        ...


class ObjectWriter(Protocol):
    """One object being written in parts: at most one part is held in memory."""

    def write(self, chunk: bytes) -> None: ...

    def complete(self) -> None:
        """The object exists, whole, under its key (replacing an earlier one)."""
        ...

    def abort(self) -> None:
        """Nothing of this write is kept."""
        ...


class ExportFiles(Protocol):
    def writer(self, firm_id: str, export_id: str) -> ObjectWriter:
        """A writer of the export's one object (the same key for every attempt)."""
        ...

    def delete(self, firm_id: str, export_id: str) -> None:
        """Remove the export's file, if there is one (a customer's erasure)."""
        ...

    def download_url(self, firm_id: str, export_id: str, *, file_name: str, expires_seconds: int) -> str:
        """A presigned GET of the export's object, valid `expires_seconds`."""
        ...
