"""The customer's own view on the in-memory ports (issue 16 item 2, seeds 000 "My Data" and 004):
their accounts and connections in every firm they are a customer of, and nobody else's.

The HTTP answers (money and masked numbers on the wire, staff, bad input, the matrices) are on moto
in tests/integration/test_my_data.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from shared.domain.accounts import AccountStatus, SharedAccount
from shared.domain.connections import Connection, ConnectionStatus
from shared.domain.customers import Customer, issue_invitation
from shared.domain.identity import CustomerLink, Firm, Principal, StaffMembership, StaffRole
from shared.ports.connections import ConnectionAddress
from shared.services.connections import ConnectionsPorts
from shared.services.my_data import my_accounts, my_connections_by_firm
from tests.conftest import clock_start
from tests.fakes import (
    FakeAudit,
    FakeConnections,
    FakeCustomers,
    FakeEmail,
    FakeEngagements,
    FakeQueue,
    ServiceFakes,
)

pytestmark = pytest.mark.fakes

ALPHA, BETA, GAMMA = (
    "01JFIRMALPHA000000000000000",
    "01JFIRMBETA0000000000000000",
    "01JFIRMGAMMA000000000000000",
)
JANE = Principal("jane-sub", "jane@example.org")  # a customer of Alpha and of Beta
BOB = Principal("bob-sub", "bob@example.org")  # another customer of Alpha
ADA = Principal("ada-sub", "ada@alpha.example")  # Alpha's adviser


@dataclass
class Counted:
    """A store whose calls are counted by method name (reads are what a page costs)."""

    store: Any
    calls: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


@dataclass
class World(ServiceFakes):
    """Alpha, Beta and Gamma; Jane a customer of Alpha and Beta, Bob of Alpha, Ada Alpha's adviser."""

    customers: FakeCustomers = field(default_factory=FakeCustomers)
    connections: FakeConnections = field(default_factory=FakeConnections)

    def __post_init__(self) -> None:
        self.start = clock_start()
        for firm_id, name in ((ALPHA, "Alpha Advisory"), (BETA, "Beta Partners"), (GAMMA, "Gamma & Co")):
            self.identities.firms[firm_id] = Firm(firm_id, name, "Europe/London")
        self.identities.put_membership(StaffMembership(ALPHA, ADA.user_id, StaffRole.ADVISER))
        self.jane_alpha = self.customer(ALPHA, "01JCUSTJANEALPHA00000000000", JANE)
        self.jane_beta = self.customer(BETA, "01JCUSTJANEBETA000000000000", JANE)
        self.bob_alpha = self.customer(ALPHA, "01JCUSTBOBALPHA000000000000", BOB)
        self.counted_accounts = Counted(self.accounts)
        self.counted_customers = Counted(self.customers)

    def customer(self, firm_id: str, customer_id: str, person: Principal | None) -> str:
        _, invitation = issue_invitation(self.start, None)
        record = Customer(
            firm_id=firm_id,
            customer_id=customer_id,
            name=f"Customer {customer_id[-4:]}",
            email="x@example.org",
            owner_id=ADA.user_id,
            created_at=self.start,
            invitation=invitation,
            user_id=person.user_id if person else None,
        )
        self.customers.rows[(firm_id, customer_id)] = record
        if person:
            self.identities.links[(person.user_id, firm_id, customer_id)] = CustomerLink(firm_id, customer_id)
        return customer_id

    def account(self, firm_id: str, customer_id: str, n: int, status: AccountStatus) -> SharedAccount:
        return self.accounts.add(
            SharedAccount(
                firm_id=firm_id,
                customer_id=customer_id,
                account_id=f"acc-{n}",
                connection_id=f"conn-{n}",
                institution_name="Northwind Bank",
                masked_identifier=f"•••• 000{n}",
                name=f"Account {n}",
                currency="GBP",
                balance=None,
                last_updated=self.start - timedelta(hours=n),
                status=status,
            )
        )

    def connection(
        self, firm_id: str, customer_id: str, n: int, status: ConnectionStatus, person: Principal = JANE
    ) -> Connection:
        made = Connection(
            firm_id,
            customer_id,
            f"conn-{n}",
            person.user_id,
            "gocardless",
            "BANK",
            "Northwind Bank",
            status,
            self.start,
            expires_at=self.start + timedelta(days=80),
        )
        self.connections.rows[ConnectionAddress(firm_id, customer_id, made.connection_id)] = made
        return made

    @property
    def ports(self) -> ConnectionsPorts:
        return ConnectionsPorts(
            connections=self.connections,
            customers=self.counted_customers,  # type: ignore[arg-type]
            accounts=self.counted_accounts,  # type: ignore[arg-type]
            identities=self.identities,  # type: ignore[arg-type]
            notifications=self.notifications,  # type: ignore[arg-type]
            audit=FakeAudit(),
            email=FakeEmail(),
            staff_notices=None,  # type: ignore[arg-type]  # the view notifies nobody
            providers=lambda _: pytest.fail("the view never calls the provider"),
            credentials=self.connections.vault,
            imports=FakeQueue(),
            engagements=FakeEngagements(),  # type: ignore[arg-type]
            webhooks_once=None,  # type: ignore[arg-type]
            redirect_urls={},
            api_base_url="https://api.example",
            app_base_url="https://app.example",
            limits=None,  # type: ignore[arg-type]  # the view spends no limit
            clock=lambda: self.start,
        )


@pytest.fixture
def world() -> World:
    return World()


def shown(page: list[Any]) -> list[tuple[str, list[tuple[str, AccountStatus]]]]:
    return [(f.firm.firm_name, [(a.account_id, a.status) for a in f.accounts]) for f in page]


def test_every_account_the_customer_shared_is_listed_per_firm_with_each_firms_decision(world: World):
    world.account(ALPHA, world.jane_alpha, 1, AccountStatus.ACCEPTED)
    world.account(ALPHA, world.jane_alpha, 2, AccountStatus.NEW)
    world.account(BETA, world.jane_beta, 1, AccountStatus.DECLINED)  # the same bank account, declined there
    world.account(ALPHA, world.bob_alpha, 3, AccountStatus.ACCEPTED)

    page, next_cursor = my_accounts(world.ports, JANE, cursor=None, limit=10)

    assert shown(page) == [
        ("Alpha Advisory", [("acc-1", AccountStatus.ACCEPTED), ("acc-2", AccountStatus.NEW)]),
        ("Beta Partners", [("acc-1", AccountStatus.DECLINED)]),
    ]
    assert next_cursor is None
    assert {a.customer_id for f in page for a in f.accounts} == {world.jane_alpha, world.jane_beta}
    # One Query per firm's accounts, one batch read of the customer records.
    assert world.counted_accounts.calls == {"list_for_customer": 2}
    assert world.counted_customers.calls == {"get_many": 1}
    bob, _ = my_accounts(world.ports, BOB, cursor=None, limit=10)
    assert shown(bob) == [("Alpha Advisory", [("acc-3", AccountStatus.ACCEPTED)])]


def test_staff_and_people_with_no_customer_record_get_an_empty_page_without_reading_accounts(world: World):
    world.account(ALPHA, world.jane_alpha, 1, AccountStatus.ACCEPTED)
    for person in (ADA, Principal("nobody-sub", "nobody@example.net")):
        assert my_accounts(world.ports, person, cursor=None, limit=10) == ([], None)
        assert my_connections_by_firm(world.ports, person, cursor=None, limit=10) == ([], None)
    assert world.counted_accounts.calls == {}


def test_a_link_to_a_customer_record_of_someone_else_shows_nothing_of_it(world: World):
    """The record must name the caller (as `customer_of` checks): a stray link reads nothing."""
    world.account(ALPHA, world.bob_alpha, 3, AccountStatus.ACCEPTED)
    world.identities.links[(JANE.user_id, ALPHA, world.bob_alpha)] = CustomerLink(ALPHA, world.bob_alpha)
    world.connection(ALPHA, world.bob_alpha, 3, ConnectionStatus.LINKED, person=BOB)

    page, _ = my_accounts(world.ports, JANE, cursor=None, limit=10)
    assert [a.account_id for f in page for a in f.accounts] == []
    connections, _ = my_connections_by_firm(world.ports, JANE, cursor=None, limit=10)
    assert [c.connection_id for f in connections for c in f.connections] == []


def test_pages_of_firms_follow_the_cursor_and_each_page_reads_its_own_firms_only(world: World):
    gamma = world.customer(GAMMA, "01JCUSTJANEGAMMA00000000000", JANE)
    world.account(GAMMA, gamma, 4, AccountStatus.NEW)
    world.account(BETA, world.jane_beta, 1, AccountStatus.DECLINED)

    first, cursor = my_accounts(world.ports, JANE, cursor=None, limit=2)
    assert [f.firm.firm_id for f in first] == [ALPHA, BETA] and cursor == BETA
    assert world.counted_accounts.calls == {"list_for_customer": 2}
    second, end = my_accounts(world.ports, JANE, cursor=cursor, limit=2)
    assert [f.firm.firm_id for f in second] == [GAMMA] and end is None
    assert world.counted_accounts.calls == {"list_for_customer": 3}
    assert my_accounts(world.ports, JANE, cursor="zzz", limit=2) == ([], None)  # past the end: nothing


def test_connections_are_listed_per_firm_with_the_customers_fix(world: World):
    world.connection(ALPHA, world.jane_alpha, 1, ConnectionStatus.LINKED)
    world.connection(ALPHA, world.jane_alpha, 2, ConnectionStatus.CREDENTIALS_REJECTED)
    world.connection(BETA, world.jane_beta, 3, ConnectionStatus.REVOKED)
    world.connection(ALPHA, world.bob_alpha, 4, ConnectionStatus.LINKED, person=BOB)

    page, next_cursor = my_connections_by_firm(world.ports, JANE, cursor=None, limit=10)

    listed = [(f.firm.firm_name, [(c.connection_id, c.fix) for c in f.connections]) for f in page]
    assert listed == [
        ("Alpha Advisory", [("conn-1", None), ("conn-2", "reauthorise")]),
        ("Beta Partners", [("conn-3", "reconnect")]),
    ]
    assert next_cursor is None
    assert {c.expires_at for f in page for c in f.connections} == {world.start + timedelta(days=80)}


def test_a_connection_another_person_made_for_the_same_customer_is_not_theirs(world: World):
    """The rule of `GET /connections`, reused: only connections the caller consented to."""
    world.connection(ALPHA, world.jane_alpha, 1, ConnectionStatus.LINKED)
    world.connection(ALPHA, world.jane_alpha, 2, ConnectionStatus.LINKED, person=BOB)

    page, _ = my_connections_by_firm(world.ports, JANE, cursor=None, limit=10)

    assert [c.connection_id for f in page for c in f.connections] == ["conn-1"]
