"""Data Refresh (R-REF-2, R-REF-6): the dashboard's engagement rows kept in step, and the progress
the import worker reports.

The rows are rewritten from the customer and its connections whenever either changes (and after
each upload); a refresh's imports move its outcome, the job's counters and the rows' status
together. Nothing in this module knows about Lambda, HTTP or the environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.connections import IMPORTABLE, Connection
from shared.domain.errors import StaleEngagement
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob
from shared.domain.refresh import Connector, Engagement, RefreshState, refresh_result
from shared.ports.connections import ConnectionStore
from shared.ports.customers import CustomerStore
from shared.ports.refresh import EngagementRowStore, EulaStore, RefreshJobStore, RowChange
from shared.services.staff_notifications import StaffNoticePorts, refresh_progressed

ROW_RETRIES = 5  # retries when a row or the job changed between our read and our write
IMPORT_GIVEN_UP = "import_failed"  # the refresh error when its import job ends in the DLQ
CONFLICT_BACKOFF_SECONDS = 0.02  # doubled each retry: concurrent import workers share a job's item


@dataclass
class EngagementIndexPorts:
    """What keeping the dashboard rows in step needs (also used by connections and imports)."""

    rows: EngagementRowStore
    jobs: RefreshJobStore
    eula: EulaStore
    customers: CustomerStore
    connections: ConnectionStore
    current_eula_version: str
    clock: Now = field(default=business_now)


# keeping the rows in step --------------------------------------------------------------------
def sync_engagement(index: EngagementIndexPorts, firm_id: str, customer_id: str) -> None:
    """Rewrite the engagement's rows from its customer and connections (a customer with no
    connection has no online connector: no engagement)."""

    def rebuild(previous: Engagement | None) -> Engagement | None:
        customer = index.customers.get(firm_id, customer_id)
        connections = index.connections.list_for_customer(firm_id, customer_id)
        if customer is None or customer.relationship_ended or not connections:
            return None
        accepted = customer.user_id is not None and index.eula.has_accepted(
            customer.user_id, index.current_eula_version
        )
        return Engagement(
            firm_id=firm_id,
            customer_id=customer_id,
            customer_name=customer.name,
            contact_email=customer.email,
            owner_id=customer.owner_id,
            staff_ids=customer.staff_ids,
            connectors=tuple(_connector(c) for c in connections),
            customer_user_id=customer.user_id,
            eula_version=index.current_eula_version if accepted else None,
            last_upload_at=previous.last_upload_at if previous else None,
            last_refresh=previous.last_refresh if previous else None,
        )

    _change_rows(index, firm_id, customer_id, rebuild)


@dataclass
class EngagementRowsSync:
    """The `EngagementRows` port: what a connection use case calls after storing a connection."""

    index: EngagementIndexPorts

    def connection_changed(self, connection: Connection) -> None:
        sync_engagement(self.index, connection.firm_id, connection.customer_id)


def record_upload(index: EngagementIndexPorts, firm_id: str, customer_id: str, at: datetime) -> None:
    """The engagement's "last upload" (R-REF-2's from/to filter) after an import stored data. An
    engagement connected before Data Refresh existed gets its rows here (the daily import backfills)."""
    if index.rows.get_engagement(firm_id, customer_id) is None:
        sync_engagement(index, firm_id, customer_id)
    _change_rows(
        index,
        firm_id,
        customer_id,
        lambda previous: replace(previous, last_upload_at=at) if previous else None,
    )


def _change_rows(
    index: EngagementIndexPorts,
    firm_id: str,
    customer_id: str,
    change: Callable[[Engagement | None], Engagement | None],
) -> None:
    for attempt in range(ROW_RETRIES):
        back_off(attempt)
        previous = index.rows.get_engagement(firm_id, customer_id)
        updated = change(previous)
        if updated is None or updated == previous:
            return
        bucket = updated.stored_bucket(index.clock(), index.current_eula_version)
        try:
            index.rows.save_engagement(updated, previous, bucket)
            return
        except StaleEngagement:
            continue
    raise StaleEngagement()


def _connector(connection: Connection) -> Connector:
    return Connector(
        connection_id=connection.connection_id,
        provider=connection.provider,
        institution_id=connection.institution_id,
        institution_name=connection.institution_name,
        importable=connection.status in IMPORTABLE and connection.credential is not None,
        consent_expires_at=connection.expires_at,
    )


# progress from the import worker -------------------------------------------------------------
@dataclass
class RefreshProgress:
    """The `ImportProgress` port: imports report to the Data Refresh through it."""

    index: EngagementIndexPorts
    notices: StaffNoticePorts  # whoever started a refresh hears when it has finished

    def started(self, job: ImportJob) -> None:
        import_started(self.index, job)

    def uploaded(self, firm_id: str, customer_id: str, at: datetime) -> None:
        record_upload(self.index, firm_id, customer_id, at)

    def finished(self, job: ImportJob, outcome: Outcome) -> None:
        import_finished(self.index, job, outcome)
        self._notify_if_done(job)

    def given_up(self, job: ImportJob) -> None:
        import_given_up(self.index, job)
        self._notify_if_done(job)

    def _notify_if_done(self, job: ImportJob) -> None:
        if job.refresh_job_id:
            refresh_progressed(self.notices, self.index.jobs, job.firm_id, job.refresh_job_id)


def import_started(index: EngagementIndexPorts, job: ImportJob) -> None:
    """The first import of an engagement's refresh starts: queued -> running (once)."""
    if job.refresh_job_id:
        _advance(index, job, job.refresh_job_id, RefreshState.RUNNING, expected=RefreshState.QUEUED)


def import_finished(index: EngagementIndexPorts, job: ImportJob, outcome: Outcome) -> None:
    """One connection's import is done; when all of the engagement's are, running -> succeeded
    or failed (with the error), once, however often the import job is delivered."""
    _connection_finished(index, job, refresh_result(outcome)[1])


def import_given_up(index: EngagementIndexPorts, job: ImportJob) -> None:
    """The import job was parked in the dead-letter queue after its last delivery: its refresh
    ends as failed (`import_failed`) instead of staying queued or running for ever."""
    import_started(index, job)
    _connection_finished(index, job, IMPORT_GIVEN_UP)


def _connection_finished(index: EngagementIndexPorts, job: ImportJob, error: str | None) -> None:
    if not job.refresh_job_id:
        return
    progress = index.jobs.connection_finished(
        job.firm_id, job.refresh_job_id, job.customer_id, job.connection_id, error
    )
    if progress is None or not progress.finished_all:
        return
    _advance(
        index,
        job,
        job.refresh_job_id,
        progress.final_state,
        expected=RefreshState.RUNNING,
        error=progress.error,
    )


def _advance(
    index: EngagementIndexPorts,
    job: ImportJob,
    refresh_job_id: str,
    to: RefreshState,
    *,
    expected: RefreshState,
    error: str | None = None,
) -> None:
    for attempt in range(ROW_RETRIES):
        back_off(attempt)
        engagement = index.rows.get_engagement(job.firm_id, job.customer_id)
        rows = None
        last = engagement.last_refresh if engagement else None
        if engagement and last and last.job_id == refresh_job_id:
            moved = engagement.refreshed(refresh_job_id, last.day, to, error)
            rows = RowChange(
                moved, engagement, moved.stored_bucket(index.clock(), index.current_eula_version)
            )
        try:
            index.jobs.advance(
                job.firm_id, refresh_job_id, job.customer_id, to, expected=expected, error=error, rows=rows
            )
            return
        except StaleEngagement:
            continue
    raise StaleEngagement()


# helpers -------------------------------------------------------------------------------------
def back_off(attempt: int) -> None:
    """Wait before retry `attempt` of a write that met a changed row (also the jobs' claims)."""
    if attempt:
        time.sleep(CONFLICT_BACKOFF_SECONDS * 2 ** (attempt - 1))
