"""The aggregator port: what use cases need from an open-banking provider (R-CON-*, R-IMP-*).

Two adapters implement it (`shared/adapters/aggregator/`): GoCardless Bank Account Data
(browser redirect + polling, date-window transactions) and Plaid (Link tokens, webhooks,
cursor-synced transactions). Use cases never branch on the provider's name: the differences
live in the values (a consent URL or a link token; a `DateWindow` or a `SyncCursor`), which
use cases pass back unchanged.

Secrets: a Plaid `access_token` is a bearer secret. It travels as `credential`, which is
never part of a `repr`, a log line or an exception message.

Pure domain: no httpx, no boto3, no environment.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, Self

from shared.domain.errors import DomainError, RateLimited, UpstreamUnavailable

# --------------------------------------------------------------------------- institutions


@dataclass(frozen=True, kw_only=True)
class Institution:
    """A bank as people pick it (R-CON-1): name, web address and notice tell look-alikes apart."""

    id: str
    name: str
    country: str
    website: str | None = None
    logo_url: str | None = None
    max_history_days: int | None = None  # None: the provider does not say
    notice: str | None = None


# --------------------------------------------------------------------------- consent


class ConsentState(StrEnum):
    PENDING = "pending"  # the person has not finished at the bank yet (may last days): poll later
    LINKED = "linked"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CREDENTIALS_REJECTED = "credentials_rejected"
    REVOKED = "revoked"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class ConsentRequest:
    """Everything a provider may need to start a consent; each adapter uses what applies.

    `reference` is our opaque value bound to one connection (GoCardless echoes it on the
    redirect). `update_consent` is an existing credential to re-login with (Plaid update
    mode); GoCardless always creates a new consent.
    """

    institution_id: str
    reference: str
    redirect_url: str | None
    user_id: str  # our opaque id of the person (Plaid's client_user_id), never an email
    max_history_days: int | None = None  # None: the institution's maximum
    access_days: int = 90
    language: str = "en"
    country: str | None = None
    webhook_url: str | None = None
    update_consent: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class ConsentStart:
    """What the front end needs: a bank consent URL (redirect) or a link token (Plaid Link)."""

    consent_handle: str  # GoCardless requisition id / Plaid link_token: what completion takes
    consent_url: str | None = None
    link_token: str | None = None
    agreement_id: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class CompletionInput:
    """The end of a consent: the handle from `ConsentStart`, plus Plaid Link's `public_token`,
    or the existing `credential` when the consent was an update (Plaid update mode)."""

    consent_handle: str
    public_token: str | None = field(default=None, repr=False)
    credential: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class ConsentOutcome:
    """A consent's state. `credential` is the durable handle for later calls (GoCardless
    requisition id; Plaid access_token, a secret); `reference` is what the provider holds as
    our reference, for the caller to check against the one it issued."""

    state: ConsentState
    credential: str | None = field(default=None, repr=False)
    item_id: str | None = None
    account_ids: tuple[str, ...] = ()
    reason: str | None = None
    reference: str | None = None
    institution_id: str | None = None
    access_expires_at: datetime | None = None


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True, kw_only=True)
class AggregatorAccount:
    """An account as offered to the firm: masked, without the holder's personal data."""

    account_id: str
    name: str
    masked_identifier: str | None  # "•••• 1234": never the full IBAN or account number
    currency: str | None
    balance: Decimal | None
    balance_type: str | None
    institution_id: str | None
    details: Mapping[str, str] = field(default_factory=dict)
    # The bank account itself across consents and connections (an IBAN, sort code and number,
    # Plaid's persistent account id…): personal data, never stored, shown or logged as is.
    identity: str | None = field(default=None, repr=False)


def mask_identifier(identifier: str | None) -> str | None:
    """ "•••• 1234" from an IBAN, account number or provider mask (its last 4 characters)."""
    if not identifier:
        return None
    compact = "".join(identifier.split())
    return f"•••• {compact[-4:]}"


# --------------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class DateWindow:
    """GoCardless-style cursor: booked transactions in [date_from, date_to] (None: today)."""

    date_from: date
    date_to: date | None = None

    def until(self, day: date) -> DateWindow:
        """The same cursor, ending on `day` (the close of the previous day, R-IMP-1)."""
        return replace(self, date_to=max(day, self.date_from))

    def not_before(self, day: date) -> DateWindow:
        """No earlier than `day` (the consent's maximum history, R-CON-6)."""
        return replace(self, date_from=max(day, self.date_from))


@dataclass(frozen=True)
class SyncCursor:
    """Plaid-style cursor: an opaque position in the consent's change feed (None: the start)."""

    value: str | None = None

    def until(self, day: date) -> SyncCursor:
        """A change feed has no end date: the cursor is unchanged."""
        return self

    def not_before(self, day: date) -> SyncCursor:
        """The feed's history was fixed when the consent was given: unchanged."""
        return self


TransactionCursor = DateWindow | SyncCursor


def cursor_to_json(cursor: TransactionCursor) -> dict[str, str | None]:
    """A storable form of a cursor (what the use case saves once a page set is stored)."""
    if isinstance(cursor, DateWindow):
        return {
            "kind": "date_window",
            "date_from": cursor.date_from.isoformat(),
            "date_to": cursor.date_to.isoformat() if cursor.date_to else None,
        }
    return {"kind": "sync", "value": cursor.value}


def cursor_from_json(data: Mapping[str, Any]) -> TransactionCursor:
    if data.get("kind") == "date_window":
        date_to = data.get("date_to")
        return DateWindow(
            date.fromisoformat(data["date_from"]), date.fromisoformat(date_to) if date_to else None
        )
    if data.get("kind") == "sync":
        return SyncCursor(data.get("value"))
    raise ValueError(f"not a transaction cursor: kind={data.get('kind')!r}")


@dataclass(frozen=True, kw_only=True)
class AggregatorTransaction:
    """One movement. Sign convention: negative = money out of the account (debit).

    `transaction_id` is the provider's or bank's id when there is one; `internal_id` is
    GoCardless's own per-account id (booked transactions only). `raw_fingerprint_fields`
    are the provider fields that identify the transaction when neither id exists, plus an
    `occurrence` index that tells identical movements of the same day apart.
    """

    transaction_id: str | None
    internal_id: str | None
    account_id: str
    booking_date: date | None
    value_date: date | None
    amount: Decimal
    currency: str
    description: str | None
    counterparty: str | None
    pending: bool
    raw_fingerprint_fields: tuple[tuple[str, str], ...] = ()
    pending_transaction_id: str | None = None  # Plaid: the pending transaction this one posts

    @property
    def fingerprint(self) -> str:
        """A stable SHA-256 of the account and the fingerprint fields (same input, same key)."""
        canonical = json.dumps([self.account_id, sorted(self.raw_fingerprint_fields)], ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class TransactionPage:
    """What is new since a cursor; `next_cursor` is to be saved only once all of it is stored.

    `complete` is False when the provider had more than one call may fetch: store this page
    and call again with `next_cursor`. `pending_snapshot` is True when `added` holds every
    pending transaction of the window (GoCardless): stored pendings missing from it are gone.
    """

    added: tuple[AggregatorTransaction, ...]
    modified: tuple[AggregatorTransaction, ...]
    removed: tuple[str, ...]
    next_cursor: TransactionCursor
    complete: bool
    pending_snapshot: bool = False


# --------------------------------------------------------------------------- the port


class AggregatorProvider(Protocol):
    """One open-banking provider. Every method may raise the `AggregatorError`s below."""

    name: str  # for storage and logs only: use cases never branch on it
    # True: one transaction feed (cursor) per account; False: one feed for the whole consent,
    # whose transactions carry their account id (Plaid's /transactions/sync).
    feed_per_account: bool

    def search_institutions(self, country: str, query: str = "") -> list[Institution]: ...

    def get_institution(self, institution_id: str) -> Institution: ...

    def start_consent(self, request: ConsentRequest) -> ConsentStart: ...

    def complete_consent(self, completion: CompletionInput) -> ConsentOutcome: ...

    def consent_state(self, credential: str) -> ConsentOutcome: ...

    def list_accounts(
        self,
        credential: str,
        *,
        only: Collection[str] | None = None,
        skip: Callable[[AggregatorAccount], bool] | None = None,
    ) -> list[AggregatorAccount]:
        """The consent's accounts with details and balances; `only` these provider account ids;
        an account `skip` refuses on sight is neither read further nor returned (R-INV-6: a
        declined account is never read)."""
        ...

    def initial_cursor(self, since: date) -> TransactionCursor:
        """Where a new connection's first import starts (history from `since` where it applies)."""
        ...

    def fetch_transactions(
        self, credential: str, account_id: str, cursor: TransactionCursor
    ) -> TransactionPage:
        """What is new since `cursor`. A `SyncCursor` spans every account of the consent:
        `account_id` is then ignored and each transaction carries its own account id."""
        ...

    def revoke(self, credential: str) -> None:
        """End the consent at the provider (R-CON-7); revoking an unknown consent is a no-op."""
        ...


# --------------------------------------------------------------------------- errors


class AggregatorError(DomainError):
    """A provider failure, with the provider's own code and request id for support."""

    status = 502
    code = "aggregator_error"
    default_message = "The bank data provider could not complete the request."

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str | None = None,
        provider_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        DomainError.__init__(self, message)
        self.provider = provider
        self.provider_code = provider_code
        self.request_id = request_id


class AggregatorRateLimited(AggregatorError, RateLimited):
    """The provider's rate limit (or the bank's daily limit): retry after the reset, not before."""

    status = 429
    code = "aggregator_rate_limited"
    default_message = "The bank data provider's rate limit was reached; try again later."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after_seconds: int | None = None,
        reset_at: datetime | None = None,
        **details: str | None,
    ) -> None:
        AggregatorError.__init__(self, message, **details)
        self.retry_after_seconds = retry_after_seconds
        self.reset_at = reset_at

    @classmethod
    def until(cls, reset_at: datetime, now: datetime, message: str | None = None) -> Self:
        """No call before `reset_at`: the error that says so, with the seconds left."""
        return cls(
            message, retry_after_seconds=math.ceil((reset_at - now).total_seconds()), reset_at=reset_at
        )


class RequestsSpent(AggregatorRateLimited):
    """Our own refusal to send: today's requests to an account's endpoint are spent, or the
    provider said none before `reset_at`. Nothing was sent."""

    code = "aggregator_requests_spent"
    default_message = "Today's requests to the bank for this account are spent; try again after the reset."


class RequestGate(Protocol):
    """Where a provider limits requests per account and endpoint (GoCardless: 4 a day), every
    request to such an endpoint (each retry too) passes here before it is sent, because the
    provider counts requests, not successes (R-IMP-4)."""

    def admit(self, scope: str, endpoint: str) -> None:
        """Spend one of today's requests, or raise `RequestsSpent` (with the next possible time)."""
        ...

    def hold(self, scope: str, endpoint: str, until: datetime) -> None:
        """The provider said no request before `until` (a 429, or none remaining)."""
        ...


class OpenGate:
    """No limit kept here (a provider without per-account limits; adapter unit tests)."""

    def admit(self, scope: str, endpoint: str) -> None:
        return None

    def hold(self, scope: str, endpoint: str, until: datetime) -> None:
        return None


class RequestsPaced(AggregatorRateLimited):
    """Our own refusal to send: this minute's share of the provider's company-wide rate is spent
    (`RequestPace`). Nothing was sent; the next minute admits again, so this is a wait of
    seconds, not a spent day: answered as the provider's own 429 would be."""


# GoCardless: GET accounts/{id}/, /balances/, /details/ and /transactions/ together, for all of a
# company's credentials: 100 a minute (the "Bank Account Data API Rate Limits" help article).
GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE = 100


def calls_kept_for_people(limit: int) -> int:
    """Of a company-wide pace of `limit` requests a minute, how many the background imports leave to
    the requests a person waits for (the bank's redirect back, which reads the consent's accounts;
    find-new-accounts): a fifth, rounded down. A Data Refresh of thousands of engagements keeps the
    imports at the pace for hours; without this share a customer connecting their bank meanwhile would
    be refused until it ends. A fifth of GoCardless's 100 is 20 a minute: the accounts read at the
    bank's redirect back cost 3 requests each, so one customer with up to 6 accounts a minute (two with
    3) even while the imports spend all they may."""
    return limit // 5


PACE_WINDOW = timedelta(minutes=1)
# A refused request is given a later minute the more were refused before it (its turn), at most this
# far ahead: SQS delays a message 15 minutes at most.
PACE_MAX_TURN = timedelta(minutes=14)


@dataclass(frozen=True)
class PaceWindow:
    """One UTC minute of a company-wide pace, the rule every `RequestPace` keeps: at most `limit`
    requests are admitted in it (a retry counts as a request); once they are, every request until
    `reset_at`, the next minute's start, is refused — and told to come back at its turn: the n-th
    refusal of the minute one minute later for every `limit` refused before it (up to
    PACE_MAX_TURN), so a backlog of thousands of jobs (a large Data Refresh) comes back spread over
    the following minutes, not all at the next minute's start to be refused again (a job needs
    several requests: some are refused again at their turn)."""

    start: datetime

    @classmethod
    def of(cls, now: datetime) -> PaceWindow:
        return cls(now.astimezone(UTC).replace(second=0, microsecond=0))

    @property
    def label(self) -> str:
        """The minute as a sort key: `2026-12-06T10:15`."""
        return self.start.strftime("%Y-%m-%dT%H:%M")

    @property
    def reset_at(self) -> datetime:
        return self.start + PACE_WINDOW

    def refused(self, now: datetime, refused_before: int = 0, limit: int = 1) -> RequestsPaced:
        """The refusal of a request after `refused_before` others this minute, under `limit` a minute."""
        turn = min(PACE_WINDOW * (refused_before // max(limit, 1)), PACE_MAX_TURN)
        return RequestsPaced.until(
            self.reset_at + turn,
            now,
            "This minute's requests to the bank data provider are spent; try again shortly.",
        )


class RequestPace(Protocol):
    """A provider's company-wide rate (GoCardless: its account endpoints, 100 a minute for all of
    the firm's credentials): every request to such an endpoint (each retry too) passes here
    before it is sent, so the workers never set off the provider's 429s."""

    def admit(self) -> None:
        """Spend one request of this minute's allowance, or raise `RequestsPaced` (the reset: the
        next minute's start)."""
        ...


class OpenPace:
    """No company-wide pace kept here (a provider without one; adapter unit tests)."""

    def admit(self) -> None:
        return None


class AggregatorUnavailable(AggregatorError, UpstreamUnavailable):
    """5xx, timeouts or an institution outage, after the adapter's bounded retries."""

    status = 503
    code = "aggregator_unavailable"
    default_message = "The bank data provider is unavailable; try again later."


class ConsentExpired(AggregatorError):
    """The consent no longer gives access: the person must reauthorise (R-CON-6)."""

    status = 409
    code = "consent_expired"
    default_message = "The bank consent has expired; reauthorise the connection."


class ConsentRevoked(ConsentExpired):
    """The consent was revoked or deleted (by the person, the bank or the provider)."""

    code = "consent_revoked"
    default_message = "The bank consent was revoked; connect the account again."


class AccountUnavailable(AggregatorError):
    """One account cannot be read (closed, suspended, inactive, not found, or still being
    processed at the provider) while the consent itself is fine: that account is flagged, the
    connection's other accounts carry on, and reauthorising would not help."""

    status = 409
    code = "account_unavailable"
    default_message = "The bank does not give access to this account at the moment."

    def __init__(
        self, message: str | None = None, *, retry_later: bool = False, **details: str | None
    ) -> None:
        AggregatorError.__init__(self, message, **details)
        self.retry_later = retry_later  # still processing: try again in a while


class CredentialsRejected(AggregatorError):
    """The bank rejected the stored login (Plaid ITEM_LOGIN_REQUIRED): reauthorise (R-CON-8)."""

    status = 409
    code = "credentials_rejected"
    default_message = "The bank rejected the credentials; reauthorise the connection."


class AggregatorRequestRejected(AggregatorError):
    """A 4xx with the provider's summary and detail (never a secret)."""

    status = 400
    code = "aggregator_request_rejected"
    default_message = "The bank data provider rejected the request."


class MalformedAggregatorResponse(AggregatorError):
    """A response we cannot read (not JSON, a field missing or of the wrong type)."""

    status = 502
    code = "aggregator_malformed_response"
    default_message = "The bank data provider sent a response we could not read."


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider webhook, in the port's words (see services.connections)."""

    key: str  # the deduplication key (see plaid_webhook_events.webhook_event_key)
    item_id: str
    event: str  # new_data, login_required, login_repaired, expiring, new_accounts, revoked
    details: dict[str, Any]
