"""A connection: one consent at one institution through one aggregator (R-CON-1..9).

Its state machine is here; the aggregator port says what the provider reports, the use
cases in shared/services/connections.py decide what changes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.aggregator import ConsentState

CONSENT_DAYS = 90  # R-CON-2: access valid for 90 days from the (re)authorisation
EXPIRING_SOON = timedelta(days=7)


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


FIXES: dict[ConnectionStatus, Fix] = {
    ConnectionStatus.CREDENTIALS_REJECTED: Fix.REAUTHORISE,
    ConnectionStatus.EXPIRED: Fix.REAUTHORISE,
    ConnectionStatus.REJECTED: Fix.REAUTHORISE,
    ConnectionStatus.ERROR: Fix.REAUTHORISE,
    ConnectionStatus.REFRESH_FAILED: Fix.REFRESH,
    ConnectionStatus.NO_ACCOUNTS: Fix.FIND_NEW_ACCOUNTS,
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


def new_reference() -> tuple[str, str]:
    """An opaque, single-use callback reference (R-CON-2) and the hash we store of it."""
    reference = secrets.token_urlsafe(32)  # 256 bits
    return reference, hash_reference(reference)


def hash_reference(reference: str) -> str:
    return hashlib.sha256(reference.encode()).hexdigest()


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
    credential: str | None = None  # durable handle; Plaid's is a secret: never logged or returned
    item_id: str | None = None  # Plaid item: how its webhooks find us
    reference_hash: str | None = None
    linked_at: datetime | None = None
    expires_at: datetime | None = None
    status_changed_at: datetime | None = None  # orders provider events: an older one never wins
    last_error: str | None = None
    last_import_at: datetime | None = None  # R-CON-9: when data last came in
    last_import_outcome: str | None = None
    rate_limited_until: datetime | None = None  # the provider's reset: no call before it (R-IMP-4)
    version: int = 0

    @property
    def fix(self) -> Fix | None:
        return FIXES.get(self.status)

    def expiring_soon(self, now: datetime) -> bool:
        return (
            self.status in IMPORTABLE
            and self.expires_at is not None
            and now < self.expires_at < now + EXPIRING_SOON
        )

    def with_status(self, status: ConnectionStatus, at: datetime, *, error: str | None = None) -> Connection:
        """The connection in `status` as of `at`; an event older than the current state changes nothing."""
        if self.status_changed_at is not None and at < self.status_changed_at:
            return self
        if self.status is ConnectionStatus.REVOKED and status is not ConnectionStatus.PENDING:
            return self  # revoked is final until a new consent starts
        return replace(self, status=status, status_changed_at=at, last_error=error)

    def linked(self, at: datetime, credential: str, access_expires_at: datetime | None) -> Connection:
        return replace(
            self.with_status(ConnectionStatus.LINKED, at),
            credential=credential,
            linked_at=at,
            expires_at=access_expires_at or at + timedelta(days=CONSENT_DAYS),
            reference_hash=None,
        )
