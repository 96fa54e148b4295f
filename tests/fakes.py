"""In-memory implementations of the ports, with the DynamoDB adapters' semantics (optimistic
locks, idempotent writes, ordering), so service rules are tested without moto.

`tests/integration/test_port_contracts.py` runs the same assertions against these fakes and the
DynamoDB adapters on moto, so the two cannot drift. Only what services call is implemented; a
fake raises NotImplementedError for the rest rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.domain.accounts import AccountProblem, BankTransaction, SharedAccount
from shared.domain.connections import Connection
from shared.domain.errors import StaleConnection
from shared.domain.identity import Firm
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob
from shared.domain.notifications import Notification
from shared.ports.connections import ConnectionAddress
from shared.ports.imports import FeedState, StoredTransaction
from shared.ports.storage import TransactItem


def line_sort_key(line: BankTransaction) -> str:
    """The fake's own stored-row key: like the table's, the day is part of it (a line whose day
    changes is a new row, the old one deleted by the service)."""
    return f"{line.booking_date.isoformat()}~{line.account_id}~{line.transaction_key}"


@dataclass
class FakeConnections:
    """ConnectionStore: a connection per address, saved under an optimistic lock (version)."""

    rows: dict[ConnectionAddress, Connection] = field(default_factory=dict)
    saves: int = 0

    def get(self, address: ConnectionAddress) -> Connection | None:
        return self.rows.get(address)

    def locate(self, connection_id: str) -> ConnectionAddress | None:
        return next((a for a in self.rows if a.connection_id == connection_id), None)

    def list_for_customer(self, firm_id: str, customer_id: str) -> list[Connection]:
        return [c for a, c in sorted(self.rows.items(), key=lambda kv: kv[0].connection_id)
                if (a.firm_id, a.customer_id) == (firm_id, customer_id)]  # fmt: skip

    def save(self, connection: Connection, previous: Connection | None, *extra: TransactItem) -> Connection:
        if extra:
            raise NotImplementedError("extra transaction items")
        address = ConnectionAddress(connection.firm_id, connection.customer_id, connection.connection_id)
        stored = self.rows.get(address)
        if (previous is None) != (stored is None) or (
            stored and previous and stored.version != previous.version
        ):
            raise StaleConnection()
        saved = replace(connection, version=(previous.version + 1) if previous else 1)
        self.rows[address] = saved
        self.saves += 1
        return saved


@dataclass
class FakeAccounts:
    """AccountStore: accounts and their lines (the lines shared with FakeFeeds through `lines`)."""

    accounts: dict[tuple[str, str, str], SharedAccount] = field(default_factory=dict)
    lines: dict[tuple[str, str, str], BankTransaction] = field(
        default_factory=dict
    )  # firm, customer, row key
    batch_writes: int = 0

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

    def get_firm(self, firm_id: str) -> Firm | None:
        return self.firms.get(firm_id)


@dataclass
class FakeNotifications:
    added: list[Notification] = field(default_factory=list)

    def add(self, notification: Notification) -> None:
        self.added.append(notification)


@dataclass
class FakeAssignment:
    """No rules: auto-assign finds nothing to do (its own rules are tested elsewhere)."""

    def rules(self, firm_id: str) -> list[Any]:
        return []

    def unassigned(self, firm_id: str, customer_id: str, *, cursor: str | None, limit: int) -> Any:
        return [], None


@dataclass
class FakeQueue:
    """JobSender: what was sent, with its delay."""

    sent: list[tuple[str, int]] = field(default_factory=list)

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None:
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
class ImportFakes:
    """Everything the import service needs, in memory (`ports(provider)` builds its ImportPorts)."""

    connections: FakeConnections = field(default_factory=FakeConnections)
    accounts: FakeAccounts = field(default_factory=FakeAccounts)
    identities: FakeIdentities = field(default_factory=FakeIdentities)
    notifications: FakeNotifications = field(default_factory=FakeNotifications)
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
            queue=self.queue,
            engagements=self.engagements,
            progress=self.engagements,
            default_timezone="Europe/London",
            clock=clock,
            rand=rand,
        )
