"""The client-file policy table and the value rules of a file, without AWS (R-ACC-1..6, R-ROLE-1/2)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.domain.errors import Forbidden, NotFound
from shared.domain.file_access import (
    FILE_POLICY,
    FIRM,
    CallerKind,
    FileAction,
    access_action,
    allowed_actions,
    authorize_file,
    grantee_kind,
    is_allowed,
    staff_kind,
)
from shared.domain.files import (
    AccessLevel,
    Grant,
    Relation,
    Subject,
    SubjectType,
    check_currency,
    check_phone,
    parse_amount,
)

K = CallerKind
A = FileAction
CHANGES = {A.EDIT_FAMILY, A.EDIT_PATRIMONY, A.EDIT_DONATIONS, A.CREATE_SIMULATION, A.CREATE_REPORT}
ACCESS_MANAGEMENT = {
    A.MANAGE_CENTRAL_ACCESS,
    A.MANAGE_FAMILY_ACCESS,
    A.REGISTER_ADVISER,
    A.MANAGE_ADVISER_ACCESS,
}
OUTSIDE_THE_FIRM = set(CallerKind) - FIRM - {K.STRANGER}


def test_every_action_has_a_row():
    assert set(FILE_POLICY) == set(FileAction)


def test_a_stranger_may_do_nothing_and_gets_a_404_for_everything():
    assert allowed_actions(K.STRANGER) == []
    for action in FileAction:
        with pytest.raises(NotFound):
            authorize_file(K.STRANGER, action)


def test_a_known_caller_refused_gets_a_403():
    with pytest.raises(Forbidden) as refused:
        authorize_file(K.ADVISER_RW, A.CREATE_REPORT)
    assert refused.value.code == "file_action_forbidden"


def test_the_file_manager_may_do_everything():
    assert allowed_actions(K.FILE_MANAGER) == list(FileAction)


def test_everyone_with_access_sees_the_file():
    assert FILE_POLICY[A.VIEW_FILE] == frozenset(set(CallerKind) - {K.STRANGER})


def test_only_the_file_manager_manages_access_for_people_outside_the_firm():
    """R-ACC-1 and R-ACC-5; the one exception is R-ACC-4: holders with access grant family."""
    for action in ACCESS_MANAGEMENT - {A.MANAGE_FAMILY_ACCESS}:
        assert FILE_POLICY[action] == {K.FILE_MANAGER}, action
    assert FILE_POLICY[A.MANAGE_FAMILY_ACCESS] == {K.FILE_MANAGER, K.HOLDER_RW}


def test_nobody_outside_the_firm_creates_simulations_or_reports():
    for action in (A.CREATE_SIMULATION, A.CREATE_REPORT):
        assert FILE_POLICY[action] == FIRM


@pytest.mark.parametrize("kind", [K.HOLDER_RO, K.MEMBER_RO, K.ADVISER_RO])
def test_read_only_changes_nothing(kind):
    assert set(allowed_actions(kind)) & (CHANGES | ACCESS_MANAGEMENT) == set()


@pytest.mark.parametrize("kind", [K.ADVISER_RW, K.ADVISER_RO, K.MEMBER_RW, K.MEMBER_RO])
def test_advisers_and_other_members_change_at_most_three_sections(kind):
    changes = set(allowed_actions(kind)) & (CHANGES | ACCESS_MANAGEMENT)
    assert changes <= {A.EDIT_FAMILY, A.EDIT_PATRIMONY, A.EDIT_DONATIONS}


def test_a_read_write_external_adviser_changes_exactly_family_patrimony_and_donations():
    assert set(allowed_actions(K.ADVISER_RW)) == {
        A.VIEW_FILE,
        A.EDIT_FAMILY,
        A.EDIT_PATRIMONY,
        A.EDIT_DONATIONS,
    }


def test_the_access_log_is_for_the_manager_and_admins():
    assert FILE_POLICY[A.VIEW_ACCESS_LOG] == {K.FILE_MANAGER, K.FIRM_ADMIN}
    assert not OUTSIDE_THE_FIRM & FILE_POLICY[A.VIEW_ACCESS_LOG]


@pytest.mark.parametrize(
    ("staff_id", "is_admin", "kind"),
    [
        ("owner", False, K.FILE_MANAGER),
        ("owner", True, K.FILE_MANAGER),  # an admin who owns the file manages it
        ("other-admin", True, K.FIRM_ADMIN),
        ("assigned", False, K.FIRM_STAFF),
        ("someone", False, K.STRANGER),  # an adviser not assigned (R-ROLE-2)
    ],
)
def test_staff_kind(staff_id, is_admin, kind):
    assert (
        staff_kind(owner_id="owner", assignee_ids=("assigned",), staff_id=staff_id, is_admin=is_admin) is kind
    )


def _grant(subject_type: SubjectType, central: bool, level: AccessLevel) -> Grant:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Grant(
        "firm",
        "file",
        Subject(subject_type, "s1"),
        "Name",
        central,
        "a@b.example",
        "+33612345678",
        level,
        "u",
        now,
    )


@pytest.mark.parametrize(
    ("subject_type", "central", "level", "kind"),
    [
        (SubjectType.MEMBER, True, AccessLevel.READ_WRITE, K.HOLDER_RW),
        (SubjectType.MEMBER, True, AccessLevel.READ_ONLY, K.HOLDER_RO),
        (SubjectType.MEMBER, False, AccessLevel.READ_WRITE, K.MEMBER_RW),
        (SubjectType.MEMBER, False, AccessLevel.READ_ONLY, K.MEMBER_RO),
        (SubjectType.ADVISER, False, AccessLevel.READ_WRITE, K.ADVISER_RW),
        (SubjectType.ADVISER, False, AccessLevel.READ_ONLY, K.ADVISER_RO),
    ],
)
def test_grantee_kind(subject_type, central, level, kind):
    assert grantee_kind(_grant(subject_type, central, level)) is kind


def test_managing_an_access_is_an_action_of_the_table():
    assert access_action(SubjectType.MEMBER, central=True) is A.MANAGE_CENTRAL_ACCESS
    assert access_action(SubjectType.MEMBER, central=False) is A.MANAGE_FAMILY_ACCESS
    assert access_action(SubjectType.ADVISER, central=False) is A.MANAGE_ADVISER_ACCESS
    assert is_allowed(K.HOLDER_RW, access_action(SubjectType.MEMBER, Relation.CHILD.is_central))
    assert not is_allowed(K.HOLDER_RW, access_action(SubjectType.MEMBER, Relation.CO_HOLDER.is_central))


@pytest.mark.parametrize("phone", ["+33612345678", "+447911123456", "+12025550123", "+861012345678901"])
def test_e164_phones(phone):
    assert check_phone(phone) == phone


@pytest.mark.parametrize(
    "phone",
    ["0612345678", "+33 6 12 34 56 78", "+0612345678", "33612345678", "+3361234567890123", "+336-1234567"],
)
def test_not_e164_phones(phone):
    with pytest.raises(ValueError):
        check_phone(phone)


@pytest.mark.parametrize(
    ("text", "value"), [("0", Decimal(0)), ("250000.00", Decimal("250000.00")), ("1.2345", Decimal("1.2345"))]
)
def test_amounts_are_exact_decimals(text, value):
    assert parse_amount(text) == value and str(parse_amount(text)) == text


@pytest.mark.parametrize("text", ["12,50", "-5", "1e6", "1.23456", "", "NaN", "Infinity", " 1"])
def test_bad_amounts(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_currencies_are_iso_4217():
    assert check_currency("EUR") == "EUR" and check_currency("JPY") == "JPY"
    for code in ("eur", "ABC", "XXX", "XTS", "EURO"):
        with pytest.raises(ValueError):
            check_currency(code)
