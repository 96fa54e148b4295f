"""Staff's second factor cannot be switched off behind our back (R-ID-4, issue 17), on in-memory ports.

`check_at_token_issue` runs before every token the pool issues (the pre token generation trigger):
a record of ours whose pool no longer asks for the TOTP code lapses, with a `staff.mfa_lapsed` event in
each firm of the person, in one transaction; a pool that cannot say fails closed; people without a record
(customers) cost one read and no call to the pool. `reset_member_mfa` is a firm admin's reset of a member's
lost authenticator. The trigger's handler on moto: tests/integration/test_sign_in_check.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from shared.auth import staff_context
from shared.domain.identity import CustomerLink, Principal, StaffContext, StaffMembership, StaffRole
from shared.domain.mfa import MfaEnrolment, SignInCheck
from shared.ports.firm_bound import bind_ports
from shared.services.mfa import MfaPorts, check_at_token_issue, reset_member_mfa
from shared.services.staff import StaffPorts
from tests.fakes import refused
from tests.unit.test_mfa_rules import ALPHA, BETA, GAMMA, SAM
from tests.unit.test_mfa_rules import World as ConfirmationWorld

pytestmark = pytest.mark.fakes

ADA = Principal("ada-sub", "ada@firm.example")  # an admin of ALPHA
ADVISER = Principal("abe-sub", "abe@firm.example")  # an adviser of ALPHA


@dataclass
class World(ConfirmationWorld):
    """The confirmation's world (Sam, three firms, the pool), with an admin and an adviser of ALPHA."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for person in (ADA, ADVISER):
            self.directory.add(person.user_id, person.email)
        self.member(ADA, ALPHA, StaffRole.ADMIN)
        self.member(ADVISER, ALPHA, StaffRole.ADVISER)
        self.identities.enrol(ADA.user_id, ADVISER.user_id)

    def member(
        self, person: Principal, firm_id: str, role: StaffRole = StaffRole.ADVISER, active: bool = True
    ):
        self.identities.put_membership(StaffMembership(firm_id, person.user_id, role, active))

    def enrolled(self, person: Principal = SAM, *, in_pool: bool = True) -> MfaEnrolment:
        self.identities.enrol(person.user_id, at=self.at - timedelta(days=30))
        if in_pool:
            self.directory.totp.add(person.user_id)
        return self.identities.mfa[person.user_id]

    def check(self, person: Principal = SAM) -> SignInCheck:
        self.at += timedelta(minutes=1)
        ports = MfaPorts(self.identities, self.directory, self.audit, lambda: self.at)
        return check_at_token_issue(ports, person.user_id)

    def reset(self, by: Principal, user_id: str, firm_id: str = ALPHA) -> bool:
        self.at += timedelta(minutes=1)
        staff = staff_context(by, self.identities, firm_id)
        ports = StaffPorts(self.identities, self.directory, self.audit, clock=lambda: self.at)
        return reset_member_mfa(bind_ports(ports, firm_id), staff, user_id)

    def events(self) -> list[tuple[str, str, str, str, dict]]:
        return sorted(
            (e.firm_id, e.action, e.actor_id, e.target_id, e.details) for e in self.audit.events.values()
        )


@pytest.fixture
def world() -> World:
    return World()


# at each token issue -------------------------------------------------------------------------
def test_totp_switched_off_in_the_pool_lapses_the_record_with_an_event_in_each_of_their_firms(world):
    world.member(SAM, ALPHA)
    world.member(SAM, BETA)
    world.member(SAM, GAMMA, active=False)
    world.enrolled(in_pool=False)  # they switched it off with their own access token

    assert world.check() is SignInCheck.LAPSED

    assert world.identities.get_mfa_enrolment(SAM.user_id) is None
    lapsed = {"method": "totp", "reason": "totp_off"}
    assert world.events() == [  # a deactivated membership's firm hears nothing of it
        (ALPHA, "staff.mfa_lapsed", SAM.user_id, SAM.user_id, lapsed),
        (BETA, "staff.mfa_lapsed", SAM.user_id, SAM.user_id, lapsed),
    ]
    assert {e.occurred_at for e in world.audit.events.values()} == {world.at}
    assert refused(lambda: staff_context(SAM, world.identities, ALPHA)) == (403, "mfa_required")


def test_totp_still_on_in_the_pool_writes_nothing(world):
    world.member(SAM, ALPHA)
    enrolment = world.enrolled()

    assert world.check() is SignInCheck.KEPT

    assert world.identities.mfa[SAM.user_id] == enrolment and world.audit.events == {}
    assert world.directory.calls == [("totp_enabled", SAM.user_id)]  # one question to the pool
    assert staff_context(SAM, world.identities, ALPHA).firm_id == ALPHA


@pytest.mark.parametrize("who", ["customer", "staff_not_enrolled"])
def test_who_has_no_record_costs_no_call_to_the_pool_and_no_write(world, who):
    if who == "customer":
        world.identities.links[(SAM.user_id, ALPHA, "cust-1")] = CustomerLink(ALPHA, "cust-1")
        world.directory.totp.add(SAM.user_id)  # a customer may have an authenticator: not our business
    else:
        world.member(SAM, ALPHA)

    assert world.check() is SignInCheck.NOT_ENROLLED
    assert world.directory.calls == [] and world.identities.mfa.keys() == {ADA.user_id, ADVISER.user_id}
    assert world.audit.events == {}


def test_a_pool_that_cannot_say_fails_closed_for_staff(world):
    world.member(SAM, ALPHA)
    world.enrolled()
    world.directory.failing = True

    assert world.check() is SignInCheck.LAPSED

    assert world.identities.get_mfa_enrolment(SAM.user_id) is None
    assert world.events() == [
        (ALPHA, "staff.mfa_lapsed", SAM.user_id, SAM.user_id, {"method": "totp", "reason": "pool_unreadable"})
    ]


def test_a_record_confirmed_again_meanwhile_is_left_alone(world):
    world.member(SAM, ALPHA)
    earlier = world.enrolled(in_pool=False)
    confirmed_again = MfaEnrolment(SAM.user_id, world.at)
    reads = iter([earlier])  # the check read the old record; a confirm replaced it before the write
    world.identities.get_mfa_enrolment = lambda _user_id: next(reads)  # type: ignore[method-assign]
    world.identities.mfa[SAM.user_id] = confirmed_again

    assert world.check() is SignInCheck.CHANGED_MEANWHILE
    assert world.identities.mfa[SAM.user_id] == confirmed_again and world.audit.events == {}


def test_a_second_check_after_a_lapse_asks_the_pool_nothing(world):
    world.member(SAM, ALPHA)
    world.enrolled(in_pool=False)
    assert world.check() is SignInCheck.LAPSED
    calls, events = len(world.directory.calls), world.events()

    assert world.check() is SignInCheck.NOT_ENROLLED
    assert len(world.directory.calls) == calls and world.events() == events


# an admin's reset of a lost authenticator -------------------------------------------------------
def test_an_admin_resets_a_members_authenticator_audited_in_their_firm_and_the_pool_signs_them_out(world):
    world.member(SAM, ALPHA)
    world.member(SAM, BETA)
    world.enrolled()

    assert world.reset(ADA, SAM.user_id) is True

    assert world.identities.get_mfa_enrolment(SAM.user_id) is None
    assert SAM.user_id not in world.directory.totp
    assert ("reset_totp", SAM.user_id) in world.directory.calls
    assert world.events() == [(ALPHA, "staff.mfa_reset", ADA.user_id, SAM.user_id, {"method": "totp"})]
    assert refused(lambda: staff_context(SAM, world.identities, BETA)) == (403, "mfa_required")


def test_a_second_reset_resets_the_pool_again_and_writes_nothing(world):
    world.member(SAM, ALPHA)
    world.enrolled()
    world.reset(ADA, SAM.user_id)
    events = world.events()

    assert world.reset(ADA, SAM.user_id) is False
    assert world.events() == events
    assert world.directory.calls.count(("reset_totp", SAM.user_id)) == 2


@pytest.mark.parametrize(
    ("target", "firm_of_target", "expected"),
    [
        ("other_firm", BETA, (404, "not_found")),
        ("deactivated", ALPHA, (404, "not_found")),
        ("unknown", None, (404, "not_found")),
        ("themselves", ALPHA, (409, "own_mfa_reset")),
    ],
)
def test_only_another_active_member_of_the_admins_firm_is_reset(world, target, firm_of_target, expected):
    user_id = ADA.user_id if target == "themselves" else SAM.user_id
    if firm_of_target and target != "themselves":
        world.member(SAM, firm_of_target, active=target != "deactivated")
        world.enrolled()
    before = dict(world.identities.mfa)

    assert refused(lambda: world.reset(ADA, user_id)) == expected
    assert world.identities.mfa == before and world.audit.events == {}
    assert not any(name == "reset_totp" for name, _ in world.directory.calls)


def test_an_adviser_may_not_reset_anyones_authenticator(world):
    world.member(SAM, ALPHA)
    world.enrolled()
    assert refused(lambda: world.reset(ADVISER, SAM.user_id)) == (403, "forbidden")
    assert SAM.user_id in world.identities.mfa and world.directory.calls == []


def test_staff_context_of_the_reset_is_what_the_route_gets(world):
    """The route resolves the admin with `staff_context` like every staff route: a sanity check that
    the world's admin is one (so the refusals above are about the rule, not the setup)."""
    assert staff_context(ADA, world.identities, ALPHA) == StaffContext(ADA, ALPHA, StaffRole.ADMIN)
