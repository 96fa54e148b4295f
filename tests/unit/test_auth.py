from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.auth import FIRM_POLICY, FirmAction, authorize, principal_from_claims, staff_context
from shared.domain.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated
from shared.domain.identity import Principal, StaffContext, StaffMembership, StaffRole
from shared.domain.mfa import MfaEnrolment, MfaRequired

ALICE = Principal(user_id="alice", email="alice@example.com")


class Memberships:
    """Memberships, and the MFA enrolments of our records: everyone enrolled unless `unenrolled`."""

    def __init__(self, *memberships: StaffMembership, unenrolled: tuple[str, ...] = ()) -> None:
        self._memberships = list(memberships)
        self._unenrolled = set(unenrolled)
        self.mfa_reads = 0

    def get_mfa_enrolment(self, user_id: str) -> MfaEnrolment | None:
        self.mfa_reads += 1
        enrolled = MfaEnrolment(user_id, datetime(2026, 6, 1, tzinfo=UTC))
        return None if user_id in self._unenrolled else enrolled

    def get_membership(self, user_id: str, firm_id: str) -> StaffMembership | None:
        return next((m for m in self._memberships if (m.user_id, m.firm_id) == (user_id, firm_id)), None)

    def list_memberships(self, user_id: str) -> list[StaffMembership]:
        return [m for m in self._memberships if m.user_id == user_id]


@pytest.mark.parametrize("claims", [None, {}, {"email": "x@example.com"}, {"sub": ""}])
def test_claims_without_subject_are_unauthenticated(claims):
    with pytest.raises(Unauthenticated):
        principal_from_claims(claims)


def test_principal_comes_from_sub_and_email_claims():
    assert principal_from_claims({"sub": "abc", "email": "a@example.com", "role": "admin"}) == Principal(
        "abc", "a@example.com"
    )


def test_single_membership_is_the_acting_firm():
    context = staff_context(ALICE, Memberships(StaffMembership("f1", "alice", StaffRole.ADVISER)), None)
    assert (context.firm_id, context.role) == ("f1", StaffRole.ADVISER)


def test_not_staff_anywhere_is_forbidden():
    with pytest.raises(Forbidden) as raised:
        staff_context(ALICE, Memberships(StaffMembership("f1", "bob", StaffRole.ADMIN)), None)
    assert raised.value.code == "staff_only"


def test_staff_of_several_firms_must_name_one():
    memberships = Memberships(
        StaffMembership("f1", "alice", StaffRole.ADVISER), StaffMembership("f2", "alice", StaffRole.ADMIN)
    )
    with pytest.raises(InvalidRequest) as raised:
        staff_context(ALICE, memberships, None)
    assert raised.value.code == "firm_required"
    assert staff_context(ALICE, memberships, "f2").role is StaffRole.ADMIN


def test_another_firm_behaves_like_a_missing_firm():
    memberships = Memberships(StaffMembership("f1", "alice", StaffRole.ADMIN))
    with pytest.raises(NotFound):
        staff_context(ALICE, memberships, "f2")
    with pytest.raises(NotFound):
        staff_context(ALICE, memberships, "no-such-firm")


@pytest.mark.parametrize("firm_id", [None, "f1"])
def test_a_member_without_a_second_factor_is_refused_with_mfa_required(firm_id):
    """R-ID-4: our record of the enrolment decides, whichever way the firm is chosen."""
    memberships = Memberships(StaffMembership("f1", "alice", StaffRole.ADMIN), unenrolled=("alice",))
    with pytest.raises(MfaRequired) as raised:
        staff_context(ALICE, memberships, firm_id)
    assert (raised.value.status, raised.value.code) == (403, "mfa_required")


def test_who_is_not_staff_there_gets_the_same_answer_as_before_not_mfa_required():
    """The membership is decided first: a stranger to the firm, a deactivated member and someone on
    no firm's staff learn nothing about their second factor (and it is not even read)."""
    deactivated = StaffMembership("f1", "alice", StaffRole.ADMIN, active=False)
    memberships = Memberships(deactivated, unenrolled=("alice",))
    with pytest.raises(NotFound):
        staff_context(ALICE, memberships, "f1")
    with pytest.raises(NotFound):
        staff_context(ALICE, memberships, "f2")
    with pytest.raises(Forbidden) as raised:
        staff_context(ALICE, memberships, None)
    assert raised.value.code == "staff_only"
    assert memberships.mfa_reads == 0


@pytest.mark.parametrize("action", list(FirmAction))
@pytest.mark.parametrize("role", list(StaffRole))
def test_firm_policy_is_the_only_judge(action, role):
    context = StaffContext(ALICE, "f1", role)
    if role in FIRM_POLICY[action]:
        authorize(context, action)
    else:
        with pytest.raises(Forbidden):
            authorize(context, action)


def test_only_admins_read_the_audit_log():
    assert FIRM_POLICY[FirmAction.VIEW_AUDIT_LOG] == {StaffRole.ADMIN}
