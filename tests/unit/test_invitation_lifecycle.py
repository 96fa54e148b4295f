"""The one invitation lifecycle (shared/services/invitations.py), for every kind of invitee, on the
in-memory ports (tests/fakes.py): issue, resend, revoke, verify, accept (signed in, or creating the
account), reminders claimed once, expiry (R-INV-2/4, R-ACC-3, issue 15).

Each kind is driven through its own use cases (customers: invite/resend/revoke; grantees: grant,
grant again, revoke the access; staff: invite/resend/revoke); the rules asserted are the
lifecycle's, the same for every kind.
A new kind of invitee adds a `Case` to `CASES`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from shared.domain.customers import Invitation, InvitationStatus, hash_token
from shared.domain.files import AccessLevel, AdviserType, Subject, SubjectType
from shared.domain.identity import Firm, Principal, StaffContext, StaffMembership, StaffRole, UserProfile
from shared.services import customer_invitations as customers
from shared.services import file_access
from shared.services import staff_invitations as staff
from tests.calendar_matrix import demo_firm_zone, scheduled_run
from tests.conftest import clock_start
from tests.fakes import FakeClock, FakeDirectory, FakesWorld, read_now, refused
from tests.staff_invitation_fakes import StaffInvitationFakes
from tests.unit import test_file_access_rules as files_rules
from tests.unit import test_onboarding_rules as customer_rules

pytestmark = pytest.mark.fakes

GOOD_PASSWORD = "Correct-Horse-42-battery"
WEAK_PASSWORD = "short-1A!"  # under the pool's 12 characters
INVALID = (404, "invitation_invalid")
WRONG_ACCOUNT = (403, "wrong_account")
ACCOUNT_EXISTS = (409, "account_exists")
WEAK = (400, "weak_password")
NOTHING_DONE = {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}


class Case:
    """One kind of invitee on its fakes: one invitation out to `email`, driven by the kind's use cases."""

    name: str
    email: str
    world: Any

    # the kind's use cases
    verify: Callable[[Any, str], Any]  # (ports, token)
    accept: Callable[[Any, Principal, str], Any]  # (ports, signed-in person, token)
    accept_new: Callable[[Any, str, str], Any]  # (ports, token, password)
    remind: Callable[[Any], dict[str, int]]  # (ports)

    def invite(self) -> None: ...
    def resend(self) -> None: ...
    def revoke(self) -> None: ...
    def racing(self) -> Any: ...  # ports of a request that read the stores now

    # what is stored
    def invitation(self) -> Invitation | None: ...
    def bound_to(self) -> str | None: ...
    def token_rows(self) -> dict[str, Any]: ...
    def accepted_action(self) -> str: ...

    @property
    def fakes(self) -> Any:
        return self.world.fakes

    @property
    def directory(self) -> FakeDirectory:
        return self.world.fakes.directory

    def tokens(self) -> list[str]:
        return self.fakes.email.tokens(self.email)

    def state(self) -> str:
        """Everything the fakes hold, the directory included: two equal states mean nothing was written."""
        return repr(vars(self.fakes))

    def stored(self) -> str:
        """Everything our stores hold (not the outbox, nor the directory, which is the pool's)."""
        return repr({name: v for name, v in vars(self.fakes).items() if name not in ("email", "directory")})

    def remind_on(self, day: int) -> dict[str, int]:
        sent_at = self.invitation().sent_at
        self.world.clock.at = scheduled_run(sent_at, day, demo_firm_zone())
        return self.remind(self.world.ports)


class CustomerCase(Case):
    name = "customer"
    email = customer_rules.JANE.email
    verify = staticmethod(customers.verify_invitation)
    accept = staticmethod(customers.accept_invitation)
    accept_new = staticmethod(customers.accept_invitation_with_new_account)
    remind = staticmethod(customers.send_due_reminders)

    def __init__(self) -> None:
        self.world = customer_rules.World(FakeClock(clock_start()))
        self.customer_id = ""

    def invite(self) -> None:
        self.customer_id = self.world.invite().customer_id

    def resend(self) -> None:
        customers.resend_invitation(self.world.later(), customer_rules.ADMIN, self.customer_id)

    def revoke(self) -> None:
        customers.revoke_invitation(self.world.later(), customer_rules.ADMIN, self.customer_id)

    def racing(self) -> Any:
        return self.world.read_now()

    def _customer(self) -> Any:
        return self.fakes.customers.get(customer_rules.FIRM_ID, self.customer_id)

    def invitation(self) -> Invitation | None:
        customer = self._customer()
        return None if customer.has_accepted else customer.invitation

    def bound_to(self) -> str | None:
        return self._customer().user_id

    def token_rows(self) -> dict[str, Any]:
        return self.fakes.customers.tokens

    def accepted_action(self) -> str:
        return "invitation.accepted"


class GranteeCase(Case):
    """A family member (`member`) or an external adviser (`adviser`) of a client file."""

    email = files_rules.NOTARY.email
    verify = staticmethod(file_access.verify_file_invitation)
    accept = staticmethod(file_access.accept_file_invitation)
    accept_new = staticmethod(file_access.accept_file_invitation_with_new_account)
    remind = staticmethod(file_access.send_due_file_reminders)

    def __init__(self, subject: str) -> None:
        self.name = f"file {subject}"
        self.subject = subject
        self.world = files_rules.World(FakeClock(clock_start()))
        self.adviser_id = ""
        if subject == "member":
            self.email = files_rules.KID.email

    def invite(self) -> None:
        if self.subject == "member":
            self.world.grant("Kid", email=self.email)
            return
        if not self.adviser_id:
            self.adviser_id = file_access.register_adviser(
                self.world.later(), files_rules.MANAGER, files_rules.FILE_ID, name="Maître Dupont",
                email=self.email, phone=files_rules.PHONE, adviser_type=AdviserType.NOTARY,
            ).adviser_id  # fmt: skip
        file_access.grant_adviser_access(
            self.world.later(), files_rules.MANAGER, files_rules.FILE_ID, self.adviser_id,
            level=AccessLevel.READ_ONLY,
        )  # fmt: skip

    resend = invite  # saving a pending grant again sends a fresh invitation

    def revoke(self) -> None:
        ports, manager, file_id = self.world.later(), files_rules.MANAGER, files_rules.FILE_ID
        if self.subject == "member":
            file_access.revoke_member_access(ports, manager, file_id, self.world.members["Kid"])
        else:
            file_access.revoke_adviser_access(ports, manager, file_id, self.adviser_id)

    def racing(self) -> Any:
        seen = read_now(self.fakes.files)
        return replace(self.world.ports, files=seen, grants=seen)

    def _grant(self) -> Any:
        subject_id = self.world.members["Kid"] if self.subject == "member" else self.adviser_id
        kind = SubjectType.MEMBER if self.subject == "member" else SubjectType.ADVISER
        return self.fakes.files.get_grant(files_rules.FIRM_ID, files_rules.FILE_ID, Subject(kind, subject_id))

    def invitation(self) -> Invitation | None:
        grant = self._grant()
        return grant.invitation if grant is not None else None

    def bound_to(self) -> str | None:
        grant = self._grant()
        return grant.user_id if grant is not None else None

    def token_rows(self) -> dict[str, Any]:
        return self.fakes.files.tokens

    def accepted_action(self) -> str:
        return "access.accepted"


class StaffCase(Case):
    """A person an admin invites to the firm's staff."""

    name = "staff member"
    email = "new.adviser@firm.example"
    firm_id = customer_rules.FIRM_ID
    admin = StaffContext(Principal("admin-sub", "admin@firm.example"), firm_id, StaffRole.ADMIN)
    verify = staticmethod(staff.verify_staff_invitation)
    accept = staticmethod(staff.accept_staff_invitation)
    accept_new = staticmethod(staff.accept_staff_invitation_with_new_account)
    remind = staticmethod(staff.send_due_staff_reminders)

    def __init__(self) -> None:
        self.world = FakesWorld(FakeClock(clock_start()), StaffInvitationFakes())
        identities = self.fakes.identities
        identities.firms[self.firm_id] = Firm(self.firm_id, "Demo Advisory LLP", demo_firm_zone())
        identities.put_membership(StaffMembership(self.firm_id, "admin-sub", StaffRole.ADMIN))
        self.invitation_id = ""

    def invite(self) -> None:
        ports = self.world.later()
        outcome = staff.invite_staff(
            ports, self.admin, email=self.email, name="Nell New", role=StaffRole.ADVISER
        )
        self.invitation_id = outcome.invitation.invitation_id

    def resend(self) -> None:
        staff.resend_staff_invitation(self.world.later(), self.admin, self.invitation_id)

    def revoke(self) -> None:
        staff.revoke_staff_invitation(self.world.later(), self.admin, self.invitation_id)

    def racing(self) -> Any:
        return replace(self.world.ports, invitations=read_now(self.fakes.invitations))

    def _record(self) -> Any:
        return self.fakes.invitations.get(self.firm_id, self.invitation_id)

    def invitation(self) -> Invitation | None:
        record = self._record()
        return None if record.has_accepted else record.invitation

    def bound_to(self) -> str | None:
        return self._record().user_id

    def token_rows(self) -> dict[str, Any]:
        return self.fakes.invitations.tokens

    def accepted_action(self) -> str:
        return "staff.invitation_accepted"


CASES: dict[str, Callable[[], Case]] = {
    "customer": CustomerCase,
    "family_member": lambda: GranteeCase("member"),
    "external_adviser": lambda: GranteeCase("adviser"),
    "staff_member": StaffCase,
}


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    made = CASES[request.param]()
    made.invite()
    return made


def invitee(case: Case, email: str | None = None) -> Principal:
    return Principal("invitee-sub", email or case.email)


# issuing, resending, revoking ------------------------------------------------------------------------
def test_an_invitation_emails_one_256_bit_link_and_stores_only_its_hash(case: Case):
    [token] = case.tokens()
    invitation = case.invitation()

    assert invitation is not None and invitation.status is InvitationStatus.SENT
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert invitation.token_hash == hash_token(token) and list(case.token_rows()) == [hash_token(token)]
    assert token not in case.stored()
    case.verify(case.world.ports, token)


def test_resending_sends_a_new_link_and_the_old_one_stops_working(case: Case):
    case.resend()

    old, new = case.tokens()
    assert old != new and list(case.token_rows()) == [hash_token(new)]
    assert refused(lambda: case.verify(case.world.ports, old)) == INVALID
    assert refused(lambda: case.accept(case.world.ports, invitee(case), old)) == INVALID
    case.verify(case.world.ports, new)


def test_revoking_kills_the_link(case: Case):
    [token] = case.tokens()

    case.revoke()

    assert case.token_rows() == {}
    assert refused(lambda: case.verify(case.world.ports, token)) == INVALID
    assert refused(lambda: case.accept_new(case.world.ports, token, GOOD_PASSWORD)) == INVALID
    assert case.directory.created == [] and case.bound_to() is None


def test_wrong_malformed_and_expired_tokens_get_the_one_answer(case: Case):
    [token] = case.tokens()
    tampered = token[:-1] + ("B" if token.endswith("A") else "A")
    for wrong in ("", "x" * 43, "x" * 257, tampered):
        assert refused(lambda wrong=wrong: case.verify(case.world.ports, wrong)) == INVALID
        assert refused(lambda wrong=wrong: case.accept(case.world.ports, invitee(case), wrong)) == INVALID

    expires_at = case.invitation().expires_at
    case.world.clock.at = expires_at - timedelta(seconds=1)
    case.verify(case.world.ports, token)
    case.world.clock.at = expires_at
    assert refused(lambda: case.verify(case.world.ports, token)) == INVALID
    assert refused(lambda: case.accept_new(case.world.ports, token, GOOD_PASSWORD)) == INVALID
    assert case.directory.created == [] and case.bound_to() is None


# accepting signed in ---------------------------------------------------------------------------------
def test_accepting_signed_in_binds_the_invited_email_and_a_second_acceptance_changes_nothing(case: Case):
    [token] = case.tokens()
    person = invitee(case, case.email.upper())  # the pool may spell the address otherwise

    case.accept(case.world.later(), person, token)

    assert case.bound_to() == person.user_id and case.token_rows() == {}
    assert case.fakes.identities.get_profile(person.user_id).email == person.email
    assert case.fakes.audit.trail()[-1] == (case.accepted_action(), person.user_id)
    after = case.state()
    for again in (
        lambda: case.accept(case.world.ports, person, token),
        lambda: case.accept(case.world.ports, Principal("someone-sub", case.email), token),
        lambda: case.accept_new(case.world.ports, token, GOOD_PASSWORD),
    ):
        assert refused(again) == INVALID
    assert case.state() == after and case.directory.created == []


def test_accepting_signed_in_with_another_email_is_refused_and_the_link_still_works(case: Case):
    [token] = case.tokens()
    before = case.state()

    assert refused(
        lambda: case.accept(case.world.ports, invitee(case, "someone.else@example.org"), token)
    ) == (WRONG_ACCOUNT)

    assert case.state() == before and case.bound_to() is None
    case.accept(case.world.later(), invitee(case), token)
    assert case.bound_to() == "invitee-sub"


def test_of_two_acceptances_of_one_link_at_once_only_the_first_binds(case: Case):
    [token] = case.tokens()
    racing = case.racing()  # it read the invitation before the first acceptance was written
    case.accept(case.world.later(), invitee(case), token)
    after = case.state()

    assert refused(lambda: case.accept(racing, Principal("other-sub", case.email), token)) == INVALID
    assert case.state() == after and case.bound_to() == "invitee-sub"


# accepting with a new account ------------------------------------------------------------------------
def test_accepting_without_an_account_creates_one_for_the_invited_email_and_binds_it(case: Case):
    [token] = case.tokens()

    case.accept_new(case.world.later(), token, GOOD_PASSWORD)

    [user_id] = case.directory.created
    user = case.directory.find_by_email(case.email)
    assert user is not None and (user.user_id, user.email, user.enabled) == (user_id, case.email, True)
    assert case.bound_to() == user_id and case.token_rows() == {}
    profile = case.fakes.identities.get_profile(user_id)
    assert isinstance(profile, UserProfile) and profile.email == case.email
    accepted = case.fakes.audit.log()[-1]
    assert (accepted.action, accepted.actor_id, accepted.details) == (
        case.accepted_action(),
        user_id,
        {"account": "created"},
    )
    assert GOOD_PASSWORD not in case.stored()  # only the pool has it


def test_a_second_acceptance_with_a_new_account_creates_no_second_user(case: Case):
    [token] = case.tokens()
    case.accept_new(case.world.later(), token, GOOD_PASSWORD)
    after = case.state()

    assert refused(lambda: case.accept_new(case.world.ports, token, GOOD_PASSWORD)) == INVALID
    assert refused(lambda: case.accept_new(case.world.ports, token, "Another-Password-99")) == INVALID

    assert case.state() == after and len(case.directory.created) == 1


def test_an_account_made_for_a_link_that_died_meanwhile_is_removed_again(case: Case):
    """Review of issue 15: the request read the live link, then it was revoked before the binding.
    The account made in between must not outlive the invitation (no account without one)."""
    [token] = case.tokens()
    racing = case.racing()  # read the invitation while it was live
    case.revoke()
    before = case.stored()

    assert refused(lambda: case.accept_new(racing, token, GOOD_PASSWORD)) == INVALID

    assert len(case.directory.created) == 1  # it was made during the request...
    assert case.directory.find_by_email(case.email) is None  # ...and removed when binding failed
    assert case.directory.passwords == {}
    assert case.stored() == before and case.bound_to() is None


@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "disabled"])
def test_an_email_that_already_has_an_account_must_sign_in_to_accept(case: Case, enabled: bool):
    [token] = case.tokens()
    existing = case.directory.add("existing-sub", case.email.upper())
    if not enabled:
        case.directory.disable_user(existing.user_id)
    before = case.state()

    assert refused(lambda: case.accept_new(case.world.ports, token, GOOD_PASSWORD)) == ACCOUNT_EXISTS

    assert case.state() == before and case.directory.created == [] and case.bound_to() is None
    case.accept(case.world.later(), Principal("existing-sub", case.email), token)
    assert case.bound_to() == "existing-sub"


def test_a_password_the_pool_refuses_binds_nothing_and_the_link_still_works(case: Case):
    [token] = case.tokens()
    before = case.state()

    assert refused(lambda: case.accept_new(case.world.ports, token, WEAK_PASSWORD)) == WEAK

    assert case.state() == before and case.bound_to() is None
    case.verify(case.world.ports, token)
    case.accept_new(case.world.later(), token, GOOD_PASSWORD)
    assert case.bound_to() == case.directory.created[0]


def test_neither_the_password_nor_the_token_is_logged(case: Case, monkeypatch: pytest.MonkeyPatch):
    records = captured_records(monkeypatch)
    [token] = case.tokens()
    case.fakes.email.failing = True  # a reminder that fails logs the failure
    assert case.remind_on(7) == NOTHING_DONE | {"failed": 1}
    case.fakes.email.failing = False
    for password in (WEAK_PASSWORD, GOOD_PASSWORD):
        try:
            case.accept_new(case.world.later(), token, password)
        except Exception as error:  # the weak one
            logging.getLogger("test").error("refused", exc_info=error)

    written = [repr(vars(record)) + record.getMessage() for record in records]
    assert len(written) >= 2 and case.bound_to() is not None
    assert not [line for line in written if GOOD_PASSWORD in line or WEAK_PASSWORD in line or token in line]


def captured_records(monkeypatch: pytest.MonkeyPatch) -> list[logging.LogRecord]:
    """Every record any logger emits from now on (captured as tests/log_hygiene.py does)."""
    records: list[logging.LogRecord] = []
    call_handlers = logging.Logger.callHandlers

    def capture(self: logging.Logger, record: logging.LogRecord) -> None:
        records.append(record)
        call_handlers(self, record)

    monkeypatch.setattr(logging.Logger, "callHandlers", capture)
    return records


# reminders and expiry (R-INV-4) ----------------------------------------------------------------------
@pytest.mark.calendar
def test_each_reminder_is_claimed_once_whatever_the_runs_then_the_invitation_expires(case: Case):
    outcomes = [case.remind_on(day) for day in (1, 7, 7, 8, 30, 30, 31)]

    assert [o["reminders_sent"] for o in outcomes] == [0, 1, 0, 0, 1, 0, 0]
    assert case.invitation().reminders_sent == (7, 30)
    *stale, newest = case.tokens()
    assert len(stale) == 2 and list(case.token_rows()) == [hash_token(newest)]
    for token in stale:
        assert refused(lambda token=token: case.verify(case.world.ports, token)) == INVALID
    case.verify(case.world.ports, newest)

    assert case.remind_on(46) == NOTHING_DONE | {"expired": 1}
    assert case.invitation().status is InvitationStatus.EXPIRED
    assert case.token_rows() == {}
    assert refused(lambda: case.verify(case.world.ports, newest)) == INVALID
    assert case.remind_on(47) == NOTHING_DONE


def test_a_reminders_run_that_lost_the_claim_sends_nothing(case: Case):
    case.world.clock.at = scheduled_run(case.invitation().sent_at, 7, demo_firm_zone())
    racing = case.racing()  # a second run that read the invitation before the first claimed it
    assert case.remind(case.world.ports) == NOTHING_DONE | {"reminders_sent": 1}

    assert case.remind(racing) == NOTHING_DONE | {"skipped": 1}
    assert len(case.tokens()) == 2 and case.invitation().reminders_sent == (7,)


def test_a_reminder_that_could_not_be_sent_is_released_and_the_emailed_link_keeps_working(case: Case):
    [token] = case.tokens()
    before = case.invitation()
    case.fakes.email.failing = True

    assert case.remind_on(7) == NOTHING_DONE | {"failed": 1}

    assert case.invitation() == before  # all put back
    assert list(case.token_rows()) == [hash_token(token)]
    case.verify(case.world.ports, token)
    case.fakes.email.failing = False
    assert case.remind_on(8) == NOTHING_DONE | {"reminders_sent": 1}
    assert refused(lambda: case.verify(case.world.ports, token)) == INVALID


@pytest.mark.parametrize("change", ["deactivated", "demoted"])
def test_a_staff_invitation_dies_with_the_rights_of_the_admin_who_sent_it(change: str):
    """Review of issue 15: else a departing admin could invite another address of theirs and come
    back after being deactivated (an invitation never brings a deactivated member back)."""
    case = StaffCase()
    case.invite()
    [token] = case.tokens()
    identities = case.fakes.identities
    admin = identities.get_membership("admin-sub", case.firm_id)
    assert admin is not None
    changed = (
        replace(admin, active=False) if change == "deactivated" else replace(admin, role=StaffRole.ADVISER)
    )
    identities.put_membership(changed)

    assert refused(lambda: case.accept_new(case.world.later(), token, GOOD_PASSWORD)) == INVALID
    assert case.directory.find_by_email(case.email) is None  # no account either
    assert (
        identities.get_membership(case.directory.created[0] if case.directory.created else "-", case.firm_id)
        is None
    )
