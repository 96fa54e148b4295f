"""In-memory implementations of the ports, with the DynamoDB adapters' semantics (optimistic
locks, idempotent writes, ordering), so service rules are tested without moto.

`tests/integration/test_port_contracts.py` runs the same assertions against these fakes and the
DynamoDB adapters on moto, so the two cannot drift. Only what services call is implemented; a
fake raises NotImplementedError for the rest rather than guess.
"""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from botocore.exceptions import ClientError
from ulid import ULID

from shared.domain.accounts import AccountProblem, AccountStatus, BankTransaction, SharedAccount
from shared.domain.aggregator import GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE, PaceWindow
from shared.domain.audit import AuditEvent, kind_of
from shared.domain.connections import Connection, CredentialUnreadable, SealedCredential
from shared.domain.customers import Customer, Section, email_fingerprint, normalise_email
from shared.domain.email import EmailMessage
from shared.domain.errors import (
    ConcurrentChange,
    Conflict,
    DomainError,
    FileChanged,
    InvalidRequest,
    NotFound,
    QueueSendFailed,
    StaleConnection,
    UpstreamUnavailable,
)
from shared.domain.files import ExternalAdviser, FamilyMember, Grant, Subject, SubjectType
from shared.domain.identity import CustomerLink, Firm, StaffMembership, UserProfile
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob
from shared.domain.mfa import MfaEnrolment
from shared.domain.notifications import Notification
from shared.domain.search import first_match, search_prefix, token_budget, tokens
from shared.ports.connections import ConnectionAddress
from shared.ports.customers import CustomerPage
from shared.ports.directory import DirectoryUser
from shared.ports.files import Entry, FileContents, FileLink, GrantRef
from shared.ports.imports import FeedState, StoredTransaction
from shared.ports.storage import TransactItem
from tests.limit_fakes import FakeLimiter

# transactions --------------------------------------------------------------------------------
# A fake TransactItem names one row of one fake's dict, what to write there and the condition the
# stored row must meet. It keeps DynamoDB's shape ({"Put": {...}}, {"Delete": {...}}) because
# services adjust items as such: the onboarding service pops a token Delete's
# "ConditionExpression" to make it unconditional. A condition is a predicate on the stored row
# (None when there is none).
Condition = Callable[[Any], bool]


def absent(stored: Any) -> bool:
    """attribute_not_exists(PK)"""
    return stored is None


def present(stored: Any) -> bool:
    """attribute_exists(PK)"""
    return stored is not None


@dataclass(frozen=True)
class Has:
    """`#name = :value`: the row exists and its `name` is `value` (false on a missing row)."""

    name: str
    value: Any

    def __call__(self, stored: Any) -> bool:
        return stored is not None and getattr(stored, self.name) == self.value


def put_item(rows: dict[Any, Any], key: Any, value: Any, condition: Condition | None = None) -> TransactItem:
    put = {"Rows": rows, "Key": key, "Item": value}
    return {"Put": put | ({"ConditionExpression": condition} if condition else {})}


def delete_item(rows: dict[Any, Any], key: Any, condition: Condition | None = None) -> TransactItem:
    delete = {"Rows": rows, "Key": key}
    return {"Delete": delete | ({"ConditionExpression": condition} if condition else {})}


def check_item(rows: dict[Any, Any], key: Any, condition: Condition) -> TransactItem:
    return {"ConditionCheck": {"Rows": rows, "Key": key, "ConditionExpression": condition}}


@dataclass(frozen=True)
class AbsentOr:
    """`attribute_not_exists(PK) OR #name = :value`, on a row that holds just that value."""

    value: Any

    def __call__(self, stored: Any) -> bool:
        return stored is None or stored == self.value


def _transaction_canceled() -> Exception:
    return _client_error("TransactionCanceledException", "Transaction cancelled [ConditionalCheckFailed]")


def transact_write(
    items: Sequence[TransactItem], canceled: Callable[[], Exception] = _transaction_canceled
) -> None:
    """TransactWriteItems: every condition holds and all is written, or nothing is: `canceled()` is
    raised, by default the botocore ClientError the table answers (a repository's save raises
    its own)."""
    operations = [(kind, spec) for item in items for kind, spec in item.items()]
    rows_touched = [(id(spec["Rows"]), spec["Key"]) for _, spec in operations]
    if len(set(rows_touched)) != len(rows_touched):
        raise _client_error(
            "ValidationException", "Transaction request cannot include multiple operations on one item"
        )
    for _, spec in operations:
        condition = spec.get("ConditionExpression")
        if condition is not None and not condition(spec["Rows"].get(spec["Key"])):
            raise canceled()
    for kind, spec in operations:
        if kind == "Put":
            spec["Rows"][spec["Key"]] = spec["Item"]
        elif kind == "Delete":
            spec["Rows"].pop(spec["Key"], None)
        elif kind != "ConditionCheck":
            raise NotImplementedError(kind)


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "TransactWriteItems")


def encode_cursor(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode() or _invalid_cursor()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return _invalid_cursor()


def _invalid_cursor() -> str:
    raise InvalidRequest("The page cursor is not valid.", code="invalid_cursor")


def newest_first_page(ids: Sequence[str], cursor: str | None, limit: int) -> tuple[list[str], str | None]:
    """A Query with ScanIndexForward=False and Limit: up to `limit` ids after the cursor's (the
    filter, if any, applies to these afterwards), and a cursor when more remain. (So does moto;
    DynamoDB may also give one after an exactly full last page: the next page is then empty.)"""
    last = decode_cursor(cursor)
    after = [i for i in sorted(ids, reverse=True) if last is None or i < last]
    examined = after[:limit]
    return examined, encode_cursor(examined[-1]) if len(after) > limit else None


def line_sort_key(line: BankTransaction) -> str:
    """The fake's own stored-row key: like the table's, the day is part of it (a line whose day
    changes is a new row, the old one deleted by the service)."""
    return f"{line.booking_date.isoformat()}~{line.account_id}~{line.transaction_key}"


@dataclass
class FakeVault:
    """CredentialVault: seals a credential for one firm and connection (reversibly: a fake) and
    counts what it seals and opens; a sealed value opens only for the firm and connection it was
    sealed for, as under KMS's encryption context."""

    sealed: int = 0
    opened: int = 0

    def seal(self, clear: str, *, firm_id: str, connection_id: str) -> SealedCredential:
        self.sealed += 1
        text = f"{firm_id}/{connection_id}/{clear}"
        return SealedCredential("fake", base64.b64encode(text.encode()).decode())

    def open(self, sealed: SealedCredential, *, firm_id: str, connection_id: str) -> str:
        self.opened += 1
        text = base64.b64decode(sealed.ciphertext).decode()
        if sealed.scheme != "fake" or not text.startswith(f"{firm_id}/{connection_id}/"):
            raise CredentialUnreadable()
        return text.removeprefix(f"{firm_id}/{connection_id}/")


@dataclass
class FakeConnections:
    """ConnectionStore: a connection per address, saved under an optimistic lock (version); a
    clear credential is sealed on save, as the table stores it."""

    rows: dict[ConnectionAddress, Connection] = field(default_factory=dict)
    saves: int = 0
    vault: FakeVault = field(default_factory=FakeVault)

    def get(self, address: ConnectionAddress) -> Connection | None:
        return self.rows.get(address)

    def locate(self, connection_id: str) -> ConnectionAddress | None:
        return next((a for a in self.rows if a.connection_id == connection_id), None)

    def list_for_customer(self, firm_id: str, customer_id: str) -> list[Connection]:
        return [c for a, c in sorted(self.rows.items(), key=lambda kv: kv[0].connection_id)
                if (a.firm_id, a.customer_id) == (firm_id, customer_id)]  # fmt: skip

    def awaiting_expiry_reminder(self, day: date, after: datetime) -> Iterator[list[ConnectionAddress]]:
        found = [a for a, c in sorted(self.rows.items(), key=lambda kv: kv[0].connection_id)
                 if c.awaits_expiry_reminder and c.expires_at and c.expires_at.astimezone(UTC).date() == day
                 and c.expires_at >= after]  # fmt: skip
        if found:
            yield found

    def save(self, connection: Connection, previous: Connection | None, *extra: TransactItem) -> Connection:
        """With an optimistic lock on the version read, in one transaction with `extra` (its audit
        event): a failed condition anywhere is a StaleConnection and writes nothing."""
        [saved] = self.save_all([(connection, previous)], *extra)
        return saved

    def save_all(
        self, changes: Sequence[tuple[Connection, Connection | None]], *extra: TransactItem
    ) -> list[Connection]:
        """`save` of several, in one transaction with `extra`: all or nothing (StaleConnection)."""
        saved = [self._stored(connection, previous) for connection, previous in changes]
        puts = [
            put_item(self.rows, self._address(new), new, _unchanged(previous))
            for new, (_, previous) in zip(saved, changes, strict=True)
        ]
        transact_write([*puts, *extra], canceled=StaleConnection)
        self.saves += len(saved)
        return saved

    @staticmethod
    def _address(connection: Connection) -> ConnectionAddress:
        return ConnectionAddress(connection.firm_id, connection.customer_id, connection.connection_id)

    def _stored(self, connection: Connection, previous: Connection | None) -> Connection:
        """The next version, with a clear credential sealed, as the table stores it."""
        saved = replace(connection, version=(previous.version + 1) if previous else 1)
        if isinstance(saved.credential, str):
            credential = self.vault.seal(
                saved.credential, firm_id=saved.firm_id, connection_id=saved.connection_id
            )
            saved = replace(saved, credential=credential)
        return saved


def _unchanged(previous: Connection | None) -> Condition:
    """The optimistic lock: the stored connection is still the version read (absent if new)."""

    def holds(stored: Connection | None) -> bool:
        return (previous is None) == (stored is None) and not (
            stored and previous and stored.version != previous.version
        )

    return holds


@dataclass
class FakeAccounts:
    """AccountStore: accounts and their lines (the lines shared with FakeFeeds through `lines`)."""

    accounts: dict[tuple[str, str, str], SharedAccount] = field(default_factory=dict)
    lines: dict[tuple[str, str, str], BankTransaction] = field(
        default_factory=dict
    )  # firm, customer, row key
    batch_writes: int = 0
    queries: int = 0  # list_transactions pages read
    _sorted: list[tuple[str, str, str]] | None = field(default=None, repr=False, compare=False)

    def add(self, account: SharedAccount) -> SharedAccount:
        self.accounts[(account.firm_id, account.customer_id, account.account_id)] = account
        return account

    def list_for_customer(self, firm_id: str, customer_id: str) -> list[SharedAccount]:
        return [a for (f, c, _), a in sorted(self.accounts.items()) if (f, c) == (firm_id, customer_id)]

    def get(self, firm_id: str, customer_id: str, account_id: str) -> SharedAccount | None:
        return self.accounts.get((firm_id, customer_id, account_id))

    def mark_updated(self, account: SharedAccount, at: datetime, balance: Decimal | None) -> None:
        key = (account.firm_id, account.customer_id, account.account_id)
        current = self.accounts[key]  # the table's update is conditional on the account existing
        self.accounts[key] = replace(
            current,
            last_updated=at,
            balance=balance if balance is not None else current.balance,
            problem=None,
        )

    def mark_problem(self, account: SharedAccount, problem: AccountProblem) -> None:
        key = (account.firm_id, account.customer_id, account.account_id)
        self.accounts[key] = replace(self.accounts[key], problem=problem)

    def put_op(self, account: SharedAccount, *, expected_status: AccountStatus | None) -> TransactItem:
        key = (account.firm_id, account.customer_id, account.account_id)
        condition = absent if expected_status is None else Has("status", expected_status)
        return put_item(self.accounts, key, account, condition)

    def assign_lines(
        self, firm_id: str, customer_id: str, lines: list[BankTransaction], *extra: TransactItem
    ) -> None:
        puts = [put_item(self.lines, (firm_id, customer_id, line_sort_key(line)), line) for line in lines]
        transact_write([*puts, *extra])
        self._sorted = None

    def write_transactions(
        self, firm_id: str, customer_id: str, puts: list[BankTransaction], deletes: Sequence[str] = ()
    ) -> None:
        keys = [line_sort_key(t) for t in puts]
        if len(set(keys)) != len(keys):  # BatchWriteItem refuses two requests for one key
            raise ValueError("Provided list of item keys contains duplicates")
        self.batch_writes += -(-(len(puts) + len(deletes)) // 25)
        for sort_key in deletes:
            self.lines.pop((firm_id, customer_id, sort_key), None)
        for line, sort_key in zip(puts, keys, strict=True):
            self.lines[(firm_id, customer_id, sort_key)] = line
        self._sorted = None

    def list_transactions(
        self,
        firm_id: str,
        customer_id: str,
        *,
        account_id: str | None,
        date_from: date | None,
        date_to: date | None,
        cursor: str | None,
        limit: int,
    ) -> Any:  # a TransactionPage
        """Newest first, `limit` lines a page after the cursor's (one Query, counted in `queries`)."""
        from shared.ports.accounts import TransactionPage

        self.queries += 1
        low, high = (date_from or date.min).isoformat(), (date_to or date.max).isoformat()
        ordered = self._oldest_first()
        last = decode_cursor(cursor)
        end = bisect_left(ordered, (firm_id, customer_id, last)) if last else len(ordered)
        found: list[str] = []
        for f, c, k in reversed(ordered[:end]):
            if (f, c) != (firm_id, customer_id):
                continue
            if low <= k[:10] <= high and (account_id in (None, self.lines[(f, c, k)].account_id)):
                found.append(k)
                if len(found) > limit:
                    break
        page = found[:limit]
        lines = [self.lines[(firm_id, customer_id, k)] for k in page]
        return TransactionPage(lines, encode_cursor(page[-1]) if len(found) > limit else None)

    def _oldest_first(self) -> list[tuple[str, str, str]]:
        if self._sorted is None:
            self._sorted = sorted(self.lines)
        return self._sorted

    def of(self, firm_id: str, customer_id: str) -> list[BankTransaction]:
        """Every stored line of the customer, in key order (a test's view of the table)."""
        return [t for (f, c, _), t in sorted(self.lines.items()) if (f, c) == (firm_id, customer_id)]


@dataclass
class FakeFeeds:
    """FeedStore: feed cursors, and the recent lines read from FakeAccounts' rows."""

    accounts: FakeAccounts
    states: dict[tuple[str, str, str], FeedState] = field(default_factory=dict)
    reads: int = 0

    def feed_state(self, firm_id: str, customer_id: str, feed_id: str) -> FeedState:
        return self.states.get((firm_id, customer_id, feed_id), FeedState(None, None, None))

    def save_feed_state(self, firm_id: str, customer_id: str, feed_id: str, state: FeedState) -> None:
        self.states[(firm_id, customer_id, feed_id)] = state

    def recent(self, firm_id: str, account_id: str, since: date) -> dict[str, StoredTransaction]:
        self.reads += 1
        return {
            line.transaction_key: StoredTransaction(
                sort_key=sort_key,
                pending=line.pending,
                fingerprint=(line.booking_date.isoformat(), str(line.amount), line.pending, line.description),
                assignment=(line.ledger_account, line.category, line.assigned_by),
            )
            for (f, _, sort_key), line in sorted(self.accounts.lines.items())
            if f == firm_id and line.account_id == account_id and line.booking_date >= since
        }


@dataclass
class FakeIdentities:
    firms: dict[str, Firm] = field(default_factory=dict)
    profiles: dict[str, UserProfile] = field(default_factory=dict)
    links: dict[tuple[str, str, str], CustomerLink] = field(default_factory=dict)  # user, firm, customer
    memberships: dict[tuple[str, str], StaffMembership] = field(default_factory=dict)  # user, firm
    mfa: dict[str, MfaEnrolment] = field(default_factory=dict)  # user

    def get_firm(self, firm_id: str) -> Firm | None:
        return self.firms.get(firm_id)

    def get_firms(self, firm_ids: Iterable[str]) -> dict[str, Firm]:
        return {f: self.firms[f] for f in firm_ids if f in self.firms}

    def get_membership(self, user_id: str, firm_id: str) -> StaffMembership | None:
        return self.memberships.get((user_id, firm_id))

    def list_memberships(self, user_id: str) -> list[StaffMembership]:
        return [m for (u, _), m in sorted(self.memberships.items()) if u == user_id]

    def put_membership(self, membership: StaffMembership) -> None:
        self.memberships[(membership.user_id, membership.firm_id)] = membership

    def get_profile(self, user_id: str) -> UserProfile | None:
        return self.profiles.get(user_id)

    def put_profile_if_absent(self, profile: UserProfile) -> None:
        self.profiles.setdefault(profile.user_id, profile)

    def list_customer_links(self, user_id: str) -> list[CustomerLink]:
        return [link for (u, *_), link in sorted(self.links.items()) if u == user_id]

    def customer_link_op(self, user_id: str, link: CustomerLink) -> TransactItem:
        return put_item(self.links, (user_id, link.firm_id, link.customer_id), link)

    def get_mfa_enrolment(self, user_id: str) -> MfaEnrolment | None:
        return self.mfa.get(user_id)

    def save_mfa_enrolment(self, enrolment: MfaEnrolment, also: Sequence[TransactItem]) -> bool:
        try:
            transact_write([put_item(self.mfa, enrolment.user_id, enrolment, absent), *also])
        except ClientError:
            return False
        return True

    def remove_mfa_enrolment(self, enrolment: MfaEnrolment, also: Sequence[TransactItem]) -> bool:
        try:
            still_it = lambda stored: stored == enrolment  # noqa: E731 - the Delete's condition
            transact_write([delete_item(self.mfa, enrolment.user_id, still_it), *also])
        except ClientError:
            return False
        return True

    def enrol(self, *user_ids: str, at: datetime = datetime(2026, 6, 1, tzinfo=UTC)) -> None:
        """Test setup: these people confirmed a TOTP authenticator (what staff callers need)."""
        for user_id in user_ids:
            self.mfa[user_id] = MfaEnrolment(user_id, at)


@dataclass
class FakeNotifications:
    """NotificationStore: what was added; `add_once` keeps one marker per person and event."""

    added: list[Notification] = field(default_factory=list)
    events: set[tuple[str, str]] = field(default_factory=set)  # person, event key

    def add(self, notification: Notification) -> None:
        self.added.append(notification)

    def add_once(self, event_key: str, notifications: Sequence[Notification]) -> int:
        fresh = [n for n in notifications if (n.user_id, event_key) not in self.events]
        self.events |= {(n.user_id, event_key) for n in fresh}
        self.added += fresh
        return len(fresh)

    def since(self, user_id: str, since: datetime) -> list[Notification]:
        mine = [n for n in self.added if n.user_id == user_id and n.created_at >= since]
        return sorted(mine, key=lambda n: n.notification_id, reverse=True)

    def mark_read(self, user_id: str, notification_id: str, now: datetime) -> None:
        for n, notification in enumerate(self.added):
            if (notification.user_id, notification.notification_id) == (user_id, notification_id):
                self.added[n] = replace(notification, read_at=notification.read_at or now)
                return
        raise NotFound()

    def of(self, user_id: str) -> list[Notification]:
        return [n for n in self.added if n.user_id == user_id]

    def page(self, user_id: str, *, cursor: str | None, limit: int) -> tuple[list[Notification], str | None]:
        """Newest first (ids sort by time); the cursor is the last id of the previous page."""
        mine = sorted(self.of(user_id), key=lambda n: n.notification_id, reverse=True)
        after = [n for n in mine if cursor is None or n.notification_id < cursor]
        found = after[:limit]
        return found, found[-1].notification_id if len(after) > limit else None


@dataclass
class FakeAssignment:
    """No rules: auto-assign finds nothing to do (its own rules are tested elsewhere)."""

    def rules(self, firm_id: str) -> list[Any]:
        return []

    def unassigned(self, firm_id: str, customer_id: str, *, cursor: str | None, limit: int) -> Any:
        return [], None


@dataclass
class FakePace:
    """RequestPace in memory: the calls admitted per UTC minute (the contract test holds it and the
    DynamoDB adapter to the same cases)."""

    clock: Callable[[], datetime]
    limit: int = GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE
    calls: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    kept_for_people: int = 0

    def admit(self) -> None:
        now = self.clock()
        window = PaceWindow.of(now)
        admits = self.limit - self.kept_for_people
        if self.calls.get(window.label, 0) >= admits:
            self.refusals[window.label] = self.refusals.get(window.label, 0) + 1
            raise window.refused(now, self.refusals[window.label] - 1, admits)
        self.calls[window.label] = self.calls.get(window.label, 0) + 1

    def calls_this_minute(self) -> int:
        return self.calls.get(PaceWindow.of(self.clock()).label, 0)


@dataclass
class FakeQueue:
    """JobSender: what was sent, with its delay."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    failing: bool = False  # SQS takes nothing: QueueSendFailed, as the adapter raises it

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None:
        if self.failing:
            raise QueueSendFailed(list(range(len(bodies))))
        self.sent += [(body, delay_seconds) for body in bodies]


@dataclass
class FakeEngagements:
    """EngagementRows and ImportProgress: what was reported."""

    changed: list[Connection] = field(default_factory=list)
    progress: list[tuple[str, Any]] = field(default_factory=list)

    def connection_changed(self, connection: Connection) -> None:
        self.changed.append(connection)

    def started(self, job: ImportJob) -> None:
        self.progress.append(("started", job))

    def uploaded(self, firm_id: str, customer_id: str, at: datetime) -> None:
        self.progress.append(("uploaded", (firm_id, customer_id)))

    def finished(self, job: ImportJob, outcome: Outcome) -> None:
        self.progress.append(("finished", outcome))

    def given_up(self, job: ImportJob) -> None:
        self.progress.append(("given_up", job))


@dataclass
class ServiceFakes:
    """The fakes most services' ports bags share (the customers: who staff notifications go to)."""

    accounts: FakeAccounts = field(default_factory=FakeAccounts)
    identities: FakeIdentities = field(default_factory=FakeIdentities)
    notifications: FakeNotifications = field(default_factory=FakeNotifications)
    customers: FakeCustomers = field(default_factory=lambda: FakeCustomers())
    audit: FakeAudit = field(default_factory=lambda: FakeAudit())

    def staff_notices(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.staff_notifications import StaffNoticePorts

        return StaffNoticePorts(
            customers=self.customers,  # type: ignore[arg-type]  # the subset services call
            identities=self.identities,  # type: ignore[arg-type]
            notifications=self.notifications,  # type: ignore[arg-type]
            clock=clock,
        )


@dataclass
class ImportFakes(ServiceFakes):
    """Everything the import service needs, in memory (`ports(provider)` builds its ImportPorts)."""

    connections: FakeConnections = field(default_factory=FakeConnections)
    queue: FakeQueue = field(default_factory=FakeQueue)
    engagements: FakeEngagements = field(default_factory=FakeEngagements)

    def __post_init__(self) -> None:
        self.feeds = FakeFeeds(self.accounts)

    def ports(
        self, provider: Any, clock: Callable[[], datetime], rand: Callable[[], float] = lambda: 0.0
    ) -> Any:
        from shared.services.imports import ImportPorts

        return ImportPorts(
            connections=self.connections,
            accounts=self.accounts,  # type: ignore[arg-type]  # the subset services call
            imports=self.feeds,
            identities=self.identities,  # type: ignore[arg-type]
            notifications=self.notifications,  # type: ignore[arg-type]
            assignment=FakeAssignment(),  # type: ignore[arg-type]
            providers=lambda _: provider,
            credentials=self.connections.vault,
            queue=self.queue,
            engagements=self.engagements,
            progress=self.engagements,
            default_timezone="Europe/London",
            staff_notices=self.staff_notices(clock),
            audit=self.audit,
            clock=clock,
            rand=rand,
        )


# the customer side -----------------------------------------------------------------------------
@dataclass
class FakeCustomers:
    """CustomerStore: customers under an optimistic lock (version), the firm's email claims
    (R-INV-3) and invitation tokens, written in one all-or-nothing transaction with the callers'
    items. Dashboard rows, counts and the reminders index are read from the customers themselves
    (the table keeps them in step in the same transaction)."""

    rows: dict[tuple[str, str], Customer] = field(default_factory=dict)  # firm, customer
    emails: dict[tuple[str, str], str] = field(default_factory=dict)  # firm, email digest: customer
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token hash: firm, customer

    def get(self, firm_id: str, customer_id: str) -> Customer | None:
        return self.rows.get((firm_id, customer_id))

    def get_many(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Customer]:
        return {ref: self.rows[ref] for ref in refs if ref in self.rows}

    def find_by_email(self, firm_id: str, email: str) -> Customer | None:
        customer_id = self.emails.get((firm_id, email_fingerprint(email)))
        return self.get(firm_id, customer_id) if customer_id else None

    def find_by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        return self.tokens.get(token_hash)

    def counts(self, firm_id: str, staff_id: str | None) -> dict[str, int]:
        sections = [c.listed_in for c in self._in_scope(firm_id, staff_id)]
        return {section.value: sections.count(section) for section in Section}

    def list_section(
        self, firm_id: str, section: Section, *, staff_id: str | None, search: str | None, cursor: str | None,
        limit: int,
    ) -> CustomerPage:  # fmt: skip
        found = {c.customer_id: c for c in self._in_scope(firm_id, staff_id) if c.listed_in is section}
        prefix = search_prefix(search)
        if prefix is not None:
            return self._search(found, prefix, cursor, limit)
        examined, next_cursor = newest_first_page(list(found), cursor, limit)
        return CustomerPage(rows=[_customer_row(found[i]) for i in examined], next_cursor=next_cursor)

    @staticmethod
    def _search(found: dict[str, Customer], prefix: str, cursor: str | None, limit: int) -> CustomerPage:
        """As the search entries serve it: each match once, by its first matching token, then id."""
        matched = sorted(
            (token, c.customer_id)
            for c in found.values()
            if (token := first_match(tokens(c.name, c.email, token_budget(1 + len(c.staff_ids))), prefix))
        )
        last = decode_cursor(cursor)
        after = [m for m in matched if last is None or "\n".join(m) > last]
        page = after[:limit]
        next_cursor = encode_cursor("\n".join(page[-1])) if len(after) > limit else None
        return CustomerPage(rows=[_customer_row(found[i]) for _, i in page], next_cursor=next_cursor)

    def due_for_erasure(self, today: str) -> list[tuple[str, str]]:
        return sorted(
            (firm_id, customer_id)
            for (firm_id, customer_id), c in self.rows.items()
            if c.erasure_due is not None and c.erasure_due.isoformat() <= today
        )

    def due_for_reminders(self, today: str) -> list[tuple[str, str]]:
        due = sorted(
            (day.isoformat(), firm_id, customer_id)
            for (firm_id, customer_id), c in self.rows.items()
            if (day := c.invitation.next_due()) is not None and day.isoformat() <= today
        )
        return [(firm_id, customer_id) for _, firm_id, customer_id in due]

    def save(self, customer: Customer, previous: Customer | None, *extra: TransactItem) -> Customer:
        saved = replace(customer, version=(previous.version + 1) if previous else 1)
        condition = Has("version", previous.version) if previous else absent
        customer_put = put_item(self.rows, (saved.firm_id, saved.customer_id), saved, condition)
        transact_write([customer_put, *extra], canceled=ConcurrentChange)
        return saved

    def transact(self, items: list[TransactItem]) -> None:
        transact_write(items)

    def clear_rows(self, customer: Customer) -> None:
        """Nothing to clear: the fake reads its rows and counts from the customers themselves."""

    def email_claim(self, customer: Customer) -> TransactItem:
        key = (customer.firm_id, email_fingerprint(customer.email))
        return put_item(self.emails, key, customer.customer_id, absent)

    def token_put(self, customer: Customer) -> TransactItem:
        owner = (customer.firm_id, customer.customer_id)
        return put_item(self.tokens, customer.invitation.token_hash, owner)

    def token_delete(self, token_hash: str) -> TransactItem:
        return delete_item(self.tokens, token_hash, present)

    def _in_scope(self, firm_id: str, staff_id: str | None) -> Iterable[Customer]:
        """The firm's customers (admins), or those one adviser owns or is assigned to; only those
        on a section have dashboard rows (ended ones: the firm's, on the ended list)."""
        return (
            c
            for (f, _), c in self.rows.items()
            if f == firm_id
            and c.listed_in is not None
            and (staff_id is None or (staff_id in c.staff_ids and not c.relationship_ended))
        )


def _customer_row(customer: Customer) -> dict[str, Any]:
    """A dashboard row, as the table's rows carry it."""
    invitation, section = customer.invitation, customer.listed_in
    return dict(
        customer_id=customer.customer_id, name=customer.name, email=customer.email,
        owner_id=customer.owner_id, assignee_ids=list(customer.assignee_ids),
        section=section.value if section else None, invitation_status=invitation.status.value,
        invitation_expires_at=invitation.expires_at.isoformat(), accepted=customer.has_accepted,
        new_accounts=customer.new_accounts, accepted_accounts=customer.accepted_accounts,
        created_at=customer.created_at.isoformat(),
        ended_at=customer.ended_at.isoformat() if customer.ended_at else None, ended_by=customer.ended_by,
        erasure_due=customer.erasure_due.isoformat() if customer.erasure_due else None,
    )  # fmt: skip


@dataclass
class FakeAudit:
    """AuditTrail: append-only, ids sortable by time, pages newest first."""

    events: dict[str, AuditEvent] = field(default_factory=dict)

    def record(self, event: AuditEvent) -> str:
        put = self.put_op(event)
        transact_write([put])
        return str(put["Put"]["Key"])

    def put_op(self, event: AuditEvent) -> TransactItem:
        return put_item(self.events, str(ULID.from_datetime(event.occurred_at)), event, absent)

    def page(
        self,
        firm_id: str,
        *,
        customer_id: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        ids = [
            i
            for i, e in self.events.items()
            if e.firm_id == firm_id
            and (customer_id is None or e.customer_id == customer_id)
            and (kind is None or kind_of(e.action) == kind)
            and (date_from or date.min) <= e.occurred_at.astimezone(UTC).date() <= (date_to or date.max)
        ]
        examined, next_cursor = newest_first_page(ids, cursor, limit)
        return [self.events[i] for i in examined], next_cursor

    def log(self) -> list[AuditEvent]:
        """Every event, oldest first (a test's view of the log)."""
        return [event for _, event in sorted(self.events.items())]

    def trail(self) -> list[tuple[str, str]]:
        """(action, actor) of every event, oldest first."""
        return [(event.action, event.actor_id) for event in self.log()]


@dataclass
class FakeEmail:
    """EmailSender: what was sent; `failing` makes every send raise, as a provider outage would."""

    sent: list[EmailMessage] = field(default_factory=list)
    failing: bool = False

    def send(self, message: EmailMessage) -> str:
        if self.failing:
            raise RuntimeError("the email provider is down")
        self.sent.append(message)
        return f"message-{len(self.sent)}"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if m.to == address]

    def tokens(self, address: str) -> list[str]:
        """The token of every link emailed to `address`, oldest first."""
        links = [link for m in self.to(address) for link in re.findall(r"https://\S+", m.text)]
        return [parse_qs(urlparse(link).query)["token"][0] for link in links]


@dataclass
class FakeDirectory:
    """UserDirectory: the user pool's accounts by id (the pool's `sub`), found by normalised email,
    enabled or not. A password under 12 characters is refused as the pool's policy would
    (`weak_password`); passwords are kept only to check a sign-in. `calls` records every call (name,
    argument) and `failing` makes every call raise, as an outage would."""

    users: dict[str, DirectoryUser] = field(default_factory=dict)  # by user id
    passwords: dict[str, str] = field(default_factory=dict)  # user id -> password
    created: list[str] = field(default_factory=list)  # user ids, in creation order (deleted ones too)
    calls: list[tuple[str, str]] = field(default_factory=list, repr=False, compare=False)  # not state
    failing: bool = False
    totp: set[str] = field(default_factory=set)  # user ids with a TOTP authenticator enabled and preferred

    def add(self, user_id: str, email: str) -> DirectoryUser:
        """A user who already has an account (signed up through an earlier invitation)."""
        self.users[user_id] = DirectoryUser(user_id, normalise_email(email), enabled=True)
        return self.users[user_id]

    def find_by_email(self, email: str) -> DirectoryUser | None:
        self._call("find_by_email", email)
        return next((u for u in self.users.values() if u.email == normalise_email(email)), None)

    def create_user(self, email: str, password: str) -> DirectoryUser:
        self._call("create_user", email)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidRequest("The password is too weak.", code="weak_password")
        if self.find_by_email(email) is not None:
            raise Conflict("An account with this email already exists.", code="account_exists")
        user = self.add(f"pool-sub-{len(self.created) + 1}", email)
        self.passwords[user.user_id] = password
        self.created.append(user.user_id)
        return user

    def delete_user(self, user_id: str) -> None:
        self._call("delete_user", user_id)
        self.users.pop(user_id, None)
        self.passwords.pop(user_id, None)

    def disable_user(self, user_id: str) -> None:
        self._set_enabled("disable_user", user_id, False)

    def enable_user(self, user_id: str) -> None:
        self._set_enabled("enable_user", user_id, True)

    def totp_enabled(self, user_id: str) -> bool:
        if self.failing:  # as the adapter translates the pool's errors
            raise UpstreamUnavailable("the user pool is unavailable", code="user_pool_unavailable")
        self._call("totp_enabled", user_id)
        if user_id not in self.users:
            raise NotFound()
        return user_id in self.totp

    def reset_totp(self, user_id: str) -> None:
        self._call("reset_totp", user_id)
        if user_id not in self.users:
            raise NotFound()
        self.totp.discard(user_id)

    def _set_enabled(self, name: str, user_id: str, enabled: bool) -> None:
        self._call(name, user_id)
        if user_id not in self.users:
            raise NotFound()
        self.users[user_id] = replace(self.users[user_id], enabled=enabled)

    def _call(self, name: str, argument: str) -> None:
        if self.failing:
            raise RuntimeError("the user pool is unavailable")
        self.calls.append((name, argument))


MIN_PASSWORD_LENGTH = 12  # the pool's policy (infra/constructs/api.py)


@dataclass
class FakeClock:
    """A service's clock (`Now`): it reads `at`, which a test sets or moves."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class OnboardingFakes(ServiceFakes):
    """Everything the onboarding service needs, in memory (`ports(clock)` builds OnboardingPorts)."""

    audit: FakeAudit = field(default_factory=FakeAudit)
    email: FakeEmail = field(default_factory=FakeEmail)
    imports: FakeQueue = field(default_factory=FakeQueue)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    limits: FakeLimiter = field(default_factory=FakeLimiter)
    connections: FakeConnections = field(default_factory=FakeConnections)

    def ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.customers import OnboardingPorts

        return OnboardingPorts(
            customers=self.customers,
            accounts=self.accounts,  # type: ignore[arg-type]  # the subset services call
            connections=self.connections,
            identities=self.identities,  # type: ignore[arg-type]
            notifications=self.notifications,  # type: ignore[arg-type]
            audit=self.audit,
            email=self.email,
            imports=self.imports,
            directory=self.directory,
            app_base_url="https://app.example",
            staff_notices=self.staff_notices(clock),
            limits=self.limits,
            clock=clock,
        )


@dataclass
class ConnectionFakes(OnboardingFakes):
    """Everything the connection use cases need, in memory (`ports(clock)` builds ConnectionsPorts);
    `provider` answers for every provider name (None: a use case that calls none)."""

    engagements: FakeEngagements = field(default_factory=FakeEngagements)
    provider: Any = None

    def ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.connections import ConnectionsPorts

        return ConnectionsPorts(
            connections=self.connections,
            customers=self.customers,  # type: ignore[arg-type]  # the subset services call
            accounts=self.accounts,  # type: ignore[arg-type]
            identities=self.identities,  # type: ignore[arg-type]
            notifications=self.notifications,  # type: ignore[arg-type]
            audit=self.audit,  # type: ignore[arg-type]
            email=self.email,
            staff_notices=self.staff_notices(clock),
            providers=lambda _: self.provider,
            credentials=self.connections.vault,
            imports=self.imports,
            engagements=self.engagements,  # type: ignore[arg-type]
            webhooks_once=None,  # type: ignore[arg-type]  # no webhook in these rules
            redirect_urls={"gocardless": "https://api.example/callbacks/gocardless", "plaid": None},
            api_base_url="https://api.example",
            app_base_url="https://app.example",
            limits=self.limits,
            clock=clock,
        )


# client files ------------------------------------------------------------------------------------
ENTRY_IDS = {  # the type of each section's entries (in FileContents' order), and its id
    "FamilyMember": "member_id",
    "ExternalAdviser": "adviser_id",
    "PatrimonyItem": "item_id",
    "Donation": "donation_id",
    "FileDocument": "document_id",
}
SUBJECT_ENTRIES = {SubjectType.MEMBER: "FamilyMember", SubjectType.ADVISER: "ExternalAdviser"}
EntryKey = tuple[str, str, str, str]  # firm, file, entry type, id
GrantKey = tuple[str, str, str, str]  # firm, file, subject type, subject id


def entry_key(entry: Entry) -> EntryKey:
    kind = type(entry).__name__
    return entry.firm_id, entry.file_id, kind, getattr(entry, ENTRY_IDS[kind])


def grant_key(firm_id: str, file_id: str, subject: Subject) -> GrantKey:
    return firm_id, file_id, subject.type.value, subject.subject_id


@dataclass
class FakeFiles:
    """FileStore: a file's entries, its grants under an optimistic lock (version), invitation
    tokens, the links that let a grantee find a file, and the grantee index (email -> identity);
    a grant changes with its items in one all-or-nothing transaction (FileChanged if not)."""

    entries: dict[EntryKey, Entry] = field(default_factory=dict)
    grants: dict[GrantKey, Grant] = field(default_factory=dict)
    tokens: dict[str, GrantRef] = field(default_factory=dict)
    links: dict[tuple[str, str, str], FileLink] = field(default_factory=dict)  # user, firm, file
    accounts: dict[str, str] = field(default_factory=dict)  # email digest: user id

    # reads
    def contents(self, firm_id: str, file_id: str) -> FileContents:
        def section(rows: dict[Any, Any], kind: str | None = None) -> list[Any]:
            return [
                row
                for key, row in sorted(rows.items())
                if key[:2] == (firm_id, file_id) and kind in (None, key[2])
            ]

        sections = (section(self.entries, kind) for kind in ENTRY_IDS)
        return FileContents(*sections, grants=section(self.grants))

    def _entry(self, kind: str, firm_id: str, file_id: str, entry_id: str) -> Any:
        return self.entries.get((firm_id, file_id, kind, entry_id))

    def get_member(self, firm_id: str, file_id: str, member_id: str) -> FamilyMember | None:
        return self._entry("FamilyMember", firm_id, file_id, member_id)

    def get_adviser(self, firm_id: str, file_id: str, adviser_id: str) -> ExternalAdviser | None:
        return self._entry("ExternalAdviser", firm_id, file_id, adviser_id)

    def get_patrimony_item(self, firm_id: str, file_id: str, item_id: str) -> Entry | None:  # a PatrimonyItem
        return self._entry("PatrimonyItem", firm_id, file_id, item_id)

    def get_donation(self, firm_id: str, file_id: str, donation_id: str) -> Entry | None:  # a Donation
        return self._entry("Donation", firm_id, file_id, donation_id)

    def get_grant(self, firm_id: str, file_id: str, subject: Subject) -> Grant | None:
        return self.grants.get(grant_key(firm_id, file_id, subject))

    def get_grants(self, refs: Iterable[GrantRef]) -> list[Grant]:
        found = (self.get_grant(r.firm_id, r.file_id, r.subject) for r in dict.fromkeys(refs))
        return [grant for grant in found if grant is not None]

    def find_by_token_hash(self, token_hash: str) -> GrantRef | None:
        return self.tokens.get(token_hash)

    def links_of(self, user_id: str) -> list[FileLink]:
        return [link for (u, *_), link in sorted(self.links.items()) if u == user_id]

    def find_account(self, email: str) -> str | None:
        return self.accounts.get(email_fingerprint(email))

    def due_for_reminders(self, today: str) -> list[GrantRef]:
        due = sorted(
            (day.isoformat(), key)
            for key, g in self.grants.items()
            if g.invitation and (day := g.invitation.next_due()) is not None and day.isoformat() <= today
        )
        return [GrantRef(f, file, Subject(SubjectType(kind), i)) for _, (f, file, kind, i) in due]

    # entries
    def put_entry(
        self, entry: Entry, *extra: TransactItem, new: bool, grant_absent: Subject | None = None
    ) -> None:
        put = put_item(self.entries, entry_key(entry), entry, absent if new else present)
        self._write(put, grant_absent, extra)

    def delete_entry(self, entry: Entry, *extra: TransactItem, grant_absent: Subject | None = None) -> None:
        self._write(delete_item(self.entries, entry_key(entry), present), grant_absent, extra)

    def _write(
        self, item: TransactItem, grant_absent: Subject | None, extra: tuple[TransactItem, ...]
    ) -> None:
        [(_, spec)] = item.items()
        if grant_absent is None:  # NotFound when removed meanwhile
            transact_write([item, *extra], canceled=NotFound)
            return
        guard = check_item(self.grants, grant_key(*spec["Key"][:2], grant_absent), absent)
        self.transact([item, *extra, guard])

    # grants
    def save_grant(self, grant: Grant, previous: Grant | None, *extra: TransactItem) -> Grant:
        saved = replace(grant, version=(previous.version + 1) if previous else 1)
        condition = Has("version", previous.version) if previous else absent
        key = grant_key(saved.firm_id, saved.file_id, saved.subject)
        self.transact([put_item(self.grants, key, saved, condition), *extra])
        return saved

    def delete_grant_op(self, grant: Grant) -> TransactItem:
        key = grant_key(grant.firm_id, grant.file_id, grant.subject)
        return delete_item(self.grants, key, Has("version", grant.version))

    def subject_exists(self, firm_id: str, file_id: str, subject: Subject) -> TransactItem:
        key = (firm_id, file_id, SUBJECT_ENTRIES[subject.type], subject.subject_id)
        return check_item(self.entries, key, present)

    def token_put(self, grant: Grant) -> TransactItem:
        assert grant.invitation is not None
        ref = GrantRef(grant.firm_id, grant.file_id, grant.subject)
        return put_item(self.tokens, grant.invitation.token_hash, ref)

    def token_delete(self, token_hash: str, *, must_exist: bool) -> TransactItem:
        return delete_item(self.tokens, token_hash, present if must_exist else None)

    def link_put(self, grant: Grant, file_label: str) -> TransactItem:
        assert grant.user_id is not None
        link = FileLink(grant.firm_id, grant.file_id, file_label, grant.subject)
        return put_item(self.links, (grant.user_id, grant.firm_id, grant.file_id), link, absent)

    def link_delete(self, grant: Grant) -> TransactItem:
        assert grant.user_id is not None
        return delete_item(self.links, (grant.user_id, grant.firm_id, grant.file_id))

    def account_put(self, email: str, user_id: str) -> TransactItem:
        return put_item(self.accounts, email_fingerprint(email), user_id, AbsentOr(user_id))

    def transact(self, items: list[TransactItem]) -> None:
        transact_write(items, canceled=FileChanged)


@dataclass
class FileAccessFakes(OnboardingFakes):
    """Everything the file services need (the onboarding fakes and the files), in memory:
    `ports(clock)` builds their FileAccessPorts, `onboarding_ports(clock)` the customers' side."""

    files: FakeFiles = field(default_factory=FakeFiles)

    def onboarding_ports(self, clock: Callable[[], datetime]) -> Any:
        return super().ports(clock)

    def ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.file_access import FileAccessPorts

        return FileAccessPorts(
            files=self.files,
            grants=self.files,  # one fake for the file's contents and its grants
            customers=self.customers,
            identities=self.identities,  # type: ignore[arg-type]  # the subset services call
            notifications=self.notifications,  # type: ignore[arg-type]
            audit=self.audit,
            email=self.email,
            directory=self.directory,
            app_base_url="https://app.example",
            limits=self.limits,
            clock=clock,
        )


# for the rule tests -------------------------------------------------------------------------------
def refused(action: Callable[[], Any]) -> tuple[int, str]:
    """The HTTP status and code of the domain error `action` raises (it must raise one)."""
    with pytest.raises(DomainError) as error:
        action()
    return error.value.status, error.value.code


@dataclass
class FakesWorld:
    """A service on its fakes (anything with `ports(clock)`) and its clock, started at `start`: a
    rule test acts through `ports`, or `later()`, the ports a minute on (requests a minute apart)."""

    clock: FakeClock
    fakes: Any

    def __post_init__(self) -> None:
        self.start = self.clock.at

    @property
    def ports(self) -> Any:
        return self.fakes.ports(self.clock)

    def later(self) -> Any:
        self.clock.at += timedelta(minutes=1)
        return self.ports


# races -------------------------------------------------------------------------------------------
READ_PREFIXES = ("get", "find_", "list_", "counts", "due_for_", "contents", "links_of")


@dataclass
class ReadEarlier:
    """A store as a request that read it earlier sees it: its reads are answered from `seen`, a
    copy taken then; everything else (writes, transaction items) goes to the live store. A race,
    one step at a time: take it, let another request write, then run this one."""

    live: Any
    seen: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.seen if name.startswith(READ_PREFIXES) else self.live, name)


def read_now(store: Any) -> ReadEarlier:
    rows = {f.name: dict(value) for f in fields(store) if isinstance(value := getattr(store, f.name), dict)}
    return ReadEarlier(store, replace(store, **rows))
