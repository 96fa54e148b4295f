"""Data Refresh (R-REF-1..6): EULA, dashboard, trigger, fan-out, job progress.

The trigger only records the job and queues its selection; the fan-out worker reads the
engagements a page at a time, claims each one's day (the daily cap), excludes the rest with
their reason (each claim, each write of exclusions in one transaction with its audit event:
`refresh.claimed`, `refresh.excluded`), then sends one import job per refreshable connection to
the import worker, which reports back to `engagement_rows`. Nothing in this module knows about
Lambda, HTTP or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.domain.audit import SYSTEM, AuditEvent
from shared.domain.errors import Conflict, NotFound, QueueSendFailed, StaleEngagement, UpstreamUnavailable
from shared.domain.identity import Principal, StaffContext
from shared.domain.jobs import ImportJob, ImportReason
from shared.domain.limits import Action, charges
from shared.domain.refresh import (
    FANOUT_PAGE,
    DashboardClock,
    Engagement,
    EngagementOutcome,
    ExclusionReason,
    FanoutMessage,
    JobCounts,
    PackageInUse,
    RefreshFilters,
    RefreshJob,
    RefreshState,
    exclusion_for,
    firm_day,
)
from shared.domain.search import search_prefix
from shared.observability import logger, metrics
from shared.ports.audit import AuditTrail
from shared.ports.firm_bound import bind_ports
from shared.ports.identity import IdentityStore
from shared.ports.limits import Limiter
from shared.ports.queue import JobSender
from shared.ports.refresh import Claim, EngagementPage, EulaTexts, ExclusionEvent, RowChange
from shared.ports.storage import TransactItem
from shared.services.engagement_rows import ROW_RETRIES, EngagementIndexPorts, back_off, sync_engagement
from shared.services.staff_notifications import StaffNoticePorts, refresh_progressed


@dataclass
class RefreshPorts:
    index: EngagementIndexPorts
    identities: IdentityStore
    audit: AuditTrail
    fanout: JobSender
    imports: JobSender
    default_timezone: str
    notices: StaffNoticePorts  # whoever started a refresh hears when it has finished
    eula_texts: EulaTexts
    limits: Limiter  # abuse limits, spent before an email or a provider call (shared/domain/limits.py)


@dataclass(frozen=True)
class EulaAcceptance:
    version: str
    accepted_at: datetime


@dataclass(frozen=True)
class Dashboard:
    page: EngagementPage
    clock: DashboardClock
    staff_names: dict[str, str]  # user id -> name, for the owners and assignees on the page


@dataclass(frozen=True)
class EulaDocument:
    version: str
    text: str
    accepted: bool  # by the caller (a customer accepts it for every firm they are a customer of)


@dataclass(frozen=True)
class JobProgress:
    job: RefreshJob
    outcomes: list[EngagementOutcome]
    next_cursor: str | None


# EULA (R-REF-5) ------------------------------------------------------------------------------
def current_eula(ports: RefreshPorts, principal: Principal) -> EulaDocument:
    """The version to accept now, its text, and whether the caller has accepted it."""
    version = ports.index.current_eula_version
    accepted = ports.index.eula.has_accepted(principal.user_id, version)
    return EulaDocument(version, ports.eula_texts.text(version), accepted)


def accept_eula(ports: RefreshPorts, principal: Principal, version: str) -> EulaAcceptance:
    """The customer accepts the current EULA; their engagements become refreshable."""
    current = ports.index.current_eula_version
    if version != current:
        raise Conflict(f"The current EULA is version {current}.", code="eula_version_outdated")
    now = ports.index.clock()
    links = ports.identities.list_customer_links(principal.user_id)
    # Each firm the person is a customer of records their consent to the version, with it.
    events = [
        AuditEvent(link.firm_id, principal.user_id, "customer.eula_accepted", "customer", link.customer_id,
                   {"version": current}, now, link.customer_id)
        for link in links
    ]  # fmt: skip
    accepted_at = ports.index.eula.record_eula(
        principal.user_id, current, now, *(ports.audit.put_op(event) for event in events)
    )
    for link in links:  # each firm, bound to it
        sync_engagement(bind_ports(ports.index, link.firm_id), link.firm_id, link.customer_id)
    return EulaAcceptance(current, accepted_at)


# dashboard (R-REF-1, R-REF-2) ----------------------------------------------------------------
def list_engagements(
    ports: RefreshPorts, staff: StaffContext, filters: RefreshFilters, *, cursor: str | None, limit: int
) -> Dashboard:
    """The engagements with an online connector that the caller sees (admins: the firm's;
    advisers: those they own or are assigned to), the clock their statuses are read with, and the
    names of the staff the page shows (owners, assignees): one batch read of their profiles."""
    authorize(staff, FirmAction.TRIGGER_REFRESH)
    clock = _dashboard_clock(ports, staff.firm_id)
    page = ports.index.rows.page(staff.firm_id, _scope(staff), filters, clock, cursor=cursor, limit=limit)
    people = {person for row in page.rows for person in (row.owner_id, *row.staff_ids)}
    profiles = ports.identities.get_profiles(people) if people else {}
    return Dashboard(page, clock, {user_id: profile.name for user_id, profile in profiles.items()})


def list_packages(ports: RefreshPorts, staff: StaffContext) -> list[PackageInUse]:
    """The package values in use in the caller's scope (admins: the firm's engagements; advisers:
    those they own or are assigned to), for the dashboard's package filter."""
    authorize(staff, FirmAction.TRIGGER_REFRESH)
    return ports.index.rows.packages_in_use(staff.firm_id, _scope(staff))


# trigger (R-REF-3, R-REF-6) ------------------------------------------------------------------
def trigger_refresh(
    ports: RefreshPorts,
    staff: StaffContext,
    *,
    engagement_ids: list[str] | None,
    filters: RefreshFilters | None,
) -> RefreshJob:
    """Record the job and queue its selection; the fan-out worker does the rest (returns at once,
    whatever the size). Exactly one of `engagement_ids` and `filters` ("all matching")."""
    authorize(staff, FirmAction.TRIGGER_REFRESH)
    now = ports.index.clock()
    job_id = str(ULID.from_datetime(now))
    scope = _scope(staff)
    actor = staff.principal.user_id
    base = FanoutMessage(firm_id=staff.firm_id, job_id=job_id, actor_id=actor, staff_scope=scope)
    if engagement_ids is not None:
        ids = list(dict.fromkeys(engagement_ids))
        selection: dict[str, Any] = {"engagement_ids": len(ids)}
        messages = [
            replace(base, engagement_ids=tuple(ids[start : start + FANOUT_PAGE]))
            for start in range(0, len(ids), FANOUT_PAGE)
        ]
        job = RefreshJob(staff.firm_id, job_id, actor, now, selection, False, JobCounts(pending=len(ids)))
    else:
        for typed in (filters.q, filters.contact) if filters else ():
            search_prefix(typed)  # a search too short to run is refused now, not in the fan-out
        selection = {"all_matching": (filters or RefreshFilters()).to_dict()}
        messages = [replace(base, filters=filters or RefreshFilters())]
        job = RefreshJob(staff.firm_id, job_id, actor, now, selection, True, JobCounts())
    # the abuse limits (shared/domain/limits.py), before anything is written or queued
    ports.limits.spend(charges(Action.REFRESH_JOB, user=actor, firm=staff.firm_id), now)
    # Ids and filter names only: filter values may be personal data (a contact's name).
    chosen = selection.get("all_matching")
    details = (
        {"selection": "all_matching", "filters": " ".join(sorted(chosen))}
        if chosen is not None
        else selection
    )
    ports.index.jobs.create_job(
        job, _event(ports, actor, (job.firm_id, job_id), "refresh.triggered", {"job_id": job_id, **details})
    )
    try:
        ports.fanout.send([message.to_json() for message in messages])
    except QueueSendFailed as failure:
        _not_queued(ports, job, [messages[n] for n in failure.unsent], len(messages))
    metrics.add_metric(name="RefreshJobsTriggered", unit="Count", value=1)
    return job


def _not_queued(ports: RefreshPorts, job: RefreshJob, unsent: list[FanoutMessage], sent_of: int) -> None:
    """Nothing ever moves unsent pages on. Nothing sent: the job is removed and the caller told to
    try again (the same Idempotency-Key works: an error is not stored). Some pages sent: the job
    goes ahead and the engagements of the others are excluded as `not_queued`."""
    logger.warning("Refresh pages not queued", extra={"job_id": job.job_id, "unsent": len(unsent)})
    if len(unsent) == sent_of:
        withdrawn = _event(
            ports, job.requested_by, (job.firm_id, job.job_id), "refresh.not_started", {"job_id": job.job_id}
        )
        ports.index.jobs.delete_job(job.firm_id, job.job_id, withdrawn)
        raise UpstreamUnavailable("The refresh could not be queued and was not started; try again.")
    not_queued = [(i, ExclusionReason.NOT_QUEUED) for message in unsent for i in message.engagement_ids]
    ports.index.jobs.exclude(
        job.firm_id, job.job_id, not_queued, _exclusions(ports, job.requested_by, (job.firm_id, job.job_id))
    )
    # The pages that were sent may all have finished already: this may be the job's last change.
    refresh_progressed(ports.notices, ports.index.jobs, job.firm_id, job.job_id)


# fan-out (worker) ----------------------------------------------------------------------------
def fan_out(ports: RefreshPorts, message: FanoutMessage) -> None:
    """One page of a job: its engagements claimed (or excluded, with the reason) and their import
    jobs sent; for "all matching", the next page re-queued. Safe to run again (redelivery)."""
    rows, jobs = ports.index.rows, ports.index.jobs
    job = jobs.get_job(message.firm_id, message.job_id)
    if job is None:
        logger.warning("Refresh job not found", extra={"job_id": message.job_id})
        return
    clock = _dashboard_clock(ports, message.firm_id)
    if message.filters is not None:
        page = rows.page(
            message.firm_id,
            message.staff_scope,
            message.filters,
            clock,
            cursor=message.cursor,
            limit=FANOUT_PAGE,
        )
        found = {e.customer_id: e for e in page.rows}
        ids = list(found)
        first_time = jobs.add_expanded(
            message.firm_id, message.job_id, len(ids), at=message.cursor or "", next_cursor=page.next_cursor
        )
        if page.next_cursor and (
            first_time or jobs.expansion_cursor(message.firm_id, message.job_id) == page.next_cursor
        ):
            ports.fanout.send([replace(message, cursor=page.next_cursor).to_json()])
    else:
        ids = list(message.engagement_ids)
        found = rows.visible_engagements(message.firm_id, message.staff_scope, ids)
    to_import, excluded = _claim_page(ports, job, clock, ids, found, message.actor_id)
    jobs.exclude(
        message.firm_id,
        message.job_id,
        excluded,
        _exclusions(ports, message.actor_id, (job.firm_id, job.job_id)),
    )
    ports.imports.send(
        [
            ImportJob(job.firm_id, engagement_id, connection_id, ImportReason.REFRESH, job.job_id).to_json()
            for engagement_id, connection_ids in to_import
            for connection_id in connection_ids
        ]
    )
    metrics.add_metric(name="RefreshEngagementsQueued", unit="Count", value=len(to_import))
    metrics.add_metric(name="RefreshEngagementsExcluded", unit="Count", value=len(excluded))
    if not to_import:  # imports queued here finish later: the import worker tells their end
        refresh_progressed(ports.notices, jobs, job.firm_id, job.job_id)


def fan_out_given_up(ports: RefreshPorts, message: FanoutMessage) -> None:
    """A page parked in the DLQ after its last delivery: its engagements that no delivery claimed
    are excluded as `not_queued` rather than left pending (claimed ones keep their outcome). Which
    engagements an "all matching" page held is not known once it is given up: they stay pending."""
    excluded = [(engagement_id, ExclusionReason.NOT_QUEUED) for engagement_id in message.engagement_ids]
    ports.index.jobs.exclude(
        message.firm_id,
        message.job_id,
        excluded,
        _exclusions(ports, SYSTEM, (message.firm_id, message.job_id)),
    )
    refresh_progressed(ports.notices, ports.index.jobs, message.firm_id, message.job_id)


def _claim_page(
    ports: RefreshPorts,
    job: RefreshJob,
    clock: DashboardClock,
    ids: list[str],
    found: dict[str, Engagement],
    actor: str,
) -> tuple[list[tuple[str, list[str]]], list[tuple[str, ExclusionReason]]]:
    """(engagement id, its connections to import) claimed by this job, each claim with its
    `refresh.claimed` event by `actor`, and the excluded ones."""
    jobs = ports.index.jobs
    to_import: list[tuple[str, list[str]]] = []
    excluded: list[tuple[str, ExclusionReason]] = []
    for engagement_id in ids:
        engagement = found.get(engagement_id)
        reason = (
            ExclusionReason.NOT_FOUND
            if engagement is None
            else exclusion_for(engagement, clock.now, clock.current_eula)
        )
        if engagement is None or reason is not None:
            excluded.append((engagement_id, reason or ExclusionReason.NOT_FOUND))
            continue
        connection_ids = [c.connection_id for c in engagement.refreshable_connectors(clock.now)]
        if _claim(ports, job, clock, engagement, connection_ids, actor) is Claim.CLAIMED:
            to_import.append((engagement_id, connection_ids))
        elif jobs.cap_holder(job.firm_id, engagement_id, clock.today) == job.job_id:
            # This job claimed it before a redelivery: send its imports again if still queued
            # (at least once; the import worker's progress updates happen once).
            outcome = jobs.get_outcome(job.firm_id, job.job_id, engagement_id)
            if outcome and outcome.state is RefreshState.QUEUED:
                to_import.append((engagement_id, list(outcome.connection_ids)))
        else:
            excluded.append((engagement_id, ExclusionReason.CAPPED_TODAY))
    return to_import, excluded


def _claim(
    ports: RefreshPorts,
    job: RefreshJob,
    clock: DashboardClock,
    engagement: Engagement,
    connection_ids: list[str],
    actor: str,
) -> Claim:
    """The engagement's day taken by the job, with its `refresh.claimed` event in the same
    transaction: a redelivery that finds the day taken writes neither again."""
    details = {"job_id": job.job_id, "connections": len(connection_ids)}
    current: Engagement | None = engagement
    for attempt in range(ROW_RETRIES):
        back_off(attempt)
        if current is None:
            break
        last = current.last_refresh
        if last is not None and last.day == clock.today:
            return Claim.CAPPED  # the rows are written with the claim: today's day is taken
        queued = current.refreshed(job.job_id, clock.today, RefreshState.QUEUED)
        rows = RowChange(queued, current, queued.stored_bucket(clock.now, clock.current_eula))
        try:
            claimed = _event(
                ports, actor, (job.firm_id, job.job_id), "refresh.claimed", details, current.customer_id
            )
            return ports.index.jobs.claim(job.job_id, clock.today, connection_ids, rows, claimed)
        except StaleEngagement:
            current = ports.index.rows.get_engagement(job.firm_id, engagement.customer_id)
    raise StaleEngagement()


# job progress --------------------------------------------------------------------------------
def job_progress(
    ports: RefreshPorts, staff: StaffContext, job_id: str, *, cursor: str | None, limit: int
) -> JobProgress:
    """Counts and per-engagement outcomes. Admins see the firm's jobs, advisers their own."""
    authorize(staff, FirmAction.TRIGGER_REFRESH)
    job = ports.index.jobs.get_job(staff.firm_id, job_id)
    if job is None or not (staff.is_admin or job.requested_by == staff.principal.user_id):
        raise NotFound()
    outcomes, next_cursor = ports.index.jobs.outcomes(staff.firm_id, job_id, cursor=cursor, limit=limit)
    return JobProgress(job, outcomes, next_cursor)


def list_jobs(
    ports: RefreshPorts, staff: StaffContext, *, cursor: str | None, limit: int
) -> tuple[list[RefreshJob], str | None]:
    """Newest first: admins see the firm's jobs, advisers the jobs they started (as job_progress)."""
    authorize(staff, FirmAction.TRIGGER_REFRESH)
    return ports.index.jobs.list_jobs(staff.firm_id, _scope(staff), cursor=cursor, limit=limit)


# helpers -------------------------------------------------------------------------------------
def _scope(staff: StaffContext) -> str | None:
    """None: the whole firm (admins); else the adviser's own rows (R-ROLE-2)."""
    return None if staff.is_admin else staff.principal.user_id


def _dashboard_clock(ports: RefreshPorts, firm_id: str) -> DashboardClock:
    now = ports.index.clock()
    firm = ports.identities.get_firm(firm_id)
    today = firm_day(now, firm.timezone if firm else ports.default_timezone)
    return DashboardClock(now=now, today=today, current_eula=ports.index.current_eula_version)


def _event(
    ports: RefreshPorts,
    actor: str,
    job: tuple[str, str],
    action: str,
    details: dict[str, Any],
    customer_id: str | None = None,
) -> TransactItem:
    """R-ROLE-3: who triggered, withdrew, claimed or excluded what of the job (its firm id and job
    id), ids only: the event of a write of the job, written in that write's transaction."""
    firm_id, job_id = job
    event = AuditEvent(
        firm_id, actor, action, "refresh_job", job_id, details, ports.index.clock(), customer_id
    )
    return ports.audit.put_op(event)


def _exclusions(ports: RefreshPorts, actor: str, job: tuple[str, str]) -> ExclusionEvent:
    """The event of one write of the job's exclusions (ids and reasons), for that write."""

    def excluded(written: list[tuple[str, ExclusionReason]]) -> TransactItem:
        listed = " ".join(f"{engagement_id}:{reason.value}" for engagement_id, reason in written)
        return _event(ports, actor, job, "refresh.excluded", {"job_id": job[1], "excluded": listed})

    return excluded
