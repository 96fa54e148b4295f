"""A connection: one consent at one institution through one aggregator (R-CON-1..9).

Its state machine is here; the aggregator port says what the provider reports, the use
cases in shared/services/connection_consents.py (consents) and connections.py (a connection's
life afterwards) decide what changes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.aggregator import (
    AggregatorRateLimited,
    AggregatorUnavailable,
    ConsentExpired,
    ConsentRevoked,
    ConsentState,
    CredentialsRejected,
)
from shared.domain.audit import AuditEvent

CONSENT_DAYS = 90  # R-CON-2: access valid for 90 days from the (re)authorisation
EXPIRING_SOON = timedelta(days=7)
EXPIRY_REMINDER_DAYS = 7  # the customer is reminded on the firm-local day 7 days before the expiry's
# The UTC days whose expiries a daily run reads (today's and the next 8): a firm's local day, and an
# expiry's, are at most a day off their UTC day, so every expiry whose reminder is due is among them.
EXPIRY_REMINDER_UTC_DAYS = EXPIRY_REMINDER_DAYS + 2


class ConnectionStatus(StrEnum):
    PENDING = "pending"  # consent started, the person has not finished at the bank
    LINKED = "linked"
    NO_ACCOUNTS = "no_accounts"  # linked, but the bank shared no account
    CREDENTIALS_REJECTED = "credentials_rejected"
    REFRESH_FAILED = "refresh_failed"  # the last attempt to get recent values failed
    EXPIRED = "expired"
    REJECTED = "rejected"  # the person declined at the bank
    REVOKED = "revoked"  # deauthorised (by us or at the bank): no more imports
    ERROR = "error"


class Fix(StrEnum):
    """What a person does about a problem (R-CON-8), and who may do it."""

    REAUTHORISE = "reauthorise"
    REFRESH = "refresh"
    FIND_NEW_ACCOUNTS = "find_new_accounts"  # the customer only, never the adviser
    RECONNECT = "reconnect"  # the consent was withdrawn: the customer connects the bank again


FIXES: dict[ConnectionStatus, Fix] = {
    ConnectionStatus.CREDENTIALS_REJECTED: Fix.REAUTHORISE,
    ConnectionStatus.EXPIRED: Fix.REAUTHORISE,
    ConnectionStatus.REJECTED: Fix.REAUTHORISE,
    ConnectionStatus.ERROR: Fix.REAUTHORISE,
    ConnectionStatus.REFRESH_FAILED: Fix.REFRESH,
    ConnectionStatus.NO_ACCOUNTS: Fix.FIND_NEW_ACCOUNTS,
    ConnectionStatus.REVOKED: Fix.RECONNECT,  # a new consent restarts it (…/reauthorise)
}

# Provider consent states -> our status, once a consent completes.
FROM_CONSENT: dict[ConsentState, ConnectionStatus] = {
    ConsentState.PENDING: ConnectionStatus.PENDING,
    ConsentState.LINKED: ConnectionStatus.LINKED,
    ConsentState.REJECTED: ConnectionStatus.REJECTED,
    ConsentState.EXPIRED: ConnectionStatus.EXPIRED,
    ConsentState.CREDENTIALS_REJECTED: ConnectionStatus.CREDENTIALS_REJECTED,
    ConsentState.REVOKED: ConnectionStatus.REVOKED,
    ConsentState.ERROR: ConnectionStatus.ERROR,
}

IMPORTABLE = frozenset({ConnectionStatus.LINKED, ConnectionStatus.REFRESH_FAILED})
# R-PRIV-1: a consent ends when it expires or is revoked (deauthorised, by us or at the bank); what
# was imported stays readable by the firm, shown as historical, until a new consent is granted.
CONSENT_ENDED = frozenset({ConnectionStatus.EXPIRED, ConnectionStatus.REVOKED})

# A double-clicked (or reloaded) bank redirect: the reference that completed a connection still
# answers with the connection's outcome, without calling the provider, for this long.
CALLBACK_REPLAY_WINDOW = timedelta(minutes=15)
# A refresh (or "import now") while the import a person asked for is queued or running queues
# nothing new; after this long without an outcome (a job that ended early, say) a new one may go.
IMPORT_PENDING_FOR = timedelta(minutes=15)


class ConnectionProblem(StrEnum):
    """Why a connection is in trouble, in our words (R-CON-8): the code in `last_error`, its
    message in `last_error_message`. A provider's own text or code is never shown."""

    CREDENTIALS_REJECTED = "credentials_rejected"
    CONSENT_EXPIRED = "consent_expired"
    CONSENT_EXPIRING = "consent_expiring"
    CONSENT_REVOKED = "consent_revoked"
    REJECTED_AT_BANK = "rejected_at_bank"
    NO_ACCOUNTS = "no_accounts"
    ACCOUNT_UNAVAILABLE = "account_unavailable"
    BANK_UNAVAILABLE = "bank_unavailable"
    BANK_UNSUPPORTED = "bank_unsupported"
    PROVIDER_ERROR = "provider_error"  # the safe default: anything we cannot name

    @property
    def message(self) -> str:
        return PROBLEM_MESSAGES[self]


PROBLEM_MESSAGES: dict[ConnectionProblem, str] = {
    ConnectionProblem.CREDENTIALS_REJECTED: (
        "The bank no longer accepts this connection's login: reauthorise the connection."
    ),
    ConnectionProblem.CONSENT_EXPIRED: (
        "The consent to share this bank's data has expired: reauthorise the connection."
    ),
    ConnectionProblem.CONSENT_EXPIRING: (
        "The consent to share this bank's data expires soon: reauthorise the connection to keep it."
    ),
    ConnectionProblem.CONSENT_REVOKED: (
        "Access to this bank was withdrawn, at the bank or by the bank data provider: connect the bank again."
    ),
    ConnectionProblem.REJECTED_AT_BANK: "The bank did not grant access: try connecting again.",
    ConnectionProblem.NO_ACCOUNTS: "The bank shared no account: find new accounts.",
    ConnectionProblem.ACCOUNT_UNAVAILABLE: (
        "An account at this bank cannot be read at the moment: it may be closed, suspended or "
        "still being set up at the bank."
    ),
    ConnectionProblem.BANK_UNAVAILABLE: (
        "The bank or the bank data provider is not responding at the moment: try again later."
    ),
    ConnectionProblem.BANK_UNSUPPORTED: "The bank data provider no longer supports this bank.",
    ConnectionProblem.PROVIDER_ERROR: (
        "The bank data provider reported a problem with this connection: try again later, "
        "or reauthorise the connection if it persists."
    ),
}

_OUR_CODES = frozenset(problem.value for problem in ConnectionProblem)

# A status that names its problem: the provider's code adds nothing a person could act on.
_PROBLEM_OF_STATUS: dict[ConnectionStatus, ConnectionProblem] = {
    ConnectionStatus.CREDENTIALS_REJECTED: ConnectionProblem.CREDENTIALS_REJECTED,
    ConnectionStatus.EXPIRED: ConnectionProblem.CONSENT_EXPIRED,
    ConnectionStatus.REVOKED: ConnectionProblem.CONSENT_REVOKED,
    ConnectionStatus.REJECTED: ConnectionProblem.REJECTED_AT_BANK,
    ConnectionStatus.NO_ACCOUNTS: ConnectionProblem.NO_ACCOUNTS,
}

# Provider codes (upper case): GoCardless requisition statuses and the adapters' codes,
# https://developer.gocardless.com/bank-account-data/statuses ; Plaid error and webhook codes,
# https://plaid.com/docs/errors/item/ , /errors/institution/ , /api/items/#webhooks .
_PROBLEM_OF_CODE: dict[str, ConnectionProblem] = {
    # GoCardless requisitions: rejected, expired, suspended, error
    "RJ": ConnectionProblem.REJECTED_AT_BANK,
    "EX": ConnectionProblem.CONSENT_EXPIRED,
    "EXPIRED": ConnectionProblem.CONSENT_EXPIRED,
    "SU": ConnectionProblem.CONSENT_REVOKED,
    "SUSPENDED": ConnectionProblem.CONSENT_REVOKED,
    "ER": ConnectionProblem.PROVIDER_ERROR,
    # GoCardless accounts not ready or not usable
    "PROCESSING": ConnectionProblem.ACCOUNT_UNAVAILABLE,
    "DISCOVERED": ConnectionProblem.ACCOUNT_UNAVAILABLE,
    # Plaid: the login must be given again (update mode)
    "ITEM_LOGIN_REQUIRED": ConnectionProblem.CREDENTIALS_REJECTED,
    "INVALID_CREDENTIALS": ConnectionProblem.CREDENTIALS_REJECTED,
    "INSUFFICIENT_CREDENTIALS": ConnectionProblem.CREDENTIALS_REJECTED,
    "INVALID_MFA": ConnectionProblem.CREDENTIALS_REJECTED,
    "INVALID_UPDATED_USERNAME": ConnectionProblem.CREDENTIALS_REJECTED,
    "ITEM_LOCKED": ConnectionProblem.CREDENTIALS_REJECTED,
    "PASSWORD_RESET_REQUIRED": ConnectionProblem.CREDENTIALS_REJECTED,
    "USER_SETUP_REQUIRED": ConnectionProblem.CREDENTIALS_REJECTED,
    "ACCESS_NOT_GRANTED": ConnectionProblem.REJECTED_AT_BANK,
    # Plaid: the consent ends or has ended
    "PENDING_EXPIRATION": ConnectionProblem.CONSENT_EXPIRING,
    "PENDING_DISCONNECT": ConnectionProblem.CONSENT_EXPIRING,
    "USER_PERMISSION_REVOKED": ConnectionProblem.CONSENT_REVOKED,
    "USER_ACCOUNT_REVOKED": ConnectionProblem.CONSENT_REVOKED,
    "ITEM_NOT_FOUND": ConnectionProblem.CONSENT_REVOKED,
    "ITEM_CONCURRENTLY_DELETED": ConnectionProblem.CONSENT_REVOKED,
    "NO_ACCOUNTS": ConnectionProblem.NO_ACCOUNTS,
    # Plaid: the institution
    "INSTITUTION_DOWN": ConnectionProblem.BANK_UNAVAILABLE,
    "INSTITUTION_NOT_RESPONDING": ConnectionProblem.BANK_UNAVAILABLE,
    "INSTITUTION_NOT_AVAILABLE": ConnectionProblem.BANK_UNAVAILABLE,
    "PLANNED_MAINTENANCE": ConnectionProblem.BANK_UNAVAILABLE,
    "INSTITUTION_NO_LONGER_SUPPORTED": ConnectionProblem.BANK_UNSUPPORTED,
    "ITEM_NOT_SUPPORTED": ConnectionProblem.BANK_UNSUPPORTED,
}

# The port's errors, when they carry no code we know (most specific class first).
_PROBLEM_OF_ERROR: tuple[tuple[type[BaseException], ConnectionProblem], ...] = (
    (ConsentRevoked, ConnectionProblem.CONSENT_REVOKED),
    (ConsentExpired, ConnectionProblem.CONSENT_EXPIRED),
    (CredentialsRejected, ConnectionProblem.CREDENTIALS_REJECTED),
    (AggregatorUnavailable, ConnectionProblem.BANK_UNAVAILABLE),
)


def problem_for(
    cause: str | BaseException | None, status: ConnectionStatus | None = None
) -> ConnectionProblem:
    """Our code for a connection problem, from what the provider said (`cause`: a provider code,
    an adapter's reason text, or the port's error) and the status the connection takes.

    In order: a cause that already is one of our codes; a status that names its problem (a
    consent found expired stays "consent_expired" whatever code came with it); the provider's
    code; the port's error class; else the safe default, `provider_error`. Never the provider's
    text, so nothing from a provider reaches a person.
    """
    if isinstance(cause, str) and cause in _OUR_CODES:
        return ConnectionProblem(cause)
    if status in _PROBLEM_OF_STATUS:
        return _PROBLEM_OF_STATUS[status]
    code = getattr(cause, "provider_code", None) if isinstance(cause, BaseException) else cause
    if isinstance(code, str) and (known := _PROBLEM_OF_CODE.get(code.strip().upper())):
        return known
    for kind, problem in _PROBLEM_OF_ERROR:
        if isinstance(cause, kind):
            return problem
    return ConnectionProblem.PROVIDER_ERROR


def status_problem(status: ConnectionStatus, cause: str | BaseException | None) -> ConnectionProblem | None:
    """What `last_error` records with `status`: nothing for a healthy one (linked, pending),
    else `problem_for(cause, status)`."""
    if status in (ConnectionStatus.LINKED, ConnectionStatus.PENDING):
        return None
    return problem_for(cause, status)


def new_reference() -> tuple[str, str]:
    """An opaque, single-use callback reference (R-CON-2) and the hash we store of it."""
    reference = secrets.token_urlsafe(32)  # 256 bits
    return reference, hash_reference(reference)


def hash_reference(reference: str) -> str:
    return hashlib.sha256(reference.encode()).hexdigest()


CREDENTIAL_SCHEME = "kms-v1"  # how a sealed credential was sealed: KMS Encrypt, one context per connection


@dataclass(frozen=True)
class SealedCredential:
    """A provider credential as stored: ciphertext (base64) under `scheme`, sealed for one firm and
    connection (the encryption context), so it opens only for the connection it was sealed for. Use
    cases hand it to the credential vault right before a provider call, and nowhere else."""

    scheme: str
    ciphertext: str = field(repr=False)


class CredentialUnreadable(CredentialsRejected):
    """A stored credential that does not open for its connection (altered, or moved from another
    connection's item): as good as rejected, so the connection asks for a reauthorisation, which
    stores a new one."""

    default_message = "This connection's stored credential cannot be used; reauthorise the connection."


@dataclass(frozen=True)
class Connection:
    firm_id: str
    customer_id: str
    connection_id: str
    user_id: str  # the customer person who consented
    provider: str  # storage only: use cases never branch on it
    institution_id: str
    institution_name: str
    status: ConnectionStatus
    created_at: datetime
    consent_handle: str | None = None  # requisition id / link token of the consent in progress
    # The durable handle (Plaid's access token is a secret: never logged or returned): clear only
    # between the provider's answer and the save (or as an item written before sealing), else sealed.
    credential: str | SealedCredential | None = field(default=None, repr=False)
    item_id: str | None = None  # Plaid item: how its webhooks find us
    reference_hash: str | None = None
    linked_at: datetime | None = None
    expires_at: datetime | None = None
    status_changed_at: datetime | None = None  # orders provider events: an older one never wins
    last_error: str | None = None
    last_import_at: datetime | None = None  # R-CON-9: when data last came in
    last_import_outcome: str | None = None
    rate_limited_until: datetime | None = None  # the provider's reset: no call before it (R-IMP-4)
    expiry_reminded_for: datetime | None = None  # the expiry the customer was reminded of (once)
    import_requested_at: datetime | None = None  # a person's refresh or "import now" queued an import
    # R-PRIV-1: when the consent feeding its data ended (kept through a reauthorisation in progress,
    # cleared when a new consent is granted); see `consent_ended`
    consent_ended_at: datetime | None = None
    version: int = 0

    @property
    def fix(self) -> Fix | None:
        return FIXES.get(self.status)

    @property
    def problem(self) -> ConnectionProblem | None:
        """`last_error` as our code; a row stored before the codes (raw provider text) is mapped
        on read, an unknown text to the status's problem or the generic `provider_error`."""
        return None if self.last_error is None else problem_for(self.last_error, self.status)

    def expiring_soon(self, now: datetime) -> bool:
        return (
            self.status in IMPORTABLE
            and self.expires_at is not None
            and now < self.expires_at < now + EXPIRING_SOON
        )

    def consent_lapsing(self, now: datetime) -> bool:
        """Expired, or expiring within 7 days: what "reauthorise all" renews."""
        return self.status is ConnectionStatus.EXPIRED or (
            self.status in IMPORTABLE
            and self.expires_at is not None
            and self.expires_at < now + EXPIRING_SOON
        )

    @property
    def awaits_expiry_reminder(self) -> bool:
        """Importable with a known expiry the customer was not reminded of yet: a new expiry (a
        reauthorisation, the provider's new date) starts a new reminder cycle."""
        return (
            self.status in IMPORTABLE
            and self.expires_at is not None
            and self.expiry_reminded_for != self.expires_at
        )

    def expiry_reminder_due(self, now: datetime, timezone: str) -> bool:
        """The reminder is due from the firm-local day 7 days before the expiry's local day (days
        are the firm's local days: neither the hour nor a DST change moves it), or as soon as the
        consent shows `expiring_soon`, until the consent lapses; once per expiry."""
        if not self.awaits_expiry_reminder or self.expires_at is None or now >= self.expires_at:
            return False
        zone = ZoneInfo(timezone)
        reminder_day = self.expires_at.astimezone(zone).date() - timedelta(days=EXPIRY_REMINDER_DAYS)
        return now.astimezone(zone).date() >= reminder_day or self.expiring_soon(now)

    def consent_ended(self, now: datetime) -> datetime | None:
        """R-PRIV-1: when the consent that fed this connection's data ended; None while it lasts.

        The time it moved into expired or revoked (an expiry found after the consent's end date ended
        on that date), kept while a new consent is being given (pending, rejected at the bank...) and
        gone once one is granted; a consent past its end date that no import has found expired yet
        ended on that date. A connection stored before this was recorded ended when it changed status."""
        if self.consent_ended_at is not None:
            return self.consent_ended_at
        if self.status in CONSENT_ENDED:
            return _ended_at(self.status, self.status_changed_at or self.created_at, self.expires_at)
        if self.status in IMPORTABLE and self.expires_at is not None and self.expires_at <= now:
            return self.expires_at
        return None

    def consent_ended_on(self, now: datetime, timezone: str) -> date | None:
        """The firm-local day the consent ended (None while it lasts): what "historical, consent ended
        on …" shows, on the connection and on every account it feeds."""
        ended = self.consent_ended(now)
        return None if ended is None else ended.astimezone(ZoneInfo(timezone)).date()

    def held(self, now: datetime) -> bool:
        """Before the provider's rate-limit reset, nothing may call it (R-IMP-4)."""
        return self.rate_limited_until is not None and now < self.rate_limited_until

    def import_pending(self, now: datetime) -> bool:
        """An import a person asked for is queued or running: asked within `IMPORT_PENDING_FOR` and
        not finished since (an import records its outcome's time in `last_import_at`)."""
        asked = self.import_requested_at
        return (
            asked is not None
            and now - asked < IMPORT_PENDING_FOR
            and (self.last_import_at is None or self.last_import_at < asked)
        )

    def check_not_held(self, now: datetime) -> None:
        """A 429 at once while held, with the time of the next possible call."""
        if self.held(now) and self.rate_limited_until is not None:
            raise AggregatorRateLimited.until(
                self.rate_limited_until,
                now,
                "The bank data provider asked us to wait before the next request.",
            )

    def with_status(self, status: ConnectionStatus, at: datetime, *, error: str | None = None) -> Connection:
        """The connection in `status` as of `at`; an event older than the current state changes nothing."""
        if self.status_changed_at is not None and at < self.status_changed_at:
            return self
        if self.status is ConnectionStatus.REVOKED and status is not ConnectionStatus.PENDING:
            return self  # revoked is final until a new consent starts
        ended = self.consent_ended_at
        if status is ConnectionStatus.LINKED:
            ended = None  # a consent is granted: the data is live again
        elif status in CONSENT_ENDED and ended is None:
            ended = _ended_at(status, at, self.expires_at)  # the first end counts (expired, then revoked)
        return replace(self, status=status, status_changed_at=at, last_error=error, consent_ended_at=ended)

    def audit_event(
        self, actor: str, action: str, at: datetime, details: dict[str, Any] | None = None
    ) -> AuditEvent:
        """What happened to this connection, by whom (ids and its status only): for its audit log."""
        return AuditEvent(
            firm_id=self.firm_id,
            actor_id=actor,
            action=action,
            target_type="connection",
            target_id=self.connection_id,
            details={"status": self.status.value} | (details or {}),
            occurred_at=at,
            customer_id=self.customer_id,
        )

    def linked(self, at: datetime, credential: str, access_expires_at: datetime | None) -> Connection:
        return replace(
            self.with_status(ConnectionStatus.LINKED, at),
            credential=credential,
            linked_at=at,
            expires_at=access_expires_at or at + timedelta(days=CONSENT_DAYS),
            reference_hash=None,
        )


def _ended_at(status: ConnectionStatus, at: datetime, expires_at: datetime | None) -> datetime:
    """When a consent found `status` at `at` ended: an expiry found after the end date ended then."""
    if status is ConnectionStatus.EXPIRED and expires_at is not None:
        return min(at, expires_at)
    return at


def consent_end_days(connections: Iterable[Connection], now: datetime, timezone: str) -> dict[str, date]:
    """R-PRIV-1, for a view: connection id -> the firm-local day its consent ended, for the connections
    whose consent ended. An account is historical when the connection feeding it is
    (`account.connection_id`); the others are live."""
    days = {c.connection_id: c.consent_ended_on(now, timezone) for c in connections}
    return {connection_id: day for connection_id, day in days.items() if day is not None}


def expiry_reminder_days(now: datetime) -> list[date]:
    """The UTC days of the expiries a reminders run at `now` reads (see EXPIRY_REMINDER_UTC_DAYS)."""
    today = now.astimezone(UTC).date()
    return [today + timedelta(days=n) for n in range(EXPIRY_REMINDER_UTC_DAYS)]
