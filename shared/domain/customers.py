"""Customers of a firm, their invitation and their dashboard section (R-INV-1..7).

Pure rules: no boto3, no environment. Repositories store what these functions decide.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import idna

from shared.domain.errors import Conflict

# An invitation link works for 45 days: long enough for the 7- and 30-day reminders
# (R-INV-4) to carry a live link, short enough that a forgotten email goes stale.
INVITATION_LIFETIME = timedelta(days=45)
REMINDER_AGES = (7, 30)  # days after the (re)send
REMINDER_LOOKAHEAD = timedelta(days=2)  # see Invitation.next_due
NOT_DUE = "not_due"  # a reminders run's outcome for an invitation read early: not counted
TOKEN_BYTES = 32  # 256 random bits (R-INV-2 asks for at least 128)


class Section(StrEnum):
    INVITED = "invited"  # invited, or accepted but no account shared yet
    PENDING = "pending"  # accepted and at least one shared account awaits review (R-INV-5)
    CUSTOMERS = "customers"  # at least one accepted account (R-INV-7)
    ENDED = "ended"  # the relationship ended (R-PRIV-2): listed for admins only, until erased


DASHBOARD_SECTIONS = (Section.INVITED, Section.PENDING, Section.CUSTOMERS)  # what advisers see


class RelationshipEnded(Conflict):
    """A change to a customer whose relationship with the firm ended (R-PRIV-2): the firm keeps its
    records for retention only, read by admins, until they are erased."""

    code = "relationship_ended"
    default_message = (
        "The relationship with this customer has ended: the firm keeps its records for retention only "
        "and can no longer change them."
    )


class InvitationStatus(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def normalise_email(email: str) -> str:
    """The one spelling of an address, wherever one is stored, compared or fingerprinted (issue 17
    item 8): trimmed, lower case, the domain in IDNA ASCII (`Jane@Bücher.Example` is
    `jane@xn--bcher-kva.example`); the local part is otherwise kept as given. Never raises: the API
    checks an address's syntax and lengths (shared/api/fields.py) before it gets here, and one read
    from a token or a record is only compared."""
    local, at, domain = email.strip().rpartition("@")
    if not at:
        return email.strip().lower()
    with contextlib.suppress(idna.IDNAError, UnicodeError):  # else compared as given, in lower case
        domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local.lower()}@{domain.lower()}"


def email_fingerprint(email: str) -> str:
    """Keys carry a digest of the email, never the address itself."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh invitation token and the hash that is all we store (R-INV-2)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    # The token has 256 bits of entropy: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Invitation:
    token_hash: str
    sent_at: datetime
    expires_at: datetime
    status: InvitationStatus = InvitationStatus.SENT
    reminders_sent: tuple[int, ...] = ()
    message: str | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.status is InvitationStatus.SENT and now < self.expires_at

    def next_due(self) -> date | None:
        """The UTC day from which the reminders job must look at this invitation (reminder or expiry).

        A reminder is due on a day of the firm's calendar (`reminder_due`), which starts up to 14
        hours before or 12 hours after the UTC day of the same date: two days early, the daily job
        reads it in time whatever the firm's zone, and `reminder_due` decides."""
        if self.status is not InvitationStatus.SENT:
            return None
        for age in REMINDER_AGES:
            if age not in self.reminders_sent:
                return (self.sent_at + timedelta(days=age)).date() - REMINDER_LOOKAHEAD
        return self.expires_at.date()

    def reminder_due(self, now: datetime, timezone: str) -> int | None:
        """The reminder (7 or 30) that is due and not yet sent, if any: the N-day reminder is due
        from the N-th day after the day it was sent, in the firm's calendar (days are local days,
        so a DST change or the hour it was sent never moves it to another day)."""
        if not self.is_usable(now):
            return None
        zone = ZoneInfo(timezone)
        days = (now.astimezone(zone).date() - self.sent_at.astimezone(zone).date()).days
        due = [age for age in REMINDER_AGES if days >= age]
        pending = [age for age in due if age not in self.reminders_sent]
        return pending[-1] if pending else None


def issue_invitation(now: datetime, message: str | None) -> tuple[str, Invitation]:
    token, token_hash = new_token()
    return token, Invitation(
        token_hash=token_hash, sent_at=now, expires_at=now + INVITATION_LIFETIME, message=message
    )


@dataclass(frozen=True)
class Customer:
    firm_id: str
    customer_id: str
    name: str
    email: str
    owner_id: str
    created_at: datetime
    invitation: Invitation
    assignee_ids: tuple[str, ...] = ()
    user_id: str | None = None  # bound when the invitation is accepted
    accepted_at: datetime | None = None
    new_accounts: int = 0
    accepted_accounts: int = 0
    declined_accounts: int = 0
    # the relationship's end (R-PRIV-2): when, by whom, and the firm-local day its data is erased
    ended_at: datetime | None = None
    ended_by: str | None = None  # EndedBy
    erasure_due: date | None = None
    erasure_requested_by: str | None = None  # who asked for erasure before the retention ends
    version: int = 0  # optimistic lock: every write checks and bumps it
    staff_ids: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "staff_ids", tuple(dict.fromkeys((self.owner_id, *self.assignee_ids))))

    @property
    def has_accepted(self) -> bool:
        return self.user_id is not None

    @property
    def relationship_ended(self) -> bool:
        return self.ended_at is not None

    @property
    def section(self) -> Section | None:
        """None: revoked before acceptance, or the relationship ended: on no dashboard section."""
        if self.relationship_ended:
            return None
        if self.accepted_accounts > 0:
            return Section.CUSTOMERS
        if self.has_accepted and (self.new_accounts > 0 or self.declined_accounts > 0):
            return Section.PENDING  # connected a bank (R-INV-5), even if every account was declined
        if self.has_accepted or self.invitation.status in (InvitationStatus.SENT, InvitationStatus.EXPIRED):
            return Section.INVITED
        return None

    @property
    def listed_in(self) -> Section | None:
        """The list the customer is on: its dashboard section, or `ended` (admins only) once the
        relationship ended."""
        return Section.ENDED if self.relationship_ended else self.section

    def visible_to(self, staff_id: str, is_admin: bool) -> bool:
        """R-ROLE-2: admins see every customer; advisers those they own or are assigned to. Once the
        relationship ended, admins only: what the firm retains, until it is erased (R-PRIV-2)."""
        if self.relationship_ended:
            return is_admin
        return is_admin or staff_id in self.staff_ids

    def check_open(self) -> None:
        """The one rule of changes after the end (R-PRIV-2): a customer whose relationship ended
        changes no more, but by the lifecycle's own steps (erasure request, approval, erasure).
        Applied where use cases resolve the customer to change it: `customers.changeable_customer`
        (firm staff) and `file_access.scope.open_file` (a client file's changes)."""
        if self.relationship_ended:
            raise RelationshipEnded()

    def ended(self, at: datetime, by: str, erasure_due: date) -> Customer:
        """The relationship ends at `at` (R-PRIV-2): an invitation still out stops working."""
        invitation = self.invitation
        if invitation.status is InvitationStatus.SENT:
            invitation = replace(invitation, status=InvitationStatus.REVOKED)
        return replace(self, ended_at=at, ended_by=by, erasure_due=erasure_due, invitation=invitation)

    def accepted_by(self, user_id: str, now: datetime) -> Customer:
        return replace(
            self,
            user_id=user_id,
            accepted_at=now,
            invitation=replace(self.invitation, status=InvitationStatus.ACCEPTED),
        )
