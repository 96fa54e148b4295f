"""Daily and on-demand imports of a connection's accepted accounts (R-IMP-1..4, R-CON-6).

One job = one connection, read feed by feed (`import_feed`: an account, or the whole consent
when the provider keeps one change feed). Here: which accounts, what a failure or a rate limit
does to the job and the connection, the retries of accounts that failed alone, the outcome.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ulid import ULID

from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.accounts import AccountProblem, AccountStatus, SharedAccount
from shared.domain.aggregator import (
    AccountUnavailable,
    AggregatorError,
    AggregatorProvider,
    AggregatorRateLimited,
    AggregatorUnavailable,
    ConsentExpired,
    CredentialsRejected,
    RequestsPaced,
    RequestsSpent,
)
from shared.domain.audit import SYSTEM
from shared.domain.connections import IMPORTABLE, Connection, ConnectionStatus, status_problem
from shared.domain.errors import StaleConnection
from shared.domain.imports import Outcome, last_closed_day
from shared.domain.jobs import ImportJob, ImportReason
from shared.domain.notifications import Notification
from shared.observability import logger, metrics
from shared.ports.accounts import AccountStore
from shared.ports.assignment import AssignmentStore
from shared.ports.audit import AuditTrail
from shared.ports.connections import ConnectionAddress, ConnectionStore
from shared.ports.credentials import CredentialVault
from shared.ports.engagements import EngagementRows, ImportProgress
from shared.ports.identity import IdentityStore
from shared.ports.imports import FeedStore
from shared.ports.notifications import NotificationStore
from shared.ports.queue import JobSender
from shared.services.assignment import auto_assign
from shared.services.credentials import provider_credential
from shared.services.import_feed import import_feed
from shared.services.staff_notifications import StaffNoticePorts
from shared.services.staff_notifications import connection_changed as notify_staff

MAX_ACCOUNT_RETRIES = 2  # an account that failed alone is retried this many times by itself
# (each retry is a request the provider counts: 1 + 2 of the day's 4 leaves one for people)
RETRY_BASE_SECONDS = 60
MAX_RETRY_DELAY_SECONDS = 900  # SQS's longest message delay


@dataclass
class ImportPorts:
    connections: ConnectionStore
    accounts: AccountStore
    imports: FeedStore
    identities: IdentityStore
    notifications: NotificationStore
    assignment: AssignmentStore
    providers: Callable[[str], AggregatorProvider]
    credentials: CredentialVault  # opens the connection's credential once per job, before the provider
    queue: JobSender
    engagements: EngagementRows  # the Data Refresh rows, rewritten after each connection change
    progress: ImportProgress  # what a job tells the Data Refresh and the dashboard
    default_timezone: str
    staff_notices: StaffNoticePorts  # the customer's owner and advisers hear of a broken connection
    audit: AuditTrail  # a connection's status changed by an import, in the save's transaction
    clock: Now = field(default=business_now)
    rand: Callable[[], float] = field(default=random.random)  # retry jitter


@dataclass
class ImportReport:
    outcome: Outcome
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    feeds_skipped_for_budget: int = 0
    assigned: int = 0
    accounts_unavailable: int = 0
    retried: int = 0
    paced: int = 0  # accounts sent back for the pace's turn, with the job's Data Refresh (not yet finished)

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "written": self.written,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "feeds_skipped_for_budget": self.feeds_skipped_for_budget,
            "assigned": self.assigned,
            "accounts_unavailable": self.accounts_unavailable,
            "retried": self.retried,
            "paced": self.paced,
        }


def import_and_report(ports: ImportPorts, job: ImportJob) -> ImportReport:
    """The import worker's use case: one import, the engagement's last upload, and for a Data
    Refresh its progress (the same worker, rules and daily budget as every other import)."""
    ports.progress.started(job)
    report = import_connection(ports, job)
    if report.outcome is Outcome.IMPORTED:
        ports.progress.uploaded(job.firm_id, job.customer_id, ports.clock())
    if not report.paced:  # else the job that imports the accounts the pace held back finishes it
        ports.progress.finished(job, report.outcome)
    return report


def import_given_up(ports: ImportPorts, job: ImportJob) -> None:
    """The job was parked in the dead-letter queue after its last delivery: a Data Refresh
    waiting for it ends as failed instead of staying queued or running for ever."""
    ports.progress.given_up(job)


def import_connection(ports: ImportPorts, job: ImportJob) -> ImportReport:
    """Run one job. Expected stops (not importable, budget, expiry) return their reason;
    anything else raises, so the queue retries and finally parks the job in its DLQ."""
    address = ConnectionAddress(job.firm_id, job.customer_id, job.connection_id)
    connection = ports.connections.get(address)
    if connection is None or connection.status not in IMPORTABLE or connection.credential is None:
        return _finish(ImportReport(Outcome.NOT_IMPORTABLE))
    # A job back before the provider's reset (SQS hides a message 12 hours at most, a daily limit
    # can reset later) goes back to wait without calling the provider or spending budget.
    connection.check_not_held(ports.clock())
    accounts = [
        a
        for a in ports.accounts.list_for_customer(job.firm_id, job.customer_id)
        if a.connection_id == connection.connection_id
        and a.status is AccountStatus.ACCEPTED
        and (job.accounts is None or a.account_id in job.accounts)  # a retry of some accounts only
    ]
    if not accounts:
        return _finish(ImportReport(Outcome.NO_ACCEPTED_ACCOUNTS))
    provider = ports.providers(connection.provider)
    firm = ports.identities.get_firm(job.firm_id)
    until = last_closed_day(ports.clock(), firm.timezone if firm else ports.default_timezone)
    report = ImportReport(Outcome.IMPORTED)
    unread: list[SharedAccount] = []  # accounts this job could not read: retried on their own
    limited_by_provider: AggregatorRateLimited | None = None
    feeds = [[a] for a in accounts] if provider.feed_per_account else [accounts]
    imported: list[SharedAccount] = []
    try:
        credential = provider_credential(ports.credentials, connection)  # opened once per job
        for index, feed in enumerate(feeds):
            try:
                if import_feed(ports, provider, connection, credential, feed, until, report):
                    imported += feed
            except AccountUnavailable as problem:  # the account's, not the consent's (R-CON-8)
                for account in feed:
                    ports.accounts.mark_problem(
                        account,
                        AccountProblem.PROCESSING if problem.retry_later else AccountProblem.UNAVAILABLE,
                    )
                report.accounts_unavailable += len(feed)
                if problem.retry_later:
                    unread += feed
            except AggregatorUnavailable:
                if len(feeds) == 1:
                    raise  # the whole job failed: the queue retries it
                unread += feed  # one account failed after the adapter's retries: that one later
            except RequestsPaced as paced:  # this minute's company-wide requests are spent
                if not imported:
                    raise  # the whole job waits for the next minute
                _resume_after_pace(ports, job, [a for rest in feeds[index:] for a in rest], paced, report)
                break
            except AggregatorRateLimited as limited:
                if len(feeds) == 1 or isinstance(limited, RequestsSpent):
                    raise
                # One account's 429 (the adapter holds that account's endpoint until the reset):
                # the others carry on; that one waits for the next run after the reset.
                limited_by_provider = limited
        if limited_by_provider is not None and not imported:
            raise limited_by_provider
        if imported:
            _refresh_accounts(ports, provider, credential, imported)
    except AggregatorRateLimited as limited:
        raise _hold_until_reset(ports, connection, limited) from None
    except ConsentExpired as expired:
        message = "Your bank connection expired: reauthorise it."
        _park(ports, connection, ConnectionStatus.EXPIRED, message, expired)
        return _finish(replace(report, outcome=Outcome.CONSENT_EXPIRED))
    except CredentialsRejected as rejected:
        message = "Your bank needs you to reconnect."
        _park(ports, connection, ConnectionStatus.CREDENTIALS_REJECTED, message, rejected)
        return _finish(replace(report, outcome=Outcome.CREDENTIALS_REJECTED))
    _retry_later(ports, job, unread, report)
    if report.feeds_skipped_for_budget == len(feeds):
        report.outcome = Outcome.BUDGET_SPENT
    elif not imported:
        report.outcome = Outcome.ACCOUNTS_UNAVAILABLE
    elif report.written:
        # R-IMP-3: the firm's rules run over the new unassigned lines after each import.
        report.assigned = auto_assign(
            ports.assignment, ports.accounts, ports.audit, job.firm_id, job.customer_id, SYSTEM, ports.clock()
        )
    _record_outcome(ports, connection, report.outcome)
    return _finish(report)


def _retry_later(
    ports: ImportPorts, job: ImportJob, unread: list[SharedAccount], report: ImportReport
) -> None:
    """The accounts this job could not read come back on their own, after a growing delay with
    jitter (1 minute at least, then 2), never with the accounts this job imported; after
    MAX_ACCOUNT_RETRIES the next scheduled run takes them. A Data Refresh hears of the
    connection once, from the first job (its outcome, with the accounts flagged)."""
    if not unread or job.attempt >= MAX_ACCOUNT_RETRIES:
        return
    retry = replace(
        job,
        accounts=tuple(a.account_id for a in unread),
        attempt=job.attempt + 1,
        refresh_job_id=None,  # the Data Refresh hears of this connection once, from this job
    )
    ports.queue.send([retry.to_json()], delay_seconds=retry_delay(job.attempt, ports.rand()))
    report.retried += len(unread)


def _resume_after_pace(
    ports: ImportPorts,
    job: ImportJob,
    waiting: list[SharedAccount],
    paced: RequestsPaced,
    report: ImportReport,
) -> None:
    """The accounts this job had not read yet when the pace refused come back on their own at the
    pace's turn (not a failure: the attempt count is unchanged), never with those it imported, and
    with the job's Data Refresh: the engagement is not reported finished until they are read (or
    given up: the dead-letter hook fails it)."""
    rest = replace(job, accounts=tuple(a.account_id for a in waiting))
    seconds = paced.retry_after_seconds or AggregatorRateLimited.default_retry_after_seconds
    ports.queue.send([rest.to_json()], delay_seconds=min(seconds, MAX_RETRY_DELAY_SECONDS))
    report.retried += len(waiting)
    report.paced = len(waiting)


def retry_delay(attempt: int, rand: float) -> int:
    """Seconds before retry number `attempt + 1`: 60·2^attempt (capped at 900), plus up to half
    of it again at random (so retries of many connections spread out)."""
    base = min(MAX_RETRY_DELAY_SECONDS, RETRY_BASE_SECONDS * 2**attempt)
    return min(MAX_RETRY_DELAY_SECONDS, base + int(rand * base / 2))


def _hold_until_reset(
    ports: ImportPorts, connection: Connection, limited: AggregatorRateLimited
) -> AggregatorRateLimited:
    """Remember the provider's reset on the connection, for every job that comes before it; the
    rate limit to raise, with the time left until that reset. Our own company-wide pace holds no
    connection (it is the minute's, not the connection's): the job comes back at its turn, and the
    requests people make on the connection meanwhile spend the share the imports leave them."""
    if isinstance(limited, RequestsPaced):
        return limited
    now = ports.clock()
    seconds = limited.retry_after_seconds or AggregatorRateLimited.default_retry_after_seconds
    held = limited.reset_at or now + timedelta(seconds=seconds)
    if held <= now:
        return limited
    _update_connection(
        ports,
        connection,
        "rate-limit reset",
        lambda current: replace(current, rate_limited_until=max(held, current.rate_limited_until or held)),
    )
    return AggregatorRateLimited.until(held, now)


def _update_connection(
    ports: ImportPorts, connection: Connection, what: str, change: Callable[[Connection], Connection]
) -> None:
    """Best effort: a concurrent change of the connection wins (what is lost is noted in the log)."""
    current = ports.connections.get(
        ConnectionAddress(connection.firm_id, connection.customer_id, connection.connection_id)
    )
    if current is None:
        return
    try:
        _save_connection(ports, change(current), current)
    except StaleConnection:
        logger.info("Not recorded: the connection changed meanwhile", extra={"what": what})


def _refresh_accounts(
    ports: ImportPorts, provider: AggregatorProvider, credential: str, accounts: list[SharedAccount]
) -> None:
    """Balances and details of the accounts this job imported (R-CON-9; never a declined one,
    R-INV-6), while today's requests allow (the adapter spends them before each request). The
    lines are stored: a failure here costs the balances, never the job (a consent-level error
    still parks the connection)."""
    balances: dict[str, Decimal | None] = {}
    try:
        balances = {
            a.account_id: a.balance
            for a in provider.list_accounts(credential, only=[a.provider_account_id for a in accounts])
        }
    except (ConsentExpired, CredentialsRejected):
        raise
    except AggregatorError as error:  # spent today, a 429, an account closed since, a 5xx...
        logger.info("Balances not refreshed", extra={"error_type": type(error).__name__})
    for account in accounts:
        ports.accounts.mark_updated(account, ports.clock(), balances.get(account.provider_account_id))


def _record_outcome(ports: ImportPorts, connection: Connection, outcome: Outcome) -> None:
    """The connection shows how its last import ended."""
    _update_connection(
        ports,
        connection,
        "import outcome",
        lambda current: replace(current, last_import_at=ports.clock(), last_import_outcome=outcome.value),
    )


def _park(
    ports: ImportPorts, connection: Connection, status: ConnectionStatus, message: str, cause: Exception
) -> None:
    """Known stop: the connection shows it (our problem code, as when a webhook finds it), the
    customer is told, and no retry storm follows."""
    now = ports.clock()
    updated = connection.with_status(status, now, error=status_problem(status, cause))
    if updated != connection:
        _save_connection(ports, updated, connection)
        ports.notifications.add(
            Notification(
                user_id=connection.user_id,
                notification_id=str(ULID.from_datetime(now)),
                kind=f"connection.{status.value}",
                title=message,
                body=message,
                created_at=now,
                firm_id=connection.firm_id,
                customer_id=connection.customer_id,
            )
        )


def _save_connection(ports: ImportPorts, connection: Connection, previous: Connection | None) -> None:
    """Store the connection (a status change with its audit event, in one transaction), then rewrite
    its engagement's Data Refresh rows and tell the staff if it broke (visible here: every connection
    change of an import goes through this)."""
    changed = previous is None or previous.status is not connection.status
    event = connection.audit_event(SYSTEM, "connection.status_changed", ports.clock())
    saved = ports.connections.save(connection, previous, *([ports.audit.put_op(event)] if changed else []))
    ports.engagements.connection_changed(saved)
    notify_staff(ports.staff_notices, previous, saved)


def _finish(report: ImportReport) -> ImportReport:
    logger.info("Import finished", extra=report.as_dict())
    if report.outcome is not Outcome.IMPORTED:
        metrics.add_metric(name="ImportJobsParked", unit="Count", value=1)
    return report


def dispatch_daily_imports(ports: ImportPorts) -> int:
    """Queue one job per active connection, from the sharded index (no Scan), 10 per SQS call."""
    sent = 0
    for page in ports.connections.active_addresses():
        ports.queue.send(
            [
                ImportJob(a.firm_id, a.customer_id, a.connection_id, ImportReason.SCHEDULE).to_json()
                for a in page
            ]
        )
        sent += len(page)
    metrics.add_metric(name="ImportJobsQueued", unit="Count", value=sent)
    return sent
