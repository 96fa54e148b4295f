"""Ports: the Data Refresh dashboard's rows, kept in step with the connections they show, and the
progress imports report to it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.domain.connections import Connection
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob


class EngagementRows(Protocol):
    """Called by every use case that stores a connection, right after it stored it."""

    def connection_changed(self, connection: Connection) -> None:
        """Rewrite the engagement's rows (connectors, consent expiry) from its stored state."""
        ...


class ImportProgress(Protocol):
    """What an import tells the Data Refresh (R-REF-6) and the dashboard's "last upload"."""

    def started(self, job: ImportJob) -> None: ...

    def uploaded(self, firm_id: str, customer_id: str, at: datetime) -> None: ...

    def finished(self, job: ImportJob, outcome: Outcome) -> None: ...

    def given_up(self, job: ImportJob) -> None:
        """The job was parked in the dead-letter queue after its last delivery."""
        ...
