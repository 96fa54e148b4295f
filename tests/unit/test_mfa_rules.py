"""Staff sign-in's second factor (R-ID-4, issue 17 item 6) on in-memory ports: confirming the pool's
TOTP records it once, with an audit event in each firm the person works for, in one transaction; the
pool decides, never the request; `/me` tells the app what to ask for. That staff routes refuse
without it is tested in tests/unit/test_auth.py and, over every route, tests/reliability/test_staff_mfa.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from shared.domain.identity import CustomerLink, Firm, Principal, StaffMembership, StaffRole
from shared.domain.mfa import MfaEnrolment
from shared.services.me import describe_caller
from shared.services.mfa import MfaPorts, confirm_mfa
from tests.conftest import clock_start
from tests.fakes import FakeAudit, FakeDirectory, FakeIdentities, refused

pytestmark = pytest.mark.fakes

ALPHA, BETA, GAMMA = "01JALPHA000000000000000000", "01JBETA0000000000000000000", "01JGAMMA000000000000000000"
SAM = Principal("sam-sub", "sam@firm.example")


@dataclass
class World:
    identities: FakeIdentities = field(default_factory=FakeIdentities)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    audit: FakeAudit = field(default_factory=FakeAudit)
    at: datetime = field(default_factory=clock_start)

    def __post_init__(self) -> None:
        for firm_id in (ALPHA, BETA, GAMMA):
            self.identities.firms[firm_id] = Firm(firm_id, f"Firm {firm_id[3:8]}", "Europe/London")
        self.directory.add(SAM.user_id, SAM.email)

    def staff_of(self, *firm_ids: str, inactive: tuple[str, ...] = ()) -> None:
        for firm_id in (*firm_ids, *inactive):
            membership = StaffMembership(firm_id, SAM.user_id, StaffRole.ADVISER, firm_id not in inactive)
            self.identities.put_membership(membership)

    def confirm(self) -> MfaEnrolment:
        self.at += timedelta(minutes=1)
        return confirm_mfa(MfaPorts(self.identities, self.directory, self.audit, lambda: self.at), SAM)

    def events(self) -> list[tuple[str, str, str, dict]]:
        return sorted((e.firm_id, e.action, e.actor_id, e.details) for e in self.audit.events.values())


@pytest.fixture
def world() -> World:
    return World()


def test_confirming_records_the_pools_totp_with_an_event_in_every_firm_the_person_works_for(world):
    world.staff_of(ALPHA, BETA, inactive=(GAMMA,))
    world.directory.totp.add(SAM.user_id)

    enrolment = world.confirm()

    assert enrolment == MfaEnrolment(SAM.user_id, world.at, "totp")
    assert world.identities.get_mfa_enrolment(SAM.user_id) == enrolment
    details = {"method": "totp"}
    assert world.events() == [  # a deactivated membership's firm hears nothing of it
        (ALPHA, "staff.mfa_enrolled", SAM.user_id, details),
        (BETA, "staff.mfa_enrolled", SAM.user_id, details),
    ]
    assert {e.occurred_at for e in world.audit.events.values()} == {enrolment.enrolled_at}


def test_confirming_again_changes_nothing_and_asks_the_pool_nothing(world):
    world.staff_of(ALPHA)
    world.directory.totp.add(SAM.user_id)
    first = world.confirm()
    calls, events = len(world.directory.calls), world.events()

    assert world.confirm() == first
    assert len(world.directory.calls) == calls and world.events() == events


def test_without_totp_enabled_and_preferred_in_the_pool_nothing_is_recorded(world):
    world.staff_of(ALPHA)
    assert refused(world.confirm) == (409, "mfa_not_set_up")
    assert world.identities.get_mfa_enrolment(SAM.user_id) is None and world.audit.events == {}
    assert world.directory.calls == [("totp_enabled", SAM.user_id)]  # the pool decides, not the request


@pytest.mark.parametrize("inactive", [(), (ALPHA,)], ids=["customer", "deactivated"])
def test_only_active_staff_confirm_and_the_pool_is_not_asked(world, inactive):
    world.staff_of(inactive=inactive)
    world.identities.links[(SAM.user_id, ALPHA, "cust-1")] = CustomerLink(ALPHA, "cust-1")
    world.directory.totp.add(SAM.user_id)  # a customer may well have an authenticator: not our business
    assert refused(world.confirm) == (403, "staff_only")
    assert world.directory.calls == [] and world.identities.mfa == {} and world.audit.events == {}


def test_a_confirmation_that_lost_a_race_answers_with_the_record_that_won(world):
    world.staff_of(ALPHA)
    world.directory.totp.add(SAM.user_id)
    winner = MfaEnrolment(SAM.user_id, world.at)
    reads = iter([None, winner])  # nothing when it looked, the other request's record when it wrote
    world.identities.get_mfa_enrolment = lambda _user_id: next(reads)  # type: ignore[method-assign]
    world.identities.mfa[SAM.user_id] = winner

    assert world.confirm() == winner
    assert world.audit.events == {}  # its events went with its cancelled transaction


def test_me_tells_staff_whether_their_second_factor_is_on_record_and_customers_that_none_is_needed(world):
    world.staff_of(ALPHA)
    staff = describe_caller(SAM, world.identities)
    assert (staff.mfa_required, staff.mfa_enrolled) == (True, False)
    world.identities.enrol(SAM.user_id)
    assert describe_caller(SAM, world.identities).mfa_enrolled is True
    customer = Principal("cust-sub", "c@example.org")
    world.identities.links[(customer.user_id, ALPHA, "cust-1")] = CustomerLink(ALPHA, "cust-1")
    described = describe_caller(customer, world.identities)
    assert (described.mfa_required, described.mfa_enrolled) == (False, False)
