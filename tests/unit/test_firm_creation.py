"""The operator creates a firm and invites its first admin (R-ID-2, issue 15), on in-memory ports
(tests/staff_invitation_fakes.py): the admin comes in through the staff kind of the one invitation
lifecycle, like any invitee; the operator's link works only while the firm has no active admin; an
admin who resends an invitation becomes its sender. The command itself runs on moto
(tests/integration/test_tools_firms.py) and end to end on the local system
(tests/integration/test_account_journeys.py)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import staff_context
from shared.domain.errors import UpstreamUnavailable
from shared.domain.identity import Firm, Principal, StaffMembership, StaffRole, UserProfile
from shared.domain.mfa import MfaRequired
from shared.services import firms
from shared.services import staff_invitations as staff
from shared.services.mfa import MfaPorts, confirm_mfa
from tests.conftest import clock_start
from tests.fakes import FakeClock, FakesWorld, refused
from tests.staff_invitation_fakes import StaffInvitationFakes

pytestmark = pytest.mark.fakes

PASSWORD = "Chosen-Passw0rd-42!"
DEAD_LINK = (404, "invitation_invalid")


@pytest.fixture
def world() -> FakesWorld:
    return FakesWorld(FakeClock(clock_start()), StaffInvitationFakes())


def create(world: FakesWorld, email: str = "Jane@Firm.Example", **given: Any) -> firms.CreatedFirm:
    arguments = {"name": " Example Advisory LLP ", "timezone": "Europe/Paris", "admin_name": "Jane Doe"}
    return firms.create_firm(world.later(), admin_email=email, **(arguments | given))


def link(world: FakesWorld, email: str) -> str:
    """The token of the newest link emailed to `email`."""
    return world.fakes.email.tokens(email)[-1]


def enrol_totp(world: FakesWorld, principal: Principal) -> None:
    """What a new staff member does before staff routes answer (R-ID-4): enrol an authenticator app
    with the pool, then confirm it (POST /me/mfa/confirm)."""
    if principal.user_id not in world.fakes.directory.users:  # signed in: they have a pool account
        world.fakes.directory.add(principal.user_id, principal.email)
    world.fakes.directory.totp.add(principal.user_id)
    ports = world.later()
    confirm_mfa(MfaPorts(ports.identities, ports.directory, ports.audit, ports.clock), principal)


def membership(world: FakesWorld, user_id: str, firm_id: str) -> StaffMembership | None:
    return world.fakes.identities.get_membership(user_id, firm_id)  # type: ignore[no-any-return]


def test_creating_a_firm_emails_its_first_admin_an_invitation_and_makes_no_account(world):
    created = create(world)
    firm, invitation = created.firm, created.invitation
    assert (firm.name, firm.timezone) == ("Example Advisory LLP", "Europe/Paris")
    assert world.fakes.identities.get_firm(firm.firm_id) == firm
    assert (invitation.email, invitation.name, invitation.role) == (
        "jane@firm.example",
        "Jane Doe",
        StaffRole.ADMIN,
    )
    assert invitation.invited_by == staff.OPERATOR
    [letter] = world.fakes.email.sent
    assert (
        letter.to == "jane@firm.example" and "Example Advisory LLP" in letter.text and "admin" in letter.text
    )
    assert world.fakes.directory.calls == []  # nobody gets an account before accepting
    assert world.fakes.identities.list_staff(firm.firm_id) == []
    assert [(e.action, e.actor_id, e.details) for e in world.fakes.audit.events.values()] == [
        ("firm.created", "operator", {}),
        ("staff.invitation_sent", "operator", {"role": "admin"}),
    ]


def test_the_first_admin_follows_the_link_chooses_a_password_and_is_the_firms_admin(world):
    firm = create(world).firm
    check = staff.accept_staff_invitation_with_new_account(
        world.later(), link(world, "jane@firm.example"), PASSWORD
    )
    assert (check.firm_name, check.role) == ("Example Advisory LLP", StaffRole.ADMIN)
    [user_id] = world.fakes.directory.created
    assert membership(world, user_id, firm.firm_id) == StaffMembership(firm.firm_id, user_id, StaffRole.ADMIN)
    jane = Principal(user_id, "jane@firm.example")
    with pytest.raises(MfaRequired):  # her sign-in has no second factor yet
        staff_context(jane, world.fakes.identities, firm.firm_id)
    enrol_totp(world, jane)
    admin = staff_context(jane, world.fakes.identities, firm.firm_id)
    assert admin.is_admin
    assert world.fakes.identities.get_profile(user_id) == UserProfile(
        user_id, "jane@firm.example", "Jane Doe"
    )
    # ... and invites the firm's staff from then on
    invited = staff.invite_staff(
        world.later(), admin, email="ben@firm.example", name="Ben", role=StaffRole.ADVISER
    )
    assert invited.invitation.invited_by == user_id and world.fakes.email.tokens("ben@firm.example")


def test_someone_with_an_account_already_signs_in_and_accepts(world):
    world.fakes.directory.add("jane-sub", "jane@firm.example")  # the admin of another firm, say
    firm = create(world).firm
    principal = Principal("jane-sub", "jane@firm.example")
    staff.accept_staff_invitation(world.later(), principal, link(world, "jane@firm.example"))
    assert membership(world, "jane-sub", firm.firm_id).is_active_admin  # type: ignore[union-attr]
    assert world.fakes.directory.created == []


def test_the_operators_link_dies_once_the_firm_has_an_active_admin(world):
    """Two addresses invited by the operator (the first was a typo, say): the first to accept is the
    admin; the other link is dead from then on, and the operator cannot invite again."""
    firm = create(world, "jane@firm.example").firm
    staff.invite_first_admin(world.later(), firm.firm_id, email="jane.doe@firm.example", name="Jane")
    typo, right = link(world, "jane@firm.example"), link(world, "jane.doe@firm.example")
    staff.accept_staff_invitation_with_new_account(world.later(), right, PASSWORD)
    assert (
        refused(lambda: staff.accept_staff_invitation_with_new_account(world.later(), typo, PASSWORD))
        == DEAD_LINK
    )
    assert len(world.fakes.directory.users) == 1  # the account made for the dead link was removed
    assert len(world.fakes.identities.list_staff(firm.firm_id)) == 1
    again = lambda: staff.invite_first_admin(world.later(), firm.firm_id, email="x@firm.example", name="X")  # noqa: E731
    assert refused(again) == (409, "firm_has_admin")
    assert world.fakes.email.tokens("x@firm.example") == []


def test_inviting_the_same_admin_again_sends_a_fresh_link_and_kills_the_old_one(world):
    firm = create(world).firm
    old = link(world, "jane@firm.example")
    again = staff.invite_first_admin(world.later(), firm.firm_id, email="JANE@firm.example", name="Jane D")
    assert not again.created and again.invitation.name == "Jane D"
    new = link(world, "jane@firm.example")
    assert new != old
    assert refused(lambda: staff.verify_staff_invitation(world.later(), old)) == DEAD_LINK
    assert staff.verify_staff_invitation(world.later(), new).role is StaffRole.ADMIN


def test_an_email_that_fails_leaves_the_firm_for_the_operator_to_invite_again(world):
    world.fakes.email.failing = True
    with pytest.raises(UpstreamUnavailable) as failed:
        create(world)
    [firm] = world.fakes.identities.list_firms()
    assert failed.value.code == "email_not_sent" and f"--firm-id {firm.firm_id}" in failed.value.message
    world.fakes.email.failing = False
    staff.invite_first_admin(world.later(), firm.firm_id, email="jane@firm.example", name="Jane")
    staff.accept_staff_invitation_with_new_account(world.later(), link(world, "jane@firm.example"), PASSWORD)
    [member] = world.fakes.identities.list_staff(firm.firm_id)
    assert member.is_active_admin


def test_the_operator_invites_only_to_a_firm_that_exists(world):
    assert refused(
        lambda: staff.invite_first_admin(world.later(), "01JNOFIRM", email="a@b.example", name="A")
    ) == (
        404,
        "firm_not_found",
    )
    assert world.fakes.email.sent == []


@pytest.mark.parametrize(
    ("name", "timezone", "email", "code"),
    [
        ("", "Europe/London", "a@b.example", "invalid_name"),
        ("x" * 201, "Europe/London", "a@b.example", "invalid_name"),
        ("Firm", "Mars/Olympus", "a@b.example", "invalid_timezone"),
        ("Firm", "Europe/London", "not-an-email", "invalid_email"),
    ],
)
def test_a_firm_needs_a_name_a_time_zone_and_an_admin_email(world, name, timezone, email, code):
    assert refused(lambda: create(world, email, name=name, timezone=timezone)) == (400, code)
    assert world.fakes.identities.list_firms() == [] and world.fakes.email.sent == []
    assert world.fakes.audit.events == {}


def test_an_admin_who_resends_an_invitation_becomes_its_sender(world):
    """The operator invited two admins; Jane accepted, so the operator's link to Max is dead: Jane
    resends it, and Max comes in on her rights. Likewise an invitation of a departed admin."""
    firm = create(world, "jane@firm.example").firm
    pending = staff.invite_first_admin(
        world.later(), firm.firm_id, email="max@firm.example", name="Max"
    ).invitation
    staff.accept_staff_invitation(
        world.later(), Principal("jane-sub", "jane@firm.example"), link(world, "jane@firm.example")
    )
    enrol_totp(world, Principal("jane-sub", "jane@firm.example"))
    jane = staff_context(Principal("jane-sub", "jane@firm.example"), world.fakes.identities, firm.firm_id)
    dead = link(world, "max@firm.example")
    assert (
        refused(
            lambda: staff.accept_staff_invitation(
                world.later(), Principal("max-sub", "max@firm.example"), dead
            )
        )
        == DEAD_LINK
    )
    resent = staff.resend_staff_invitation(world.later(), jane, pending.invitation_id)
    assert resent.invited_by == "jane-sub"
    staff.accept_staff_invitation(
        world.later(), Principal("max-sub", "max@firm.example"), link(world, "max@firm.example")
    )
    assert membership(world, "max-sub", firm.firm_id).is_active_admin  # type: ignore[union-attr]


def test_listing_firms_names_their_admins(world):
    world.fakes.identities.firms["01JB"] = Firm("01JB", "beta LLP", "Europe/London")
    firm = create(world, "jane@firm.example", name="Alpha").firm
    staff.accept_staff_invitation(
        world.later(), Principal("jane-sub", "jane@firm.example"), link(world, "jane@firm.example")
    )
    listed = [(f.name, [a.email for a in admins]) for f, admins in firms.list_firms(world.fakes.identities)]
    assert listed == [("Alpha", ["jane@firm.example"]), ("beta LLP", [])]
    assert firm.name == "Alpha"
