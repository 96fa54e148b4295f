"""One contract, two implementations: the in-memory fakes (tests/fakes.py) and the DynamoDB adapters
on moto must behave alike for what services rely on (optimistic locks, overwrite-not-duplicate,
row moves, windows, defaults). A fake that drifts from the table fails here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.accounts import AccountProblem, AccountStatus, BankTransaction, SharedAccount
from shared.domain.connections import Connection, ConnectionStatus
from shared.domain.errors import StaleConnection
from shared.ports.connections import ConnectionAddress
from shared.ports.imports import FeedState
from tests.fakes import FakeAccounts, FakeConnections, FakeFeeds

FIRM, CUSTOMER = "01JFIRMCONTRACT000000000000", "01JCUSTCONTRACT000000000000"
NOW = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)


@dataclass
class Stores:
    connections: Any
    accounts: Any
    feeds: Any

    def put_account(self, account: SharedAccount) -> None:
        if isinstance(self.accounts, FakeAccounts):
            self.accounts.add(account)
            return
        from shared.adapters.dynamodb.client import dynamodb_client

        dynamodb_client().transact_write_items(
            TransactItems=[self.accounts.put_op(account, expected_status=None)]
        )


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "fake":
        accounts = FakeAccounts()
        return Stores(FakeConnections(), accounts, FakeFeeds(accounts))
    request.getfixturevalue("aws")
    from shared.adapters.dynamodb.accounts_repository import AccountsRepository
    from shared.adapters.dynamodb.connections_repository import ConnectionsRepository
    from shared.adapters.dynamodb.imports_repository import ImportsRepository

    return Stores(ConnectionsRepository("data"), AccountsRepository("data"), ImportsRepository("data"))


def connection(connection_id: str = "01JCONNCONTRACT000000000000") -> Connection:
    return Connection(
        firm_id=FIRM,
        customer_id=CUSTOMER,
        connection_id=connection_id,
        user_id="user-1",
        provider="gocardless",
        institution_id="BANK",
        institution_name="Bank",
        status=ConnectionStatus.PENDING,
        created_at=NOW,
    )


def account(account_id: str = "acc-1") -> SharedAccount:
    return SharedAccount(
        firm_id=FIRM,
        customer_id=CUSTOMER,
        account_id=account_id,
        connection_id="01JCONNCONTRACT000000000000",
        institution_name="Bank",
        masked_identifier="•••• 0001",
        name="Current",
        currency="GBP",
        balance=None,
        last_updated=None,
        status=AccountStatus.ACCEPTED,
        provider_account_id="p-1",
    )


def tx(key: str, day: date, amount: str = "-1.00", *, pending: bool = False) -> BankTransaction:
    return BankTransaction(
        firm_id=FIRM,
        customer_id=CUSTOMER,
        account_id="acc-1",
        transaction_key=key,
        booking_date=day,
        amount=Decimal(amount),
        currency="GBP",
        description=f"line {key}",
        pending=pending,
    )


def test_connections_are_saved_under_an_optimistic_lock(stores: Stores):
    first = stores.connections.save(connection(), None)
    address = ConnectionAddress(FIRM, CUSTOMER, first.connection_id)

    assert first.version == 1 and stores.connections.get(address) == first
    second = stores.connections.save(first.with_status(ConnectionStatus.LINKED, NOW), first)
    assert second.version == 2 and stores.connections.get(address) == second
    with pytest.raises(StaleConnection):
        stores.connections.save(replace(first, last_error="late"), first)  # `first` is stale now
    with pytest.raises(StaleConnection):
        stores.connections.save(connection(), None)  # exists already
    assert stores.connections.list_for_customer(FIRM, CUSTOMER) == [second]
    assert stores.connections.locate(first.connection_id) == address
    assert stores.connections.locate("01JNOSUCHCONNECTION00000000") is None


def test_lines_are_overwritten_not_duplicated_and_a_moved_row_is_deleted_by_its_key(stores: Stores):
    stores.put_account(account())
    stores.accounts.write_transactions(
        FIRM, CUSTOMER, [tx("k1", date(2026, 6, 10)), tx("k2", date(2026, 6, 12))]
    )
    stores.accounts.write_transactions(FIRM, CUSTOMER, [tx("k1", date(2026, 6, 10), "-2.00")])

    seen = stores.feeds.recent(FIRM, "acc-1", date(2026, 6, 1))
    assert sorted(seen) == ["k1", "k2"]
    assert seen["k1"].fingerprint == ("2026-06-10", "-2.00", False, "line k1")
    assert seen["k1"].assignment == (None, None, None)

    # A pending line booked on another day: written under its new day, the old row deleted by key.
    pending = tx("k3", date(2026, 6, 14), pending=True)
    stores.accounts.write_transactions(FIRM, CUSTOMER, [pending])
    old = stores.feeds.recent(FIRM, "acc-1", date(2026, 6, 1))["k3"]
    assert old.pending
    stores.accounts.write_transactions(FIRM, CUSTOMER, [tx("k3", date(2026, 6, 15))], [old.sort_key])
    after = stores.feeds.recent(FIRM, "acc-1", date(2026, 6, 1))
    assert sorted(after) == ["k1", "k2", "k3"] and after["k3"].fingerprint[0] == "2026-06-15"
    assert not after["k3"].pending

    assert sorted(stores.feeds.recent(FIRM, "acc-1", date(2026, 6, 12))) == ["k2", "k3"]  # the window
    stores.accounts.write_transactions(FIRM, CUSTOMER, [], [after["k2"].sort_key])
    assert sorted(stores.feeds.recent(FIRM, "acc-1", date(2026, 6, 1))) == ["k1", "k3"]


def test_one_batch_never_holds_two_writes_of_one_line(stores: Stores):
    stores.put_account(account())
    with pytest.raises(Exception, match="duplicates"):
        stores.accounts.write_transactions(
            FIRM, CUSTOMER, [tx("k1", date(2026, 6, 10)), tx("k1", date(2026, 6, 10), "-5.00")]
        )


def test_an_accounts_problem_is_set_and_cleared_by_the_next_update(stores: Stores):
    stores.put_account(account())
    stores.accounts.mark_problem(account(), AccountProblem.PROCESSING)
    assert stores.accounts.get(FIRM, CUSTOMER, "acc-1").problem is AccountProblem.PROCESSING

    stores.accounts.mark_updated(account(), NOW, Decimal("12.30"))

    updated = stores.accounts.get(FIRM, CUSTOMER, "acc-1")
    assert (updated.problem, updated.balance, updated.last_updated) == (None, Decimal("12.30"), NOW)
    stores.accounts.mark_updated(account(), NOW, None)  # no balance read: the last one stays
    assert stores.accounts.get(FIRM, CUSTOMER, "acc-1").balance == Decimal("12.30")


def test_a_feed_starts_empty_and_keeps_what_was_saved(stores: Stores):
    assert stores.feeds.feed_state(FIRM, CUSTOMER, "feed-1") == FeedState(None, None, None)
    state = FeedState(
        cursor={"kind": "sync", "value": "c-1"},
        last_booked=date(2026, 6, 16),
        last_imported_at=NOW,
        accounts=("acc-1", "acc-2"),
    )
    stores.feeds.save_feed_state(FIRM, CUSTOMER, "feed-1", state)
    assert stores.feeds.feed_state(FIRM, CUSTOMER, "feed-1") == state
