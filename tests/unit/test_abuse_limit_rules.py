"""Abuse limits on the in-memory ports (issue 17 item 7): the limits are spent before the email or the
provider call, all or none, and a refresh while an import is pending asks and queues nothing. The
DynamoDB counters, the callback and the routes are tested on moto (tests/integration/test_abuse_limits.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.aggregator import ConsentOutcome, ConsentState
from shared.domain.connections import IMPORT_PENDING_FOR, Connection, ConnectionStatus
from shared.domain.customers import email_fingerprint
from shared.domain.errors import DomainError
from shared.domain.identity import CustomerLink, Principal, StaffContext, StaffRole
from shared.domain.limits import (
    ACTIONS,
    DAY,
    LIMITS,
    Action,
    Charge,
    LimitReached,
    Subject,
    charges,
    combined,
)
from shared.ports.connections import ConnectionAddress
from shared.services import connections
from shared.services.connections import ImportState
from tests.fakes import ConnectionFakes, FakeClock
from tests.limit_fakes import FakeLimiter
from tests.unit.test_onboarding_rules import ADMIN, JANE, World, staff
from tests.unit.test_onboarding_rules import world as world  # the fixture

pytestmark = pytest.mark.fakes


def seconds_to_midnight(now: datetime) -> int:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return int((midnight - now).total_seconds())


def with_count(monkeypatch: pytest.MonkeyPatch, name: str, count: int) -> None:
    """The limit `name` at `count`, in every action that spends it."""
    for action, limits in list(ACTIONS.items()):
        changed = tuple(replace(limit, count=count) if limit.name == name else limit for limit in limits)
        monkeypatch.setitem(ACTIONS, action, changed)


# invitations ---------------------------------------------------------------------------------------
def test_an_address_gets_three_invitation_emails_a_day_then_a_429_that_says_when(world: World):
    customer = world.invite()
    world.invite(by=ADMIN)  # sent again: R-INV-3
    world.invite(by=ADMIN)
    assert len(world.fakes.email.to(JANE.email)) == 3
    stored = world.customer(customer)
    ports = world.later()
    with pytest.raises(LimitReached) as refused:
        connections_free_invite(ports)
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused.value.limit.name == "emails_per_address"
    assert refused.value.retry_after_seconds == seconds_to_midnight(ports.clock())
    assert len(world.fakes.email.to(JANE.email)) == 3  # nothing sent
    assert world.customer(customer) == stored  # nothing written: the link of the third email works
    world.clock.at += DAY  # the next UTC day
    world.invite()
    assert len(world.fakes.email.to(JANE.email)) == 4


def connections_free_invite(ports) -> None:
    from shared.services.customer_invitations import invite_customer

    invite_customer(ports, ADMIN, name="Jane Doe", email=JANE.email, message=None)


def test_the_address_is_counted_by_its_fingerprint_whatever_its_spelling(world: World):
    for spelling in (JANE.email, JANE.email.upper(), f"  {JANE.email} "):
        world.invite(email=spelling)
    with pytest.raises(LimitReached):
        world.invite(email=JANE.email.title())
    keys = {key for key in world.fakes.limits.counters if key[0] == "emails_per_address"}
    assert {subject for _, subject, _ in keys} == {email_fingerprint(JANE.email)}
    assert not any(JANE.email in subject for _, subject, _ in world.fakes.limits.counters)


def test_one_person_sending_to_many_addresses_meets_the_per_user_limit(world: World, monkeypatch):
    with_count(monkeypatch, "emails_per_user", 2)
    world.invite(email="a@example.org")
    world.invite(email="b@example.org")
    with pytest.raises(LimitReached) as refused:
        world.invite(email="c@example.org")
    assert refused.value.limit.name == "emails_per_user"
    assert not world.fakes.email.to("c@example.org")
    colleague = staff("someone-else")
    assert world.invite(by=colleague, email="c@example.org")  # another person: their own count


def test_a_firm_meets_its_own_limit_and_another_firm_is_not_counted_with_it(world: World, monkeypatch):
    with_count(monkeypatch, "emails_per_firm", 2)
    world.invite(by=staff("a"), email="a@example.org")
    world.invite(by=staff("b"), email="b@example.org")
    with pytest.raises(LimitReached) as refused:
        world.invite(by=staff("c"), email="c@example.org")
    assert refused.value.limit.name == "emails_per_firm"
    other_firm = staff("x", StaffRole.ADMIN, "01JFIRMONBOARDINGOTHER00000")
    world.invite(by=other_firm, email="c@example.org")
    assert len(world.fakes.email.to("c@example.org")) == 1


# the limiter's own rules ---------------------------------------------------------------------------
def test_a_spend_is_all_or_none_and_one_counter_per_limit_and_subject():
    now = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
    limiter = FakeLimiter()
    one = Charge(LIMITS["calls_per_connection"], "conn-1")
    limiter.spend([one] * 0 + [replace(one, amount=9)], now)
    user = Charge(LIMITS["calls_per_user"], "user-1")
    with pytest.raises(LimitReached) as refused:
        limiter.spend([user, replace(one, amount=2)], now)  # 9 + 2 > 10
    assert refused.value.limit.name == "calls_per_connection"
    assert limiter.spent(user, now) == 0 and limiter.spent(one, now) == 9
    merged = combined(
        charges(Action.CONNECTION_CALL, connection="c1", user="u", firm="f"),
        charges(Action.CONNECTION_CALL, connection="c2", user="u", firm="f"),
    )
    assert sorted((c.limit.name, c.subject_id, c.amount) for c in merged) == [
        ("calls_per_connection", "c1", 1),
        ("calls_per_connection", "c2", 1),
        ("calls_per_firm", "f", 2),
        ("calls_per_user", "u", 2),
    ]


def test_windows_are_fixed_and_the_retry_after_is_the_time_left_in_the_window():
    limit = LIMITS["calls_per_user"]
    at = datetime(2026, 6, 17, 9, 59, 30, tzinfo=UTC)
    assert limit.window_start(at) == datetime(2026, 6, 17, 9, tzinfo=UTC)
    assert LimitReached(limit, at).retry_after_seconds == 30
    assert LIMITS["emails_per_address"].subject is Subject.EMAIL
    assert all(limit.count > 0 for limit in LIMITS.values())
    assert {limit for limits in ACTIONS.values() for limit in limits} == set(LIMITS.values())


# connections ---------------------------------------------------------------------------------------
FIRM, CUSTOMER, USER = "firm-1", "customer-1", "user-1"
CUSTOMER_PERSON = Principal(USER, "jane@example.org")
STAFF = StaffContext(Principal("adviser-1", "adviser@firm.example"), FIRM, StaffRole.ADMIN)


class CountingProvider:
    """The aggregator port as far as a refresh goes: every call counted."""

    def __init__(self) -> None:
        self.calls = 0

    def consent_state(self, credential: str) -> ConsentOutcome:
        self.calls += 1
        return ConsentOutcome(state=ConsentState.LINKED, credential=credential)


def connection_world(now: datetime) -> tuple[ConnectionFakes, FakeClock, Connection]:
    fakes = ConnectionFakes(provider=CountingProvider())
    fakes.identities.links[(USER, FIRM, CUSTOMER)] = CustomerLink(FIRM, CUSTOMER)
    linked = Connection(
        FIRM, CUSTOMER, "conn-1", USER, "gocardless", "BANK", "Bank", ConnectionStatus.LINKED,
        now - DAY, credential="requisition", status_changed_at=now - DAY, version=1,
    )  # fmt: skip
    fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, "conn-1")] = linked
    fakes.customers.rows[(FIRM, CUSTOMER)] = customer_record(now)
    return fakes, FakeClock(now), linked


def finished(fakes: ConnectionFakes, clock: FakeClock) -> None:
    """The import the connection waits for reported its outcome (a second later, a next request)."""
    fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, "conn-1")] = replace(
        stored(fakes), last_import_at=clock.at
    )
    clock.at += timedelta(seconds=1)


def stored(fakes: ConnectionFakes) -> Connection:
    return fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, "conn-1")]


def test_a_refresh_while_its_import_is_pending_asks_and_queues_nothing_and_spends_nothing():
    now = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
    fakes, clock, _ = connection_world(now)
    ports = fakes.ports(clock)
    first = connections.refresh(ports, CUSTOMER_PERSON, "conn-1")
    assert first.import_state is ImportState.QUEUED and len(fakes.imports.sent) == 1
    assert fakes.provider.calls == 1 and fakes.limits.spends == 1
    for _ in range(29):  # the 30 refreshes of one connection
        clock.at += timedelta(seconds=10)
        again = connections.refresh(ports, CUSTOMER_PERSON, "conn-1")
        assert again.import_state is ImportState.ALREADY_QUEUED
    assert (len(fakes.imports.sent), fakes.provider.calls, fakes.limits.spends) == (1, 1, 1)
    # the staff's refresh and "import now" see the same pending import
    assert connections.refresh(ports, STAFF, "conn-1").import_state is ImportState.ALREADY_QUEUED
    # the import finished: the next refresh queues again
    finished(fakes, clock)
    assert connections.refresh(ports, CUSTOMER_PERSON, "conn-1").import_state is ImportState.QUEUED
    assert len(fakes.imports.sent) == 2


def test_an_import_that_never_reported_stops_blocking_after_a_while():
    now = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
    fakes, clock, _ = connection_world(now)
    ports = fakes.ports(clock)
    connections.refresh(ports, CUSTOMER_PERSON, "conn-1")
    clock.at += IMPORT_PENDING_FOR
    assert connections.refresh(ports, CUSTOMER_PERSON, "conn-1").import_state is ImportState.QUEUED


def test_refreshes_beyond_the_connections_limit_are_refused_before_the_provider_is_asked(monkeypatch):
    with_count(monkeypatch, "calls_per_connection", 2)
    now = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
    fakes, clock, _ = connection_world(now)
    ports = fakes.ports(clock)
    outcomes = []
    for _ in range(4):
        finished(fakes, clock)  # each time the last import has finished
        try:
            outcomes.append(connections.refresh(ports, CUSTOMER_PERSON, "conn-1").import_state.value)
        except DomainError as error:
            outcomes.append(error.code)
            assert error.status == 429 and isinstance(error, LimitReached)
    assert outcomes == ["queued", "queued", "rate_limited", "rate_limited"]
    assert fakes.provider.calls == 2 and len(fakes.imports.sent) == 2


def test_import_now_queues_only_connections_without_a_pending_import_and_spends_for_those():
    now = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
    fakes, clock, linked = connection_world(now)
    second = replace(linked, connection_id="conn-2")
    fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, "conn-2")] = second
    ports = fakes.ports(clock)
    connections.refresh(ports, CUSTOMER_PERSON, "conn-1")  # conn-1's import is pending
    done = connections.import_now(ports, STAFF, CUSTOMER)
    assert (done.queued, done.already_queued) == (1, 1)
    again = connections.import_now(ports, STAFF, CUSTOMER)
    assert (again.queued, again.already_queued) == (0, 2)
    assert len(fakes.imports.sent) == 2  # the refresh's and conn-2's
    spent = Charge(LIMITS["calls_per_user"], STAFF.principal.user_id)
    assert fakes.limits.spent(spent, clock.at) == 1


def customer_record(now: datetime):
    from shared.domain.customers import Customer, Invitation, InvitationStatus

    invitation = Invitation("hash", now, now, status=InvitationStatus.ACCEPTED)
    return Customer(
        FIRM, CUSTOMER, "Jane Doe", "jane@example.org", "adviser-1", now, invitation, user_id=USER
    )
