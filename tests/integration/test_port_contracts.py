"""One contract, two implementations: the in-memory fakes (tests/fakes.py) and the DynamoDB adapters
on moto must behave alike for what services rely on (optimistic locks, overwrite-not-duplicate,
row moves, windows, defaults). A fake that drifts from the table fails here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from shared.domain.accounts import AccountProblem, AccountStatus, BankTransaction, SharedAccount
from shared.domain.audit import AuditEvent
from shared.domain.connections import Connection, ConnectionStatus
from shared.domain.customers import Customer, InvitationStatus, Section, issue_invitation
from shared.domain.errors import ConcurrentChange, FileChanged, InvalidRequest, NotFound, StaleConnection
from shared.domain.files import (
    AccessLevel,
    AdviserType,
    Donation,
    ExternalAdviser,
    FamilyMember,
    Grant,
    Relation,
    Subject,
    SubjectType,
)
from shared.domain.identity import CustomerLink, UserProfile
from shared.ports.connections import ConnectionAddress
from shared.ports.files import FileLink, GrantRef
from shared.ports.imports import FeedState
from tests.fakes import (
    FakeAccounts,
    FakeAudit,
    FakeConnections,
    FakeCustomers,
    FakeFeeds,
    FakeFiles,
    FakeIdentities,
)

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
    from shared.bootstrap import credential_vault

    connections = ConnectionsRepository("data", credential_vault())
    return Stores(connections, AccountsRepository("data"), ImportsRepository("data"))


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


def test_a_connection_awaits_its_expiry_reminder_by_utc_day_until_claimed_and_again_when_renewed(
    stores: Stores,
):
    expiry = datetime(2026, 6, 24, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))  # 23 June in UTC
    pending = stores.connections.save(connection(), None)
    address = ConnectionAddress(FIRM, CUSTOMER, pending.connection_id)

    def awaiting(day: date, after: datetime = NOW) -> list[ConnectionAddress]:
        return [a for page in stores.connections.awaiting_expiry_reminder(day, after) for a in page]

    assert awaiting(date(2026, 6, 23)) == []  # no consent yet, no expiry
    linked = stores.connections.save(pending.linked(NOW, "credential", expiry), pending)
    assert awaiting(date(2026, 6, 23)) == [address] and awaiting(date(2026, 6, 24)) == []
    assert awaiting(date(2026, 6, 23), after=expiry + timedelta(seconds=1)) == []  # lapsed: not read
    claimed = stores.connections.save(replace(linked, expiry_reminded_for=expiry), linked)
    assert awaiting(date(2026, 6, 23)) == [] and stores.connections.get(address) == claimed
    renewed_expiry = expiry + timedelta(days=90)
    renewed = stores.connections.save(replace(claimed, expires_at=renewed_expiry), claimed)
    assert awaiting(date(2026, 9, 21)) == [address]  # a new expiry, a new cycle
    revoked = stores.connections.save(renewed.with_status(ConnectionStatus.REVOKED, NOW), renewed)
    assert awaiting(date(2026, 9, 21)) == [] and revoked.expiry_reminded_for == expiry


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


# the customer side -------------------------------------------------------------------------------
OTHER_FIRM = "01JFIRMCONTRACTOTHER0000000"
ADMIN, ADVISER, COLLEAGUE = "staff-admin", "staff-adviser", "staff-colleague"


@dataclass
class CustomerSide:
    customers: Any
    accounts: Any
    identities: Any
    audit: Any


@pytest.fixture(params=["fake", "dynamodb"])
def side(request: pytest.FixtureRequest) -> CustomerSide:
    if request.param == "fake":
        return CustomerSide(FakeCustomers(), FakeAccounts(), FakeIdentities(), FakeAudit())
    request.getfixturevalue("aws")
    from shared.adapters.dynamodb.accounts_repository import AccountsRepository
    from shared.adapters.dynamodb.audit_log import AuditLog
    from shared.adapters.dynamodb.customers_repository import CustomersRepository
    from shared.adapters.dynamodb.identity_repository import IdentityRepository

    return CustomerSide(
        CustomersRepository("data"), AccountsRepository("data"), IdentityRepository("data"), AuditLog("audit")
    )


def customer(
    n: int, *, firm_id: str = FIRM, owner: str = ADMIN, email: str | None = None, sent_at: datetime = NOW
) -> Customer:
    _, invitation = issue_invitation(sent_at, None)
    return Customer(
        firm_id=firm_id,
        customer_id=f"01JCUST{n:020d}",
        name=f"Person {n}",
        email=email or f"person{n}@example.org",
        owner_id=owner,
        created_at=sent_at,
        invitation=invitation,
    )


def create(side: CustomerSide, new: Customer) -> Customer:
    c = side.customers
    return c.save(new, None, c.email_claim(new), c.token_put(new))


def test_a_customer_is_saved_under_an_optimistic_lock_with_its_items_all_or_nothing(side: CustomerSide):
    c = side.customers
    first = create(side, customer(1, email="Jane.Doe@example.org"))

    assert first.version == 1 and c.get(FIRM, first.customer_id) == first
    assert c.find_by_email(FIRM, " JANE.DOE@example.org ") == first  # the claim is on the normalised email
    assert c.find_by_email(OTHER_FIRM, "jane.doe@example.org") is None
    assert c.find_by_token_hash(first.invitation.token_hash) == (FIRM, first.customer_id)
    renamed = c.save(replace(first, name="Jane"), first)
    assert renamed.version == 2 and c.get(FIRM, first.customer_id) == renamed
    counted = c.save(replace(renamed, new_accounts=2, accepted_accounts=1, declined_accounts=3), renamed)
    assert c.get(FIRM, first.customer_id) == counted  # every counter is kept
    renamed = c.save(replace(counted, new_accounts=0, accepted_accounts=0, declined_accounts=0), counted)

    _, fresh = issue_invitation(NOW, None)
    late = replace(first, invitation=fresh)
    with pytest.raises(ConcurrentChange):  # `first` is stale: nothing of the transaction is written
        c.save(late, first, c.token_put(late))
    assert c.find_by_token_hash(fresh.token_hash) is None and c.get(FIRM, first.customer_id) == renamed
    with pytest.raises(ConcurrentChange):
        c.save(customer(1, email="someone@example.org"), None)  # exists already
    assert c.get(FIRM, "01JNOSUCHCUSTOMER0000000000") is None


def test_an_email_is_claimed_once_per_firm(side: CustomerSide):
    """R-INV-3: a second customer with the same email is refused in the same transaction."""
    c = side.customers
    first = create(side, customer(1, email="jane@example.org"))
    with pytest.raises(ConcurrentChange):
        create(side, customer(2, email="JANE@example.org"))
    assert c.get(FIRM, customer(2).customer_id) is None
    assert c.find_by_email(FIRM, "jane@example.org") == first
    elsewhere = create(side, customer(2, firm_id=OTHER_FIRM, email="jane@example.org"))
    assert c.find_by_email(OTHER_FIRM, "jane@example.org") == elsewhere


def test_customers_are_read_together_by_firm_and_id_and_missing_ones_are_left_out(side: CustomerSide):
    """Issue 16: a person's customer records across firms, one batch read (#10)."""
    c = side.customers
    here = create(side, customer(1))
    there = create(side, customer(2, firm_id=OTHER_FIRM))
    missing = (FIRM, customer(3).customer_id)
    crossed = (OTHER_FIRM, here.customer_id)  # an id of one firm named with another: nothing
    refs = [(FIRM, here.customer_id), (OTHER_FIRM, there.customer_id), missing, crossed]
    assert c.get_many(refs) == {refs[0]: here, refs[1]: there}
    assert c.get_many([]) == {}


def test_a_token_is_consumed_once_unless_its_delete_is_made_unconditional(side: CustomerSide):
    c = side.customers
    first = create(side, customer(1))
    token_hash = first.invitation.token_hash
    accepted = c.save(first.accepted_by("user-1", NOW), first, c.token_delete(token_hash))
    assert c.find_by_token_hash(token_hash) is None

    with pytest.raises(ConcurrentChange):  # a second consumption fails the whole save
        c.save(replace(accepted, name="Other"), accepted, c.token_delete(token_hash))
    assert c.get(FIRM, first.customer_id) == accepted
    with pytest.raises(ClientError) as canceled:
        c.transact([c.token_delete(token_hash)])
    assert canceled.value.response["Error"]["Code"] == "TransactionCanceledException"
    unconditional = c.token_delete(token_hash)
    unconditional["Delete"].pop("ConditionExpression")  # what the service does to drop a maybe-gone token
    c.transact([unconditional])


def test_one_transaction_never_holds_two_operations_on_one_row(side: CustomerSide):
    c = side.customers
    first = create(side, customer(1))
    with pytest.raises(ClientError) as refused:
        c.transact([c.token_delete(first.invitation.token_hash), c.token_put(first)])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert c.find_by_token_hash(first.invitation.token_hash) == (FIRM, first.customer_id)


def ids(page: Any) -> list[str]:
    return [row["customer_id"] for row in page.rows]


def test_sections_pages_and_counts_follow_every_save_in_each_scope(side: CustomerSide):
    c = side.customers
    made = [create(side, customer(n, owner=ADMIN if n % 2 else ADVISER)) for n in range(1, 6)]
    create(side, customer(9, firm_id=OTHER_FIRM))

    def page(staff: str | None, *, cursor: str | None = None, limit: int = 10, search: str | None = None):
        return c.list_section(
            FIRM, Section.INVITED, staff_id=staff, search=search, cursor=cursor, limit=limit
        )

    newest_first = [m.customer_id for m in reversed(made)]
    first = page(None, limit=2)
    assert ids(first) == newest_first[:2] and first.next_cursor
    second = page(None, limit=2, cursor=first.next_cursor)
    third = page(None, limit=2, cursor=second.next_cursor)
    assert ids(second) + ids(third) == newest_first[2:] and third.next_cursor is None
    assert ids(page(ADVISER)) == [made[3].customer_id, made[1].customer_id]
    assert first.rows[0] == {
        "customer_id": made[4].customer_id,
        "name": "Person 5",
        "email": "person5@example.org",
        "owner_id": ADMIN,
        "assignee_ids": [],
        "section": "invited",
        "invitation_status": "sent",
        "invitation_expires_at": made[4].invitation.expires_at.isoformat(),
        "accepted": False,
        "new_accounts": 0,
        "accepted_accounts": 0,
        "created_at": NOW.isoformat(),
        "ended_at": None,
        "ended_by": None,
        "erasure_due": None,
    }
    # A search reads its entries: the match on the first page, in the order of what matched.
    assert ids(page(None, limit=2, search=" PERSON 3")) == [made[2].customer_id]
    assert ids(page(ADVISER, search="person3@EXAMPLE")) == []  # not the adviser's customer
    searched = page(None, limit=2, search="person")
    assert ids(searched) == [m.customer_id for m in made[:2]] and searched.next_cursor
    rest = page(None, limit=2, search="person", cursor=searched.next_cursor)
    assert ids(rest) == [m.customer_id for m in made[2:4]]

    assert c.counts(FIRM, None) == {"invited": 5, "pending": 0, "customers": 0, "ended": 0}
    assert c.counts(FIRM, ADVISER) == {"invited": 2, "pending": 0, "customers": 0, "ended": 0}
    assert c.counts(FIRM, COLLEAGUE) == {"invited": 0, "pending": 0, "customers": 0, "ended": 0}

    # Moves between sections, an assignee added, one revoked (on no section), one assignee dropped.
    one, two, three = made[0], made[1], made[2]
    pending = c.save(replace(one.accepted_by("user-1", NOW), new_accounts=1, assignee_ids=(COLLEAGUE,)), one)
    c.save(replace(two.accepted_by("user-2", NOW), accepted_accounts=1), two)
    c.save(replace(three, invitation=replace(three.invitation, status=InvitationStatus.REVOKED)), three)
    assert c.counts(FIRM, None) == {"invited": 2, "pending": 1, "customers": 1, "ended": 0}
    assert c.counts(FIRM, ADVISER) == {"invited": 1, "pending": 0, "customers": 1, "ended": 0}
    assert c.counts(FIRM, COLLEAGUE) == {"invited": 0, "pending": 1, "customers": 0, "ended": 0}
    pending_page = c.list_section(
        FIRM, Section.PENDING, staff_id=COLLEAGUE, search=None, cursor=None, limit=5
    )
    assert ids(pending_page) == [one.customer_id] and pending_page.rows[0]["accepted"] is True
    assert ids(page(None)) == [made[4].customer_id, made[3].customer_id]

    c.save(replace(pending, assignee_ids=()), pending)
    assert c.counts(FIRM, COLLEAGUE) == {"invited": 0, "pending": 0, "customers": 0, "ended": 0}
    assert (
        ids(c.list_section(FIRM, Section.PENDING, staff_id=COLLEAGUE, search=None, cursor=None, limit=5))
        == []
    )
    assert c.counts(OTHER_FIRM, None) == {"invited": 1, "pending": 0, "customers": 0, "ended": 0}

    # Relationships end (#110, #111): onto the firm's ended list, latest end first; the adviser's row
    # and counter go with `clear_rows`, run twice (a retry) without counting anything twice.
    for n, gone in enumerate((made[3], made[4])):
        current = c.get(FIRM, gone.customer_id)
        assert current is not None
        ended = c.save(current.ended(NOW + timedelta(minutes=n), "firm", date(2032, 6, 17)), current)
        c.clear_rows(ended)
        c.clear_rows(ended)
    assert c.counts(FIRM, None) == {"invited": 0, "pending": 1, "customers": 1, "ended": 2}
    assert c.counts(FIRM, ADVISER) == {"invited": 0, "pending": 0, "customers": 1, "ended": 0}
    assert ids(page(ADVISER)) == [] and ids(page(None)) == []
    first_ended = c.list_section(FIRM, Section.ENDED, staff_id=None, search=None, cursor=None, limit=1)
    assert ids(first_ended) == [made[4].customer_id] and first_ended.next_cursor
    assert first_ended.rows[0]["section"] == "ended" and first_ended.rows[0]["erasure_due"] == "2032-06-17"
    rest = c.list_section(
        FIRM, Section.ENDED, staff_id=None, search=None, cursor=first_ended.next_cursor, limit=1
    )
    assert ids(rest) == [made[3].customer_id]


def test_a_page_cursor_that_is_not_one_is_an_invalid_request(side: CustomerSide):
    with pytest.raises(InvalidRequest) as refused:
        side.customers.list_section(FIRM, Section.INVITED, staff_id=None, search=None, cursor="%%%", limit=5)
    assert refused.value.code == "invalid_cursor"


def test_invitations_are_due_for_reminders_from_two_days_before_each_until_they_end(side: CustomerSide):
    c = side.customers
    early = create(side, customer(1, sent_at=NOW - timedelta(days=1)))
    later = create(side, customer(2, sent_at=NOW))
    elsewhere = create(side, customer(3, firm_id=OTHER_FIRM, sent_at=NOW))
    key = {m.customer_id: (m.firm_id, m.customer_id) for m in (early, later, elsewhere)}

    assert c.due_for_reminders("2026-06-20") == []
    assert c.due_for_reminders("2026-06-21") == [key[early.customer_id]]  # day 7 less two, by UTC day
    assert c.due_for_reminders("2026-06-22") == [
        key[early.customer_id],
        key[later.customer_id],
        key[elsewhere.customer_id],
    ]

    reminded = c.save(replace(later, invitation=replace(later.invitation, reminders_sent=(7,))), later)
    revoked = replace(early, invitation=replace(early.invitation, status=InvitationStatus.REVOKED))
    c.save(revoked, early)
    assert c.due_for_reminders("2026-07-14") == [key[elsewhere.customer_id]]
    assert c.due_for_reminders("2026-07-15") == [key[elsewhere.customer_id], key[later.customer_id]]
    both = replace(reminded.invitation, reminders_sent=(7, 30))
    c.save(replace(reminded, invitation=both), reminded)
    assert key[later.customer_id] not in c.due_for_reminders("2026-07-31")
    assert key[later.customer_id] in c.due_for_reminders("2026-08-01")  # its expiry


def offered(account_id: str = "acc-1", **changes: Any) -> SharedAccount:
    return replace(account(account_id), status=AccountStatus.NEW, **changes)


def test_account_writes_ride_on_a_customer_save_and_check_the_status_they_expect(side: CustomerSide):
    c, accounts = side.customers, side.accounts
    first = create(side, customer(1))
    new = offered(customer_id=first.customer_id, balance=Decimal("10.50"))
    saved = c.save(replace(first, new_accounts=1), first, accounts.put_op(new, expected_status=None))
    assert accounts.get(FIRM, first.customer_id, "acc-1") == new

    with pytest.raises(ConcurrentChange):  # offered twice: it must be new
        c.save(saved, saved, accounts.put_op(new, expected_status=None))
    reviewed = replace(new, status=AccountStatus.DECLINED, reviewed_by=ADMIN, reviewed_at=NOW)
    after = c.save(
        replace(saved, new_accounts=0), saved, accounts.put_op(reviewed, expected_status=AccountStatus.NEW)
    )
    with pytest.raises(ConcurrentChange):  # reviewed already: the customer is not written either
        c.save(replace(after, name="x"), after, accounts.put_op(reviewed, expected_status=AccountStatus.NEW))
    assert accounts.get(FIRM, first.customer_id, "acc-1") == reviewed
    assert c.get(FIRM, first.customer_id) == after
    assert accounts.list_for_customer(FIRM, first.customer_id) == [reviewed]


def test_a_customer_link_is_written_with_the_acceptance_and_a_profile_only_if_absent(side: CustomerSide):
    c, identities = side.customers, side.identities
    first = create(side, customer(1))
    link = CustomerLink(FIRM, first.customer_id)
    c.save(first.accepted_by("user-1", NOW), first, identities.customer_link_op("user-1", link))
    assert identities.list_customer_links("user-1") == [link]
    assert identities.list_customer_links("user-2") == []

    identities.put_profile_if_absent(UserProfile("user-1", "jane@example.org", "Jane"))
    identities.put_profile_if_absent(UserProfile("user-1", "other@example.org", "Other"))
    assert identities.get_profile("user-1") == UserProfile("user-1", "jane@example.org", "Jane")


def test_the_audit_log_pages_newest_first_for_the_firm_or_one_customer(side: CustomerSide):
    def event(minute: int, customer_id: str | None, firm_id: str = FIRM) -> AuditEvent:
        return AuditEvent(
            firm_id=firm_id, actor_id=ADMIN, action=f"action.{minute}", target_type="customer",
            target_id=customer_id or "-", details={"n": minute}, customer_id=customer_id,
            occurred_at=NOW + timedelta(minutes=minute),
        )  # fmt: skip

    events = [event(0, "c-1"), event(1, None), event(2, "c-2"), event(3, "c-1"), event(4, "c-1", OTHER_FIRM)]
    recorded = [side.audit.record(e) for e in events]
    assert recorded == sorted(recorded) and len(set(recorded)) == 5

    first, cursor = side.audit.page(FIRM, limit=3)
    rest, end = side.audit.page(FIRM, limit=3, cursor=cursor)
    assert [e.action for e in first + rest] == ["action.3", "action.2", "action.1", "action.0"]
    assert end is None and first[0] == events[3]
    mine, _ = side.audit.page(FIRM, customer_id="c-1")
    assert [e.action for e in mine] == ["action.3", "action.0"]


def test_the_audit_log_pages_one_kind_for_the_firm_or_one_customer_with_a_day_range(side: CustomerSide):
    def event(minute: int, action: str, customer_id: str | None) -> AuditEvent:
        return AuditEvent(
            firm_id=FIRM, actor_id=ADMIN, action=action, target_type="customer", target_id="-",
            customer_id=customer_id, occurred_at=NOW + timedelta(days=minute),
        )  # fmt: skip

    for day, (action, customer) in enumerate(
        [("read.transactions", "c-1"), ("access.granted", "c-1"), ("read.accounts", "c-2"),
         ("read.accounts", None), ("read.file", "c-1"), ("staff.role_changed", None)]
    ):  # fmt: skip
        side.audit.record(event(day, action, customer))

    reads, cursor = side.audit.page(FIRM, kind="read", limit=3)
    rest, end = side.audit.page(FIRM, kind="read", limit=3, cursor=cursor)
    assert [e.action for e in reads + rest] == [
        "read.file",
        "read.accounts",
        "read.accounts",
        "read.transactions",
    ]
    assert end is None or rest == []
    looked_at_c1, _ = side.audit.page(FIRM, customer_id="c-1", kind="read")
    assert [e.action for e in looked_at_c1] == ["read.file", "read.transactions"]
    first_days, _ = side.audit.page(
        FIRM, customer_id="c-1", kind="read", date_to=(NOW + timedelta(days=1)).date()
    )
    assert [e.action for e in first_days] == ["read.transactions"]
    assert side.audit.page(FIRM, kind="export") == ([], None)


# client files --------------------------------------------------------------------------------------
FILE = "01JFILECONTRACT000000000000"


@pytest.fixture(params=["fake", "dynamodb"])
def files(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakeFiles()
    request.getfixturevalue("aws")
    from shared.adapters.dynamodb.files_repository import FilesRepository
    from shared.adapters.dynamodb.grants_repository import GrantsRepository

    return FileStores(FilesRepository("data"), GrantsRepository("data"))


@dataclass
class FileStores:
    """The two DynamoDB stores of a client file (its contents, its grants) as the one fake that
    plays both (FileAccessPorts gets it as `files` and as `grants`)."""

    contents_store: Any
    grants_store: Any

    def __getattr__(self, name: str) -> Any:
        if hasattr(self.contents_store, name):
            return getattr(self.contents_store, name)
        return getattr(self.grants_store, name)


def member(n: int, file_id: str = FILE, relation: Relation = Relation.CHILD) -> FamilyMember:
    return FamilyMember(FIRM, file_id, f"01JMEMBER{n:018d}", f"Member {n}", relation, None, ADMIN, NOW)


def adviser(n: int) -> ExternalAdviser:
    return ExternalAdviser(
        FIRM, FILE, f"01JADVISER{n:017d}", f"Adviser {n}", f"adviser{n}@example.org", "+33612345678",
        AdviserType.NOTARY, ADMIN, NOW,
    )  # fmt: skip


def grant_of(entry: FamilyMember | ExternalAdviser, **changes: Any) -> Grant:
    if isinstance(entry, FamilyMember):
        subject = Subject(SubjectType.MEMBER, entry.member_id)
    else:
        subject = Subject(SubjectType.ADVISER, entry.adviser_id)
    grant = Grant(
        FIRM, entry.file_id, subject, entry.name, False, "kid@example.org", "+33612345678",
        AccessLevel.READ_ONLY, ADMIN, NOW,
    )  # fmt: skip
    return replace(grant, **changes)


def invited(entry: FamilyMember | ExternalAdviser, sent_at: datetime = NOW) -> Grant:
    return grant_of(entry).reinvited(sent_at)[1]


def test_file_entries_are_created_once_changed_while_they_exist_and_listed_by_section(files: Any):
    kids = [member(2), member(1)]
    for kid in kids:
        files.put_entry(kid, new=True)
    files.put_entry(adviser(1), new=True)
    donation = Donation(
        FIRM, FILE, "01JDONATION0000000000000000", "A", "B", date(2024, 3, 1), Decimal("10.10"), "EUR", None,
        ADMIN, NOW,
    )  # fmt: skip
    files.put_entry(donation, new=True)
    files.put_entry(member(9, file_id="01JOTHERFILE000000000000000"), new=True)

    with pytest.raises(NotFound):
        files.put_entry(kids[0], new=True)  # exists
    with pytest.raises(NotFound):
        files.put_entry(member(3), new=False)  # must exist
    renamed = replace(kids[0], name="Renamed")
    files.put_entry(renamed, new=False)
    contents = files.contents(FIRM, FILE)
    assert contents.members == [kids[1], renamed]  # oldest (smallest id) first
    assert (contents.advisers, contents.donations, contents.grants) == ([adviser(1)], [donation], [])
    assert files.get_member(FIRM, FILE, kids[1].member_id) == kids[1]
    assert files.get_adviser(FIRM, FILE, adviser(1).adviser_id) == adviser(1)
    assert files.get_donation(FIRM, FILE, donation.donation_id) == donation
    assert files.get_member(FIRM, "01JOTHERFILE000000000000000", kids[1].member_id) is None
    files.delete_entry(renamed)
    with pytest.raises(NotFound):
        files.delete_entry(renamed)
    assert files.contents(FIRM, FILE).members == [kids[1]]


def test_an_entry_guarded_by_a_grant_changes_only_while_the_subject_has_none(files: Any):
    kid = member(1)
    files.put_entry(kid, new=True)
    files.put_entry(replace(kid, name="Kid"), new=False, grant_absent=grant_of(kid).subject)
    files.save_grant(invited(kid), None)
    with pytest.raises(FileChanged):
        files.put_entry(replace(kid, relation=Relation.HOLDER), new=False, grant_absent=grant_of(kid).subject)
    with pytest.raises(FileChanged):
        files.delete_entry(kid, grant_absent=grant_of(kid).subject)
    assert files.get_member(FIRM, FILE, kid.member_id) == replace(kid, name="Kid")


def test_a_grant_is_written_with_its_items_under_an_optimistic_lock(files: Any):
    kid = member(1)
    with pytest.raises(FileChanged):  # the member is not in the file: nothing is written
        files.save_grant(invited(kid), None, files.subject_exists(FIRM, FILE, grant_of(kid).subject))
    assert files.get_grant(FIRM, FILE, grant_of(kid).subject) is None
    files.put_entry(kid, new=True)
    pending = invited(kid)
    first = files.save_grant(
        pending, None, files.subject_exists(FIRM, FILE, pending.subject), files.token_put(pending)
    )
    assert first.version == 1 and files.get_grant(FIRM, FILE, pending.subject) == first
    assert files.contents(FIRM, FILE).grants == [first]
    assert files.find_by_token_hash(pending.invitation.token_hash) == GrantRef(FIRM, FILE, pending.subject)
    with pytest.raises(FileChanged):
        files.save_grant(pending, None)  # exists already

    bound = files.save_grant(
        first.bound_to("kid-sub"),
        first,
        files.token_delete(pending.invitation.token_hash, must_exist=True),
        files.link_put(first.bound_to("kid-sub"), "Jane Holder"),
    )
    assert bound.version == 2 and files.find_by_token_hash(pending.invitation.token_hash) is None
    with pytest.raises(FileChanged):  # `first` is stale
        files.save_grant(replace(first, level=AccessLevel.READ_WRITE), first)
    with pytest.raises(FileChanged):  # the token was used
        files.save_grant(
            replace(bound, phone="+33700000000"),
            bound,
            files.token_delete(pending.invitation.token_hash, must_exist=True),
        )
    files.save_grant(bound, bound, files.token_delete(pending.invitation.token_hash, must_exist=False))
    assert files.links_of("kid-sub") == [FileLink(FIRM, FILE, "Jane Holder", pending.subject)]
    with pytest.raises(FileChanged):  # a stale delete
        files.transact([files.delete_grant_op(bound)])
    latest = files.get_grant(FIRM, FILE, pending.subject)
    files.transact([files.delete_grant_op(latest), files.link_delete(latest)])
    assert files.get_grant(FIRM, FILE, pending.subject) is None and files.links_of("kid-sub") == []


def test_a_person_finds_a_file_once_and_an_email_maps_to_one_identity(files: Any):
    kid, other = member(1), member(2, file_id="01JOTHERFILE000000000000000")
    for entry in (kid, other):
        files.put_entry(entry, new=True)
    grant = files.save_grant(
        grant_of(kid, user_id="kid-sub"), None, files.link_put(grant_of(kid, user_id="kid-sub"), "Jane")
    )
    with pytest.raises(FileChanged):  # they already reach this file
        files.save_grant(
            grant_of(member(5), user_id="kid-sub"),
            None,
            files.link_put(grant_of(kid, user_id="kid-sub"), "Jane"),
        )
    files.save_grant(
        grant_of(other, user_id="kid-sub"), None, files.link_put(grant_of(other, user_id="kid-sub"), "Ben")
    )
    assert [link.file_label for link in files.links_of("kid-sub")] == ["Jane", "Ben"]
    assert files.get_grants(
        [GrantRef(FIRM, FILE, grant.subject)] * 2 + [GrantRef(FIRM, FILE, grant_of(member(7)).subject)]
    ) == [grant]

    assert files.find_account("kid@example.org") is None
    files.transact([files.account_put("kid@example.org", "kid-sub")])
    files.transact([files.account_put(" KID@example.org", "kid-sub")])  # the same person again: fine
    with pytest.raises(FileChanged):
        files.transact([files.account_put("kid@example.org", "someone-else")])
    assert files.find_account("Kid@Example.org ") == "kid-sub"


def test_grant_invitations_are_due_from_two_days_before_each_reminder_until_they_expire(files: Any):
    early, later, bound = member(1), member(2), member(3)
    for entry in (early, later, bound):
        files.put_entry(entry, new=True)
    files.save_grant(invited(early, NOW - timedelta(days=1)), None)
    pending = files.save_grant(invited(later), None)
    files.save_grant(grant_of(bound, user_id="bound-sub"), None)
    ref = {g.subject.subject_id: GrantRef(FIRM, FILE, g.subject) for g in (invited(early), pending)}

    assert files.due_for_reminders("2026-06-20") == []
    assert files.due_for_reminders("2026-06-21") == [ref[early.member_id]]
    assert files.due_for_reminders("2026-06-22") == [ref[early.member_id], ref[later.member_id]]
    assert pending.invitation is not None
    reminded = replace(pending.invitation, reminders_sent=(7, 30))
    files.save_grant(replace(pending, invitation=reminded), pending)
    assert files.due_for_reminders("2026-07-31") == [ref[early.member_id]]
    assert files.due_for_reminders("2026-08-01") == [ref[early.member_id], ref[later.member_id]]  # expiry
