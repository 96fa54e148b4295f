"""The optional daily email digest of a staff member's notifications (issue 16).

A staff member turns it on or off for themselves (default off). It goes out on their local morning
(08:00 in the time zone of the firm they were acting in when they turned it on), with their unread
staff notifications of the last day, grouped by firm and kind: counts and firm names, never bank
data, names or emails of customers, and a link to the app. The hourly run reads only the people
whose digest is due (an index of those who opted in) and claims each digest with a conditional
write (their due time moved on to the next morning), so a retried or overlapping run never sends
a second email that day; an email that could not be sent gives the claim back.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from shared.auth import FirmAction, active_memberships, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.email import EmailSender
from shared.domain.identity import StaffContext
from shared.domain.notifications import DIGEST_SPAN, STAFF_KINDS, DigestPreference, next_digest_due
from shared.observability import logger, metrics
from shared.ports.identity import IdentityStore
from shared.ports.notifications import DigestPreferenceStore, NotificationStore
from shared.services.emails import notification_digest_email


@dataclass
class DigestPorts:
    preferences: DigestPreferenceStore
    notifications: NotificationStore
    identities: IdentityStore
    email: EmailSender
    app_base_url: str
    default_timezone: str
    clock: Now = field(default=business_now)


def digest_preference(ports: DigestPorts, staff: StaffContext) -> DigestPreference:
    """The caller's own preference (off until they turn it on)."""
    authorize(staff, FirmAction.CHOOSE_NOTIFICATION_DIGEST)
    user_id = staff.principal.user_id
    return ports.preferences.get_preference(user_id) or DigestPreference(user_id)


def choose_digest(ports: DigestPorts, staff: StaffContext, daily_digest: bool) -> DigestPreference:
    """Turn the caller's daily digest on (from the next local morning of the firm they act in) or off.
    Turning it on again keeps the day's claim: still at most one digest a day."""
    authorize(staff, FirmAction.CHOOSE_NOTIFICATION_DIGEST)
    user_id = staff.principal.user_id
    firm = ports.identities.get_firm(staff.firm_id)
    timezone = firm.timezone if firm else ports.default_timezone
    previous = ports.preferences.get_preference(user_id)
    next_due = None
    if daily_digest:
        next_due = next_digest_due(ports.clock(), timezone)
        if previous and previous.next_due and previous.next_due > next_due:
            next_due = previous.next_due  # a digest was sent today: tomorrow's stays tomorrow's
    preference = DigestPreference(user_id, daily_digest, timezone, next_due)
    ports.preferences.save_preference(preference)
    return preference


def send_due_digests(ports: DigestPorts) -> dict[str, int]:
    """The hourly run: one digest for each person whose local morning has come (missed runs caught
    up), once a day at most."""
    now = ports.clock()
    counts: Counter[str] = Counter()
    for preference in ports.preferences.due_digests(now):
        following = next_digest_due(now, preference.timezone or ports.default_timezone)
        if not ports.preferences.claim_digest(preference, following):
            counts["claimed_elsewhere"] += 1
            continue
        try:
            counts[_send_digest(ports, preference)] += 1
        except Exception as error:  # a read after the claim failed: give the claim back, go on
            ports.preferences.release_digest(preference, following)
            logger.error("Digest not sent", extra={"error_type": type(error).__name__})
            counts["failed"] += 1
    metrics.add_metric(name="DigestsSent", unit="Count", value=counts["sent"])
    return dict(counts)


def _send_digest(ports: DigestPorts, preference: DigestPreference) -> str:
    user_id = preference.user_id
    firms = {m.firm_id for m in active_memberships(ports.identities, user_id)}
    profile = ports.identities.get_profile(user_id)
    if not firms or profile is None:
        return "not_staff"  # deactivated everywhere: nothing
    since = ports.clock() - DIGEST_SPAN
    unread = [
        n
        for n in ports.notifications.since(user_id, since)
        if n.read_at is None and n.kind in STAFF_KINDS and n.firm_id in firms
    ]
    if not unread:
        return "nothing_new"
    names = {firm_id: firm.name for firm_id, firm in ports.identities.get_firms(firms).items()}
    tally = Counter((names.get(n.firm_id or "", ""), STAFF_KINDS[n.kind]) for n in unread)
    lines = [f"{firm}: {notice.heading} ({count})" for (firm, notice), count in sorted(tally.items())]
    email = notification_digest_email(to=profile.email, lines=lines, app_base_url=ports.app_base_url)
    ports.email.send(email)  # a failure gives the claim back (send_due_digests): the next run tries again
    return "sent"
