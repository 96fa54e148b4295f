"""Notifications for a firm's staff (issue 16, seeds 000, 002, 004): a customer's owner and assigned
advisers hear when the customer accepts their invitation, when new shared accounts wait for review,
when a connection breaks and when a consent expires within 7 days; whoever started a Data Refresh
hears when it has finished, with its counts.

Only active staff members of the customer's firm are notified. Each event is written once per
person (`NotificationStore.add_once`: the notifications of one event in one transaction, each with
its person's marker of the event), so a retried worker or a duplicate delivery notifies nobody
twice. The hooks the other use cases call after their change are best effort: a notification that
cannot be written never fails or undoes the change it follows (the log and a metric say so).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.connections import Connection
from shared.domain.customers import Customer
from shared.domain.notifications import Notification, StaffNoticeKind, connection_broke, notice_id
from shared.observability import logger, metrics
from shared.ports.customers import CustomerStore
from shared.ports.identity import IdentityStore
from shared.ports.notifications import NotificationStore
from shared.ports.refresh import RefreshJobStore

Details = Mapping[str, str | int]


@dataclass
class StaffNoticePorts:
    """What notifying staff needs: who looks after the customer, who is active, where to write."""

    customers: CustomerStore
    identities: IdentityStore
    notifications: NotificationStore
    clock: Now = field(default=business_now)


def notify_customer_staff(
    ports: StaffNoticePorts,
    firm_id: str,
    customer_id: str,
    kind: StaffNoticeKind | str,
    details: Details,
    *,
    event_key: str | None = None,
) -> int:
    """Notify the customer's owner and assigned advisers (active staff of `firm_id` only) of one
    event, once each: the same event again (the same `event_key`, by default the kind, the customer
    and the details) writes nothing. `details` are ids and counts only (never bank data, names or
    emails). Returns how many people were notified now. For the consent-expiry sweep: kind
    `consent_expiring`, details {"connection_id": …, "expires_at": <ISO date>}."""
    notice = StaffNoticeKind(kind)
    customer = ports.customers.get(firm_id, customer_id)
    if customer is None:
        return 0
    key = event_key or "|".join(
        (notice.value, firm_id, customer_id, json.dumps(dict(details), sort_keys=True))
    )
    return _notify(ports, firm_id, customer.staff_ids, notice, details, key, customer_id)


# what other use cases call after their change -------------------------------------------------
def invitation_accepted(ports: StaffNoticePorts, customer: Customer) -> None:
    """(a) The customer accepted the invitation (once: the acceptance consumes its token)."""
    at = customer.accepted_at.isoformat() if customer.accepted_at else ""
    _best_effort(
        StaffNoticeKind.INVITATION_ACCEPTED,
        lambda: notify_customer_staff(
            ports,
            customer.firm_id,
            customer.customer_id,
            StaffNoticeKind.INVITATION_ACCEPTED,
            {},
            event_key=f"invitation_accepted|{customer.firm_id}|{customer.customer_id}|{at}",
        ),
    )


def accounts_waiting(
    ports: StaffNoticePorts, firm_id: str, customer_id: str, account_ids: Iterable[str]
) -> None:
    """(b) New shared accounts wait for review: one notification per batch the bank gave (a
    connection's completion, an import, "find new accounts"), never one per account."""
    ids = sorted(account_ids)
    if not ids:
        return
    _best_effort(
        StaffNoticeKind.ACCOUNTS_WAITING,
        lambda: notify_customer_staff(
            ports,
            firm_id,
            customer_id,
            StaffNoticeKind.ACCOUNTS_WAITING,
            {"accounts": len(ids)},
            event_key=f"accounts_waiting|{firm_id}|{customer_id}|{','.join(ids)}",
        ),
    )


def connection_changed(ports: StaffNoticePorts, previous: Connection | None, saved: Connection) -> None:
    """(c) A connection moved into a broken state (credentials rejected, expired, error, revoked):
    once per move, whoever saw it (a webhook, an import, a refresh)."""
    if not connection_broke(previous.status if previous else None, saved.status):
        return
    changed = saved.status_changed_at.isoformat() if saved.status_changed_at else ""
    _best_effort(
        StaffNoticeKind.CONNECTION_BROKEN,
        lambda: notify_customer_staff(
            ports,
            saved.firm_id,
            saved.customer_id,
            StaffNoticeKind.CONNECTION_BROKEN,
            {"connection_id": saved.connection_id, "status": saved.status.value},
            event_key=f"connection_broken|{saved.firm_id}|{saved.connection_id}|{saved.status.value}|{changed}",
        ),
    )


def consent_expiring(ports: StaffNoticePorts, connection: Connection, *, expires_on: str) -> None:
    """(e) A connection's consent lapses within 7 days, on `expires_on` (the firm-local day, as the
    customer's email says): from the daily consent-expiry sweep, once per expiry (a reauthorised
    consent's new expiry is a new event)."""
    _best_effort(
        StaffNoticeKind.CONSENT_EXPIRING,
        lambda: notify_customer_staff(
            ports,
            connection.firm_id,
            connection.customer_id,
            StaffNoticeKind.CONSENT_EXPIRING,
            {"connection_id": connection.connection_id, "expires_at": expires_on},
        ),
    )


def refresh_progressed(ports: StaffNoticePorts, jobs: RefreshJobStore, firm_id: str, job_id: str) -> None:
    """(d) After any change of a Data Refresh job's counts: once the job is final (a consistent
    read), whoever started it is told, with its counts. Nothing is claimed before the notice is
    written: concurrent workers that all see the final job write it once (`add_once`'s marker), and
    a write that failed leaves nothing behind, so the next caller (a redelivery) writes it."""

    def notify() -> int:
        job = jobs.get_job(firm_id, job_id)
        if job is None or not job.done:
            return 0
        counts = job.counts
        details: dict[str, str | int] = {
            "job_id": job.job_id,
            "total": counts.total,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "excluded": counts.excluded,
        }
        key = f"refresh_finished|{firm_id}|{job_id}"
        return _notify(
            ports, firm_id, [job.requested_by], StaffNoticeKind.REFRESH_FINISHED, details, key, None
        )

    _best_effort(StaffNoticeKind.REFRESH_FINISHED, notify)


# helpers -------------------------------------------------------------------------------------
def _notify(
    ports: StaffNoticePorts,
    firm_id: str,
    candidates: Iterable[str],
    notice: StaffNoticeKind,
    details: Details,
    event_key: str,
    customer_id: str | None,
) -> int:
    recipients = [
        user_id
        for user_id in dict.fromkeys(candidates)
        if (membership := ports.identities.get_membership(user_id, firm_id)) is not None and membership.active
    ]
    if not recipients:
        return 0
    now = ports.clock()
    written = ports.notifications.add_once(
        event_key,
        [
            Notification(
                user_id=user_id,
                notification_id=notice_id(event_key, user_id, now),
                kind=notice.kind,
                title=notice.heading,
                body=_body(notice, details),
                created_at=now,
                firm_id=firm_id,
                customer_id=customer_id,
                details=dict(details),
            )
            for user_id in recipients
        ],
    )
    logger.info("Staff notified", extra={"kind": notice.value, "people": len(recipients), "written": written})
    return written


def _body(notice: StaffNoticeKind, details: Details) -> str:
    """The words, from ids and counts only."""
    if notice is StaffNoticeKind.INVITATION_ACCEPTED:
        return "The customer can now connect their bank accounts and share them with your firm."
    if notice is StaffNoticeKind.ACCOUNTS_WAITING:
        count = int(details.get("accounts", 0))
        return f"{count} new account{'s' if count != 1 else ''} to accept or decline."
    if notice is StaffNoticeKind.CONNECTION_BROKEN:
        return (
            "Imports have stopped until the customer reauthorises the connection or connects the bank again."
        )
    if notice is StaffNoticeKind.CONSENT_EXPIRING:
        until = details.get("expires_at")
        when = f" on {until}" if until else ""
        return f"The consent ends{when}: the customer can reauthorise it to keep their data flowing."
    return (
        f"{details.get('succeeded', 0)} succeeded, {details.get('failed', 0)} failed and "
        f"{details.get('excluded', 0)} excluded, of {details.get('total', 0)} engagements."
    )


def _best_effort(notice: StaffNoticeKind, notify: Callable[[], int]) -> None:
    try:
        notify()
    except Exception as error:  # the change stands; the notification is what is lost
        logger.error(
            "Staff notification failed", extra={"kind": notice.value, "error_type": type(error).__name__}
        )
        metrics.add_metric(name="StaffNotificationsFailed", unit="Count", value=1)
