"""R-PRIV-1: once a consent ends, what was imported stays readable, shown as historical.

Imports stop when a consent expires or is revoked (only importable connections are imported: the
daily run's index and the worker's check); the firm keeps reading what came in before, for its
bookkeeping. The staff's listings here (a customer's connections, accounts and transactions) and
the customer's own (`my_data`) carry, per row, the firm-local day the consent behind its data ended
(`Connection.consent_ended_on`, the one rule; an account's is its connection's), None while it lasts.

What that costs a listing: the customer's connections (one Query, #21) where the rows are accounts
or transactions, and the firm (one GetItem, #5) only when some consent ended: never a read per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypedDict, TypeVar, Unpack

from shared.domain.accounts import BankTransaction, SharedAccount
from shared.domain.connections import Connection, consent_end_days
from shared.domain.identity import StaffContext
from shared.ports.identity import IdentityStore
from shared.services import connections as connection_cases
from shared.services.connections import ConnectionsPorts
from shared.services.customers import OnboardingPorts, list_shared_accounts, list_transactions

T = TypeVar("T")
FALLBACK_TIMEZONE = "UTC"  # a firm always has one; its record missing is not a reason to fail a read


class TransactionQuery(TypedDict):
    """What a page of a customer's transactions is asked with (`customers.list_transactions`)."""

    account_id: str | None
    date_from: date | None
    date_to: date | None
    cursor: str | None
    limit: int


@dataclass(frozen=True)
class Listed(Generic[T]):
    """A listing's rows, and the firm-local day each ended consent ended, by connection id (a row
    whose connection is not there is live)."""

    rows: list[T]
    ended_on: dict[str, date]


@dataclass(frozen=True)
class TransactionsShown:
    """A page of transactions, and the firm-local day the consent behind each historical account's
    lines ended, by account id."""

    transactions: list[BankTransaction]
    next_cursor: str | None
    ended_on: dict[str, date]


def ended_on(
    identities: IdentityStore, firm_id: str, connections: Iterable[Connection], now: datetime
) -> dict[str, date]:
    """Connection id -> the day its consent ended in the firm's calendar, for those that ended; the
    firm's time zone is read only when one did."""
    ended = [c for c in connections if c.consent_ended(now) is not None]
    if not ended:
        return {}
    firm = identities.get_firm(firm_id)
    return consent_end_days(ended, now, firm.timezone if firm else FALLBACK_TIMEZONE)


def customer_ended_on(ports: OnboardingPorts, firm_id: str, customer_id: str) -> dict[str, date]:
    """`ended_on` of every connection of one customer (one Query, #21)."""
    found = ports.connections.list_for_customer(firm_id, customer_id)
    return ended_on(ports.identities, firm_id, found, ports.clock())


# the firm's views ------------------------------------------------------------------------------
def customer_connections(
    ports: ConnectionsPorts, staff: StaffContext, customer_id: str
) -> Listed[Connection]:
    """`GET /customers/{id}/connections`: the customer's connections, each historical or live."""
    found = connection_cases.customer_connections(ports, staff, customer_id)
    return Listed(found, ended_on(ports.identities, staff.firm_id, found, ports.clock()))


def customer_accounts(ports: OnboardingPorts, staff: StaffContext, customer_id: str) -> Listed[SharedAccount]:
    """`GET /customers/{id}/accounts`: new and connected accounts, historical when their connection is."""
    accounts = list_shared_accounts(ports, staff, customer_id)
    return Listed(accounts, customer_ended_on(ports, staff.firm_id, customer_id) if accounts else {})


def customer_transactions(
    ports: OnboardingPorts, staff: StaffContext, customer_id: str, **query: Unpack[TransactionQuery]
) -> TransactionsShown:
    """`GET /customers/{id}/transactions`: a page of lines, each historical when its account is (the
    accounts, #17, and connections, #21, are read once for the page, and only for a page with lines)."""
    page = list_transactions(ports, staff, customer_id, **query)
    by_account: dict[str, date] = {}
    if page.transactions:
        by_connection = customer_ended_on(ports, staff.firm_id, customer_id)
        if by_connection:
            accounts = ports.accounts.list_for_customer(staff.firm_id, customer_id)
            by_account = {
                a.account_id: by_connection[a.connection_id]
                for a in accounts
                if a.connection_id in by_connection
            }
    return TransactionsShown(page.transactions, page.next_cursor, by_account)
