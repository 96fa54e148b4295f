"""In-app notifications for a person (R-INV-6: account decisions, later access grants), and the
notifications of a firm's staff about their customers (issue 16: advisers' notifications).

A staff notification carries ids and counts only (firm, customer, connection, job): never bank data,
and no name or email either, so erasing a customer (R-PRIV-3) leaves nothing personal in a staff
member's notifications; the front end shows the names it may show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from ulid import ULID

from shared.domain.connections import ConnectionStatus


@dataclass(frozen=True)
class Notification:
    user_id: str
    notification_id: str
    kind: str  # e.g. "account.accepted"
    title: str
    body: str
    created_at: datetime
    firm_id: str | None = None
    read_at: datetime | None = None
    customer_id: str | None = None  # staff notifications: the customer it is about
    details: Mapping[str, Any] = field(default_factory=dict)  # ids and counts only


class StaffNoticeKind(StrEnum):
    """What a customer's owner and assigned advisers (or a job's requester) hear of."""

    INVITATION_ACCEPTED = "invitation_accepted"
    ACCOUNTS_WAITING = "accounts_waiting"
    CONNECTION_BROKEN = "connection_broken"
    CONSENT_EXPIRING = "consent_expiring"
    REFRESH_FINISHED = "refresh_finished"

    @property
    def kind(self) -> str:
        """The notification's `kind` (staff kinds are prefixed, apart from the customers' ones)."""
        return f"staff.{self.value}"

    @property
    def heading(self) -> str:
        return STAFF_NOTICE_TITLES[self]


STAFF_NOTICE_TITLES: dict[StaffNoticeKind, str] = {
    StaffNoticeKind.INVITATION_ACCEPTED: "A customer accepted your invitation",
    StaffNoticeKind.ACCOUNTS_WAITING: "New shared accounts wait for your review",
    StaffNoticeKind.CONNECTION_BROKEN: "A customer's bank connection needs their attention",
    StaffNoticeKind.CONSENT_EXPIRING: "A customer's bank consent expires within 7 days",
    StaffNoticeKind.REFRESH_FINISHED: "Your Data Refresh has finished",
}
STAFF_KINDS = {notice.kind: notice for notice in StaffNoticeKind}

# A connection "breaks" when it moves into one of these (the customer must act: reauthorise, or
# connect the bank again); moving between them, or a new connection, is not a new break.
BROKEN = frozenset(
    {
        ConnectionStatus.CREDENTIALS_REJECTED,
        ConnectionStatus.EXPIRED,
        ConnectionStatus.ERROR,
        ConnectionStatus.REVOKED,
    }
)


def connection_broke(previous: ConnectionStatus | None, status: ConnectionStatus) -> bool:
    return previous is not None and previous not in BROKEN and status in BROKEN


def event_fingerprint(event_key: str) -> str:
    """The stored form of an event's key (one marker per event and person)."""
    return hashlib.sha256(event_key.encode()).hexdigest()


def notice_id(event_key: str, user_id: str, at: datetime) -> str:
    """A time-ordered id (newest first in a person's list) whose random part comes from the event
    and the person, so the same event gives the same id to the same person."""
    digest = hashlib.sha256(f"{event_key}\n{user_id}".encode()).digest()
    return str(ULID.from_bytes(ULID.from_datetime(at).bytes[:6] + digest[:10]))


def first_id_at(at: datetime) -> str:
    """The smallest notification id of the millisecond `at`: where a time range's ids start."""
    return str(ULID.from_bytes(ULID.from_datetime(at).bytes[:6] + bytes(10)))


# the daily digest -----------------------------------------------------------------------------
DIGEST_HOUR = time(8, 0)  # the person's local morning (the time zone of the firm they set it in)
DIGEST_SPAN = timedelta(days=1)  # a digest lists the unread notifications of the last day


@dataclass(frozen=True)
class DigestPreference:
    """A staff member's daily digest choice (default off). `next_due`: when their next digest is
    due (UTC), only while it is on; `timezone`: whose morning it is."""

    user_id: str
    daily_digest: bool = False
    timezone: str | None = None
    next_due: datetime | None = None


def next_digest_due(after: datetime, timezone: str) -> datetime:
    """The first local DIGEST_HOUR strictly after `after`, in UTC (local days: a DST change
    moves the UTC hour, never the local one)."""
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    candidate = datetime.combine(local.date(), DIGEST_HOUR, zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), DIGEST_HOUR, zone)
    return candidate.astimezone(UTC)
