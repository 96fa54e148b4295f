"""R-PRIV-1 on the in-memory ports (issue 17 item 1, part 1): a revoked or expired consent stops
imports, and what was imported stays readable, shown as historical with the firm-local day the
consent ended; a consent granted again makes it live. The routes are on moto in
tests/integration/test_historical_view.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shared.domain.accounts import AccountStatus, BankTransaction, SharedAccount
from shared.domain.aggregator import ConsentOutcome, ConsentState
from shared.domain.connections import CONSENT_ENDED, Connection, ConnectionStatus
from shared.domain.customers import Customer, Invitation, InvitationStatus
from shared.domain.errors import Conflict, NotFound
from shared.domain.identity import CustomerLink, Firm, Principal, StaffContext, StaffRole
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob, ImportReason
from shared.ports.connections import ConnectionAddress
from shared.services import consent_history, my_data
from shared.services.connections import ImportState, refresh
from shared.services.imports import import_connection
from tests.calendar_matrix import demo_firm_zone
from tests.conftest import clock_start
from tests.fakes import ConnectionFakes, FakeClock, ImportFakes
from tests.unit.test_my_data_rules import Counted

pytestmark = pytest.mark.fakes

FIRM, OTHER_FIRM, CUSTOMER = "01JFIRMHIST0000000000000000", "01JFIRMOTHER000000000000000", "customer-1"
NEW_YORK, LONDON = "America/New_York", "Europe/London"
JANE = Principal("jane-sub", "jane@example.org")
ADMIN = StaffContext(Principal("admin-sub", "admin@firm.example"), FIRM, StaffRole.ADMIN)
ADVISER = StaffContext(Principal("adviser-sub", "adviser@firm.example"), FIRM, StaffRole.ADVISER)
NOW = datetime(2027, 3, 20, 15, tzinfo=UTC)
LIVE = [s for s in ConnectionStatus if s not in CONSENT_ENDED]  # every status a consent can be live in


def connection(status: ConnectionStatus = ConnectionStatus.LINKED, connection_id: str = "conn-1", **changes):
    created = datetime(2027, 1, 2, 10, tzinfo=UTC)
    made = Connection(
        FIRM, CUSTOMER, connection_id, JANE.user_id, "gocardless", "BANK", "Bank", status, created,
        credential="requisition", linked_at=created, status_changed_at=created,
        expires_at=created + timedelta(days=90), version=1,
    )  # fmt: skip
    return replace(made, **changes)


def day_of(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


# the rule: when a consent ended ------------------------------------------------------------------
def test_a_revoked_consent_ended_when_it_was_revoked():
    revoked = connection().with_status(ConnectionStatus.REVOKED, NOW)
    assert revoked.consent_ended(NOW + timedelta(days=3)) == NOW
    assert revoked.consent_ended_on(NOW, LONDON) == date(2027, 3, 20)


def test_an_expiry_found_after_the_end_date_ended_on_that_date_one_found_early_when_found():
    linked = connection()
    assert linked.expires_at is not None
    found_late = linked.with_status(ConnectionStatus.EXPIRED, linked.expires_at + timedelta(days=2))
    assert found_late.consent_ended(NOW) == linked.expires_at
    early = linked.expires_at - timedelta(days=30)  # the bank ended it before its 90 days
    assert linked.with_status(ConnectionStatus.EXPIRED, early).consent_ended(NOW) == early


def test_deauthorising_an_expired_consent_keeps_the_day_it_expired():
    expired_at = NOW - timedelta(days=5)
    expired = connection().with_status(ConnectionStatus.EXPIRED, expired_at)
    revoked = expired.with_status(ConnectionStatus.REVOKED, NOW)
    assert revoked.consent_ended(NOW) == expired_at


def test_a_consent_past_its_end_date_that_no_import_found_yet_ended_on_that_date():
    lapsing = connection(expires_at=NOW + timedelta(hours=1))
    assert lapsing.consent_ended(NOW) is None
    assert lapsing.consent_ended(NOW + timedelta(hours=1)) == NOW + timedelta(hours=1)


def test_reauthorising_keeps_the_data_historical_until_a_new_consent_is_granted():
    revoked = connection().with_status(ConnectionStatus.REVOKED, NOW)
    restarting = revoked.with_status(ConnectionStatus.PENDING, NOW + timedelta(days=1))
    declined = restarting.with_status(ConnectionStatus.REJECTED, NOW + timedelta(days=2))
    assert restarting.consent_ended(NOW) == NOW and declined.consent_ended(NOW) == NOW
    granted = declined.linked(NOW + timedelta(days=3), "new-requisition", None)
    assert granted.consent_ended(NOW + timedelta(days=3)) is None and granted.consent_ended_at is None
    # an expired one renewed (its status stays expired while the new consent is given)
    expired = connection().with_status(ConnectionStatus.EXPIRED, NOW)
    assert (
        expired.linked(NOW + timedelta(days=1), "again", None).consent_ended(NOW + timedelta(days=1)) is None
    )
    # and ended again later: that end is the day shown
    again = granted.with_status(ConnectionStatus.REVOKED, NOW + timedelta(days=9))
    assert again.consent_ended(NOW + timedelta(days=9)) == NOW + timedelta(days=9)


@pytest.mark.parametrize("status", LIVE, ids=str)
def test_a_consent_that_never_ended_is_live_whatever_its_status(status: ConnectionStatus):
    """Problems (rejected credentials, refresh failed, an error, no accounts) and a first consent
    declined at the bank are not an ended consent: nothing is historical."""
    assert connection(status).consent_ended(NOW) is None
    assert connection().with_status(status, NOW).consent_ended_on(NOW, LONDON) is None


@pytest.mark.parametrize("status", sorted(CONSENT_ENDED), ids=str)
def test_a_connection_stored_before_the_end_was_recorded_ended_when_its_status_changed(status):
    stored = connection(status, status_changed_at=NOW - timedelta(days=1), expires_at=None)
    assert stored.consent_ended_at is None and stored.consent_ended(NOW) == NOW - timedelta(days=1)


@pytest.mark.parametrize(
    ("ended_at", "zone", "local_day"),
    [
        (
            datetime(2027, 3, 14, 4, 30, tzinfo=UTC),
            NEW_YORK,
            date(2027, 3, 13),
        ),  # 23:30 EST, the night of the change
        (datetime(2027, 3, 15, 3, 30, tzinfo=UTC), NEW_YORK, date(2027, 3, 14)),  # 23:30 EDT
        (datetime(2027, 10, 30, 23, 30, tzinfo=UTC), LONDON, date(2027, 10, 31)),  # 00:30 BST
        (datetime(2027, 10, 31, 23, 30, tzinfo=UTC), LONDON, date(2027, 10, 31)),  # 23:30 GMT
        (datetime(2027, 12, 31, 23, 30, tzinfo=UTC), "Europe/Paris", date(2028, 1, 1)),
    ],
    ids=["ny-before-dst", "ny-after-dst", "london-bst", "london-gmt", "paris-new-year"],
)
def test_the_day_shown_is_the_firms_local_day_not_utcs(ended_at: datetime, zone: str, local_day: date):
    revoked = connection().with_status(ConnectionStatus.REVOKED, ended_at)
    assert revoked.consent_ended_on(ended_at + timedelta(days=1), zone) == local_day


@pytest.mark.calendar
def test_a_consent_revoked_at_a_hard_moment_ended_on_the_firms_day_of_that_moment():
    at, zone = clock_start(), demo_firm_zone()
    linked = connection(status_changed_at=at - timedelta(days=1), expires_at=at + timedelta(days=80))
    revoked = linked.with_status(ConnectionStatus.REVOKED, at)
    assert revoked.consent_ended_on(at, zone) == day_of(at, zone)
    lapsed = connection(expires_at=at)
    assert lapsed.consent_ended_on(at, zone) == day_of(at, zone)
    assert lapsed.consent_ended_on(at - timedelta(microseconds=1), zone) is None


# the views, on the in-memory ports ----------------------------------------------------------------
def account(
    account_id: str, connection_id: str, status=AccountStatus.ACCEPTED, firm_id=FIRM
) -> SharedAccount:
    return SharedAccount(
        firm_id, CUSTOMER, account_id, connection_id, "Bank", "•••• 0001", account_id, "GBP",
        Decimal("10.00"), NOW, status=status, provider_account_id=f"p-{account_id}",
    )  # fmt: skip


def line(account_id: str, n: int) -> BankTransaction:
    return BankTransaction(
        FIRM, CUSTOMER, account_id, f"tx-{account_id}-{n}", date(2027, 3, n), Decimal("-1.00"), "GBP", "x"
    )


def world(zone: str = NEW_YORK, *connections: Connection) -> tuple[ConnectionFakes, FakeClock]:
    fakes = ConnectionFakes()
    for firm_id, name in ((FIRM, "History & Co"), (OTHER_FIRM, "Other Practice")):
        fakes.identities.firms[firm_id] = Firm(firm_id, name, zone if firm_id == FIRM else LONDON)
        invitation = Invitation("hash", NOW, NOW, status=InvitationStatus.ACCEPTED)
        fakes.customers.rows[(firm_id, CUSTOMER)] = Customer(
            firm_id, CUSTOMER, "Jane Doe", JANE.email, "owner-sub", NOW, invitation, user_id=JANE.user_id
        )
        fakes.identities.links[(JANE.user_id, firm_id, CUSTOMER)] = CustomerLink(firm_id, CUSTOMER)
    for made in connections:
        fakes.connections.rows[ConnectionAddress(made.firm_id, made.customer_id, made.connection_id)] = made
    return fakes, FakeClock(NOW)


# Revoked at 02:30 UTC: still the previous day in New York, where the firm is.
REVOKED_AT = datetime(2027, 3, 18, 2, 30, tzinfo=UTC)
NY_DAY = date(2027, 3, 17)


def revoked_and_live(firm_id: str = FIRM) -> tuple[Connection, Connection]:
    revoked = connection(connection_id="conn-old", firm_id=firm_id).with_status(
        ConnectionStatus.REVOKED, REVOKED_AT
    )
    return revoked, connection(connection_id="conn-new", firm_id=firm_id)


def test_the_firm_sees_which_connections_are_historical_in_its_own_calendar():
    fakes, clock = world(NEW_YORK, *revoked_and_live())
    identities = Counted(fakes.identities)
    ports = replace(fakes.ports(clock), identities=identities)

    found = consent_history.customer_connections(ports, ADMIN, CUSTOMER)

    assert [c.connection_id for c in found.rows] == ["conn-new", "conn-old"]
    assert found.ended_on == {"conn-old": NY_DAY}  # not 18 March, UTC's day
    assert identities.calls == {"get_firm": 1}  # the firm's zone, once, because a consent ended
    fakes.connections.rows.pop(ConnectionAddress(FIRM, CUSTOMER, "conn-old"))
    identities.calls.clear()
    assert consent_history.customer_connections(ports, ADMIN, CUSTOMER).ended_on == {}
    assert identities.calls == {}  # nothing ended: no read of the firm


def test_accounts_are_historical_when_their_connection_is_read_once_for_the_whole_list():
    fakes, clock = world(NEW_YORK, *revoked_and_live())
    for n, feeding in enumerate(["conn-old", "conn-old", "conn-new", "conn-old"]):
        fakes.accounts.add(
            account(f"acc-{n}", feeding, AccountStatus.NEW if n == 3 else AccountStatus.ACCEPTED)
        )
    fakes.accounts.add(account("acc-declined", "conn-old", AccountStatus.DECLINED))
    connections = Counted(fakes.connections)
    ports = replace(fakes.ports(clock), connections=connections)

    found = consent_history.customer_accounts(ports, ADMIN, CUSTOMER)

    shown = {a.account_id: found.ended_on.get(a.connection_id) for a in found.rows}
    assert shown == {"acc-0": NY_DAY, "acc-1": NY_DAY, "acc-2": None, "acc-3": NY_DAY}
    assert connections.calls == {"list_for_customer": 1}  # one Query for four accounts, no read per row


def test_transactions_of_a_historical_account_stay_readable_and_say_so():
    fakes, clock = world(NEW_YORK, *revoked_and_live())
    fakes.accounts.add(account("acc-old", "conn-old"))
    fakes.accounts.add(account("acc-new", "conn-new"))
    fakes.accounts.write_transactions(
        FIRM, CUSTOMER, [line("acc-old", 1), line("acc-new", 2), line("acc-old", 3)]
    )
    page_of = dict(account_id=None, date_from=None, date_to=None, cursor=None, limit=50)
    connections = Counted(fakes.connections)
    ports = replace(fakes.ports(clock), connections=connections)

    page = consent_history.customer_transactions(ports, ADMIN, CUSTOMER, **page_of)

    assert [(t.transaction_key, page.ended_on.get(t.account_id)) for t in page.transactions] == [
        ("tx-acc-old-3", NY_DAY),
        ("tx-acc-new-2", None),
        ("tx-acc-old-1", NY_DAY),
    ]
    assert connections.calls == {"list_for_customer": 1}
    only_old = consent_history.customer_transactions(
        ports, ADMIN, CUSTOMER, **(page_of | {"account_id": "acc-old"})
    )
    assert [t.transaction_key for t in only_old.transactions] == ["tx-acc-old-3", "tx-acc-old-1"]
    connections.calls.clear()
    empty = consent_history.customer_transactions(
        ports, ADMIN, CUSTOMER, **(page_of | {"date_from": date(2028, 1, 1)})
    )
    assert (empty.transactions, empty.ended_on, connections.calls) == ([], {}, {})  # no lines: nothing read


def test_an_adviser_not_assigned_to_the_customer_gets_the_404_of_a_customer_that_does_not_exist():
    fakes, clock = world(NEW_YORK, *revoked_and_live())
    fakes.accounts.add(account("acc-old", "conn-old"))
    ports = fakes.ports(clock)
    page_of = dict(account_id=None, date_from=None, date_to=None, cursor=None, limit=50)
    with pytest.raises(NotFound):
        consent_history.customer_accounts(ports, ADVISER, CUSTOMER)
    with pytest.raises(NotFound):
        consent_history.customer_connections(ports, ADVISER, CUSTOMER)
    with pytest.raises(NotFound):
        consent_history.customer_transactions(ports, ADVISER, CUSTOMER, **page_of)


def test_the_customer_sees_each_firms_historical_data_in_that_firms_calendar():
    """Jane is a customer of a New York firm and of a London one; the same instant is the 17th in
    one and the 18th in the other."""
    ny_revoked, ny_live = revoked_and_live(FIRM)
    london = connection(connection_id="conn-london", firm_id=OTHER_FIRM)
    fakes, clock = world(
        NEW_YORK, ny_revoked, ny_live, london.with_status(ConnectionStatus.REVOKED, REVOKED_AT)
    )
    fakes.accounts.add(account("acc-old", "conn-old"))
    fakes.accounts.add(account("acc-old", "conn-london", firm_id=OTHER_FIRM))
    fakes.accounts.add(account("acc-new", "conn-new"))
    ports = fakes.ports(clock)
    london_day = day_of(REVOKED_AT, LONDON)
    assert london_day == date(2027, 3, 18) != NY_DAY

    accounts, _ = my_data.my_accounts(ports, JANE, cursor=None, limit=10)
    assert {
        (f.firm.firm_id, a.account_id, f.ended_on.get(a.connection_id)) for f in accounts for a in f.accounts
    } == {(FIRM, "acc-new", None), (FIRM, "acc-old", NY_DAY), (OTHER_FIRM, "acc-old", london_day)}
    connections, _ = my_data.my_connections_by_firm(ports, JANE, cursor=None, limit=10)
    by_firm = {f.firm.firm_id: f.ended_on for f in connections}
    assert by_firm == {FIRM: {"conn-old": NY_DAY}, OTHER_FIRM: {"conn-london": london_day}}
    identities = Counted(fakes.identities)
    listed = my_data.my_connections_listed(replace(ports, identities=identities), JANE)  # GET /connections
    assert len(listed.rows) == 3 and listed.ended_on == {"conn-old": NY_DAY, "conn-london": london_day}
    assert identities.calls == {"list_customer_links": 1, "get_firms": 1}  # both firms' zones in one read


# imports stop: the daily import and a refresh do not touch a historical connection --------------
@pytest.mark.parametrize("ended", sorted(CONSENT_ENDED), ids=str)
def test_an_import_job_for_a_historical_connection_reads_nothing_and_writes_nothing(ended):
    """A job queued before the consent ended (the daily run's, or a person's) meets a connection
    that is no longer importable: no request to the provider, no line written or removed, and the
    connection is left as it was."""
    fakes = ImportFakes()
    fakes.identities.firms[FIRM] = Firm(FIRM, "History & Co", NEW_YORK)
    historical = connection().with_status(ended, REVOKED_AT)
    fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, historical.connection_id)] = historical
    fakes.accounts.add(account("acc-old", historical.connection_id))
    fakes.accounts.write_transactions(FIRM, CUSTOMER, [line("acc-old", 1)])
    before = dict(fakes.accounts.lines)

    class NoProvider:
        def __getattr__(self, name: str):
            raise AssertionError(f"the provider was asked ({name})")

    for reason in ImportReason:
        job = ImportJob(FIRM, CUSTOMER, historical.connection_id, reason)
        report = import_connection(fakes.ports(NoProvider(), lambda: NOW), job)
        assert report.outcome is Outcome.NOT_IMPORTABLE
    assert fakes.accounts.lines == before and fakes.accounts.batch_writes == 1  # only the set-up's
    assert fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, "conn-1")] == historical
    assert fakes.queue.sent == [] and fakes.connections.saves == 0


class ConsentAsked:
    """The aggregator port as a refresh uses it: the consent's state, counted."""

    def __init__(self, state: ConsentState) -> None:
        self.state, self.asked = state, 0

    def consent_state(self, credential: str) -> ConsentOutcome:
        self.asked += 1
        return ConsentOutcome(state=self.state)


def test_refreshing_a_revoked_connection_is_a_conflict_that_asks_and_queues_nothing():
    revoked, _ = revoked_and_live()
    fakes, clock = world(NEW_YORK, revoked)
    fakes.provider = ConsentAsked(ConsentState.LINKED)
    for caller in (JANE, ADMIN):
        with pytest.raises(Conflict) as refused:
            refresh(fakes.ports(clock), caller, "conn-old")
        assert refused.value.code == "connection_revoked"
    assert fakes.provider.asked == 0 and fakes.imports.sent == []
    assert consent_history.customer_connections(fakes.ports(clock), ADMIN, CUSTOMER).ended_on == {
        "conn-old": NY_DAY
    }


def test_refreshing_an_expired_connection_checks_the_consent_queues_no_import_and_keeps_its_day():
    expired = connection(connection_id="conn-old").with_status(ConnectionStatus.EXPIRED, REVOKED_AT)
    fakes, clock = world(NEW_YORK, expired)
    fakes.provider = ConsentAsked(ConsentState.EXPIRED)

    done = refresh(fakes.ports(clock), JANE, "conn-old")

    assert done.import_state is ImportState.NOT_QUEUED and fakes.imports.sent == []
    assert done.connection.consent_ended(NOW) == REVOKED_AT  # checked again today, ended then
    assert consent_history.customer_connections(fakes.ports(clock), ADMIN, CUSTOMER).ended_on == {
        "conn-old": NY_DAY
    }
    # the bank says the consent is valid again (renewed there): the data is live, imports resume
    fakes.provider = ConsentAsked(ConsentState.LINKED)
    renewed = refresh(fakes.ports(clock), JANE, "conn-old")
    assert renewed.import_state is ImportState.QUEUED and renewed.connection.consent_ended(NOW) is None
