"""Onboarding rules on the in-memory ports (tests/fakes.py): no moto, no HTTP (R-INV-1..7, R-ROLE-1..3).

Invitations, their single-use tokens and reminders, who sees which customer, and account review. The
HTTP answers (the cross-tenant route matrix, bad input, idempotency), real concurrency and the journey
stay on moto in tests/integration/test_onboarding_rules.py and test_onboarding_journey.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from shared.domain.accounts import AccountStatus, Decision, SharedAccount
from shared.domain.customers import INVITATION_LIFETIME, Customer, InvitationStatus, Section, hash_token
from shared.domain.identity import CustomerLink, Firm, Principal, StaffContext, StaffRole, UserProfile
from shared.domain.jobs import ImportJob, ImportReason

# The use cases, by their public names: the one place to repoint when the service module is split.
from shared.services.customer_invitations import (
    InvitationInvalid,
    accept_invitation,
    invite_customer,
    resend_invitation,
    revoke_invitation,
    send_due_reminders,
    verify_invitation,
)
from shared.services.customers import (
    list_customers,
    list_shared_accounts,
    list_transactions,
    offer_accounts,
    review_account,
    visible_customer,
)
from tests.calendar_matrix import demo_firm_zone, scheduled_run
from tests.conftest import clock_start
from tests.fakes import FakeClock, FakesWorld, OnboardingFakes, read_now, refused
from tests.integration import onboarding_support

pytestmark = pytest.mark.fakes

FIRM_ID, OTHER_FIRM_ID = "01JFIRMONBOARDING0000000000", "01JFIRMONBOARDINGOTHER00000"
JANE = Principal("jane-sub", "jane.doe@example.org")
MISSING = "01JNOSUCHCUSTOMER0000000000"
NOTHING_DONE = {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}


def staff(user_id: str, role: StaffRole = StaffRole.ADVISER, firm_id: str = FIRM_ID) -> StaffContext:
    return StaffContext(Principal(user_id, f"{user_id}@firm.example"), firm_id, role)


ADMIN = staff("admin", StaffRole.ADMIN)
ADVISER = staff("adviser")
COLLEAGUE = staff("colleague")
OUTSIDER = staff("other-firm-admin", StaffRole.ADMIN, OTHER_FIRM_ID)


@dataclass
class World(FakesWorld):
    """The onboarding service on fakes, with its clock; requests are a minute apart."""

    fakes: OnboardingFakes = field(default_factory=OnboardingFakes)

    def __post_init__(self) -> None:
        super().__post_init__()
        zone = demo_firm_zone()  # the calendar moment's zone, in the matrix
        self.fakes.identities.firms[FIRM_ID] = Firm(FIRM_ID, "Demo Advisory LLP", zone)
        self.fakes.identities.firms[OTHER_FIRM_ID] = Firm(OTHER_FIRM_ID, "Other Practice", "Europe/Paris")

    def invite(
        self, by: StaffContext = ADMIN, email: str = JANE.email, message: str | None = None
    ) -> Customer:
        return invite_customer(self.later(), by, name="Jane Doe", email=email, message=message).customer

    def accepted(self) -> Customer:
        self.invite()
        return accept_invitation(self.later(), JANE, self.tokens()[-1])

    def customer(self, customer: Customer) -> Customer:
        stored = self.fakes.customers.get(customer.firm_id, customer.customer_id)
        assert stored is not None
        return stored

    def account(self, customer: Customer, number: int) -> SharedAccount | None:
        return self.fakes.accounts.get(customer.firm_id, customer.customer_id, f"acct-{number}")

    def tokens(self, to: str = JANE.email) -> list[str]:
        return self.fakes.email.tokens(to)

    def remind_on(self, day: int) -> dict[str, int]:
        """The daily reminders run on the firm's local day `day` after the world's start."""
        self.clock.at = scheduled_run(self.start, day, demo_firm_zone())
        return send_due_reminders(self.ports)

    def read_now(self) -> Any:
        """Ports of a request that reads the stores now and writes after others have (a race,
        one step at a time)."""
        return replace(
            self.ports, customers=read_now(self.fakes.customers), accounts=read_now(self.fakes.accounts)
        )


@pytest.fixture
def world() -> World:
    return World(FakeClock(clock_start()))


def shared_account(customer: Customer, number: int) -> SharedAccount:
    return onboarding_support.shared_account(customer.customer_id, number, firm_id=customer.firm_id)


def listed(world: World, who: StaffContext, section: Section = Section.INVITED, search: str | None = None):
    page, counts = list_customers(world.ports, who, section=section, search=search, cursor=None, limit=10)
    return [row["customer_id"] for row in page.rows], counts


# invitations ---------------------------------------------------------------------------------------
def test_an_invitation_stores_the_customer_claims_the_email_and_sends_one_personal_link(world: World):
    outcome = invite_customer(
        world.later(), ADVISER, name="  Jane Doe ", email=" Jane.Doe@Example.ORG", message="à bientôt"
    )

    stored = world.customer(outcome.customer)
    assert outcome.created and stored == outcome.customer
    assert (stored.name, stored.email, stored.owner_id) == ("Jane Doe", JANE.email, "adviser")
    assert (stored.section, stored.invitation.status) == (Section.INVITED, InvitationStatus.SENT)
    assert stored.invitation.expires_at == world.clock.at + INVITATION_LIFETIME
    [email] = world.fakes.email.sent
    assert email.to == JANE.email and "Demo Advisory LLP" in email.subject and "à bientôt" in email.text
    [token] = world.tokens()
    assert len(token) >= 22 and hash_token(token) == stored.invitation.token_hash != token
    assert world.fakes.customers.find_by_email(FIRM_ID, "JANE.DOE@example.org") == stored
    assert world.fakes.audit.trail() == [("invitation.sent", "adviser")]
    assert listed(world, ADVISER) == ([stored.customer_id], {"invited": 1, "pending": 0, "customers": 0})


def test_inviting_an_invited_email_again_resends_to_the_same_customer_with_a_new_link(world: World):
    first = world.invite(email=JANE.email)

    again = invite_customer(world.later(), ADMIN, name="J. Doe", email=" JANE.DOE@example.org ", message=None)

    assert not again.created and again.customer.customer_id == first.customer_id
    assert list(world.fakes.customers.rows) == [(FIRM_ID, first.customer_id)]
    assert world.customer(first).name == "Jane Doe"
    assert world.customer(first).invitation.expires_at == world.clock.at + INVITATION_LIFETIME
    old, new = world.tokens()
    with pytest.raises(InvitationInvalid):
        verify_invitation(world.ports, old)
    assert verify_invitation(world.ports, new) == "Demo Advisory LLP"
    assert world.fakes.audit.trail() == [("invitation.sent", "admin"), ("invitation.resent", "admin")]


def test_an_active_customers_email_and_a_colleagues_invitation_are_refused(world: World):
    world.invite(by=ADVISER)

    assert refused(
        lambda: invite_customer(world.ports, COLLEAGUE, name="Jane", email=JANE.email, message=None)
    ) == (409, "invited_by_colleague")
    assert not invite_customer(world.later(), ADMIN, name="Jane", email=JANE.email, message=None).created
    accept_invitation(world.later(), JANE, world.tokens()[-1])
    for who in (ADMIN, ADVISER):
        assert refused(
            lambda who=who: invite_customer(world.ports, who, name="Jane", email=JANE.email, message=None)
        ) == (409, "customer_already_active")
    assert len(world.fakes.email.sent) == 2 and len(world.fakes.customers.rows) == 1


def test_another_firm_may_invite_the_same_email(world: World):
    ours = world.invite()

    theirs = invite_customer(world.later(), OUTSIDER, name="Jane", email=JANE.email, message=None)

    assert theirs.created and theirs.customer.firm_id == OTHER_FIRM_ID
    assert theirs.customer.customer_id != ours.customer_id
    our_token, their_token = world.tokens()
    assert verify_invitation(world.ports, our_token) == "Demo Advisory LLP"
    assert verify_invitation(world.ports, their_token) == "Other Practice"
    assert world.fakes.customers.find_by_email(FIRM_ID, JANE.email) == world.customer(ours)


def test_an_invitation_that_lost_the_race_for_its_email_is_refused_and_stores_nothing(world: World):
    racing = world.read_now()  # it found no customer with this email
    world.invite()
    before = dict(world.fakes.customers.rows), dict(world.fakes.customers.tokens)

    assert refused(lambda: invite_customer(racing, ADVISER, name="Jane", email=JANE.email, message=None)) == (
        409,
        "already_invited",
    )
    assert (dict(world.fakes.customers.rows), dict(world.fakes.customers.tokens)) == before
    assert len(world.fakes.email.sent) == 1 and world.fakes.audit.trail() == [("invitation.sent", "admin")]


def test_resending_replaces_the_link_keeps_the_message_unless_given_and_restarts_the_lifetime(world: World):
    customer = world.invite(message="Hello Jane")
    world.clock.at += timedelta(days=10)

    resent = resend_invitation(world.ports, ADMIN, customer.customer_id)

    assert resent == world.customer(customer) and resent.invitation.message == "Hello Jane"
    assert resent.invitation.expires_at == world.clock.at + INVITATION_LIFETIME
    assert resent.invitation.reminders_sent == ()
    first, second = world.tokens()
    assert world.fakes.customers.find_by_token_hash(hash_token(first)) is None
    assert world.fakes.customers.find_by_token_hash(hash_token(second)) == (FIRM_ID, customer.customer_id)
    invite_customer(world.later(), ADMIN, name="Jane", email=JANE.email, message="New words")
    assert world.customer(customer).invitation.message == "New words"


def test_revoking_ends_the_link_and_takes_the_customer_off_the_dashboard_until_resent(world: World):
    customer = world.invite()
    [token] = world.tokens()

    revoked = revoke_invitation(world.later(), ADMIN, customer.customer_id)

    assert revoked == world.customer(customer) and revoked.invitation.status is InvitationStatus.REVOKED
    assert world.fakes.customers.tokens == {}
    with pytest.raises(InvitationInvalid):
        verify_invitation(world.ports, token)
    assert listed(world, ADMIN) == ([], {"invited": 0, "pending": 0, "customers": 0, "ended": 0})
    resend_invitation(world.later(), ADMIN, customer.customer_id)
    assert world.customer(customer).invitation.status is InvitationStatus.SENT
    assert listed(world, ADMIN) == (
        [customer.customer_id],
        {"invited": 1, "pending": 0, "customers": 0, "ended": 0},
    )
    assert verify_invitation(world.ports, world.tokens()[-1]) == "Demo Advisory LLP"
    assert [action for action, _ in world.fakes.audit.trail()] == [
        "invitation.sent",
        "invitation.revoked",
        "invitation.resent",
    ]


def test_an_accepted_invitation_is_neither_revoked_nor_resent(world: World):
    customer = world.accepted()

    for action in (revoke_invitation, resend_invitation):
        assert refused(lambda action=action: action(world.ports, ADMIN, customer.customer_id)) == (
            409,
            "invitation_already_accepted",
        )
    assert world.customer(customer) == customer and len(world.fakes.email.sent) == 1


# tokens ----------------------------------------------------------------------------------------------
def test_accepting_binds_the_signed_in_person_to_the_invited_customer_and_uses_the_token(world: World):
    customer = world.invite()
    [token] = world.tokens()
    assert verify_invitation(world.ports, token) == "Demo Advisory LLP"

    accepted = accept_invitation(world.later(), JANE, token)

    assert accepted == world.customer(customer)
    assert (accepted.user_id, accepted.accepted_at, accepted.email) == (
        "jane-sub",
        world.clock.at,
        JANE.email,
    )
    assert accepted.invitation.status is InvitationStatus.ACCEPTED
    assert world.fakes.identities.list_customer_links("jane-sub") == [
        CustomerLink(FIRM_ID, customer.customer_id)
    ]
    assert world.fakes.identities.get_profile("jane-sub") == UserProfile("jane-sub", JANE.email, "Jane Doe")
    assert world.fakes.customers.tokens == {}
    assert world.fakes.audit.trail()[-1] == ("invitation.accepted", "jane-sub")
    # accepted, no account shared yet: still on the Invited section
    assert listed(world, ADMIN) == (
        [customer.customer_id],
        {"invited": 1, "pending": 0, "customers": 0, "ended": 0},
    )


def test_a_token_is_used_once(world: World):
    customer = world.invite()
    [token] = world.tokens()
    accept_invitation(world.later(), JANE, token)
    someone = Principal("someone-sub", "someone@example.org")

    with pytest.raises(InvitationInvalid):
        verify_invitation(world.ports, token)
    for person in (JANE, someone):
        with pytest.raises(InvitationInvalid):
            accept_invitation(world.later(), person, token)
    assert world.customer(customer).user_id == "jane-sub"
    assert world.fakes.identities.list_customer_links("someone-sub") == []


def test_of_two_people_accepting_one_link_at_once_only_the_first_is_bound(world: World):
    customer = world.invite()
    [token] = world.tokens()
    racing = world.read_now()  # it read the invitation before the first acceptance was written
    accept_invitation(world.later(), JANE, token)

    with pytest.raises(InvitationInvalid):  # another identity with the invited address
        accept_invitation(racing, Principal("someone-sub", JANE.email), token)
    assert world.customer(customer).user_id == "jane-sub"
    assert world.fakes.identities.list_customer_links("someone-sub") == []
    assert world.fakes.identities.get_profile("someone-sub") is None


def test_a_link_works_until_the_invitation_expires(world: World):
    customer = world.invite()
    [token] = world.tokens()
    world.clock.at = customer.invitation.expires_at - timedelta(seconds=1)
    assert verify_invitation(world.ports, token) == "Demo Advisory LLP"

    world.clock.at = customer.invitation.expires_at
    with pytest.raises(InvitationInvalid):
        verify_invitation(world.ports, token)
    with pytest.raises(InvitationInvalid):
        accept_invitation(world.ports, JANE, token)
    assert world.customer(customer).user_id is None
    assert world.fakes.identities.list_customer_links("jane-sub") == []


def test_wrong_and_malformed_tokens_get_the_one_answer(world: World):
    world.invite()
    [token] = world.tokens()
    tampered = token[:-1] + ("B" if token.endswith("A") else "A")

    for wrong in ("", "x" * 43, "x" * 257, tampered):
        assert refused(lambda wrong=wrong: verify_invitation(world.ports, wrong)) == (
            404,
            "invitation_invalid",
        )
        assert refused(lambda wrong=wrong: accept_invitation(world.ports, JANE, wrong)) == (
            404,
            "invitation_invalid",
        )
    assert verify_invitation(world.ports, token) == "Demo Advisory LLP"


# reminders (R-INV-4) ---------------------------------------------------------------------------------
@pytest.mark.calendar
def test_reminders_on_day_7_and_30_are_sent_once_each_then_the_invitation_expires(world: World):
    customer = world.invite()
    world.start = customer.invitation.sent_at

    outcomes = [world.remind_on(day) for day in (1, 7, 7, 8, 30, 30, 31)]

    assert [o["reminders_sent"] for o in outcomes] == [0, 1, 0, 0, 1, 0, 0]
    assert [e.subject.startswith("Reminder") for e in world.fakes.email.sent] == [False, True, True]
    stored = world.customer(customer)
    assert stored.invitation.reminders_sent == (7, 30)
    assert stored.invitation.expires_at == customer.invitation.expires_at  # a reminder does not extend it
    *stale, newest = world.tokens()
    assert verify_invitation(world.ports, newest) == "Demo Advisory LLP"
    for token in stale:  # each reminder carries a fresh link; the previous one stops working
        with pytest.raises(InvitationInvalid):
            verify_invitation(world.ports, token)
    assert [e.details for e in world.fakes.audit.log() if e.action == "invitation.reminded"] == [
        {"days": 7},
        {"days": 30},
    ]

    assert world.remind_on(46) == NOTHING_DONE | {"expired": 1}
    assert world.customer(customer).invitation.status is InvitationStatus.EXPIRED
    assert world.fakes.customers.tokens == {}
    with pytest.raises(InvitationInvalid):
        verify_invitation(world.ports, newest)
    assert world.remind_on(47) == NOTHING_DONE
    assert world.fakes.audit.trail()[-1] == ("invitation.expired", "system")


@pytest.mark.calendar
def test_a_missed_day_7_run_sends_one_reminder_on_day_31(world: World):
    customer = world.invite()
    world.start = customer.invitation.sent_at

    assert world.remind_on(31) == NOTHING_DONE | {"reminders_sent": 1}
    assert world.remind_on(31) == NOTHING_DONE
    assert world.customer(customer).invitation.reminders_sent == (7, 30)
    assert [e.subject.startswith("Reminder") for e in world.fakes.email.sent] == [False, True]


@pytest.mark.calendar
def test_a_failed_reminder_keeps_the_last_link_working_and_is_tried_again(world: World):
    customer = world.invite()
    world.start = customer.invitation.sent_at
    [token] = world.tokens()
    world.fakes.email.failing = True

    assert world.remind_on(7) == NOTHING_DONE | {"failed": 1}
    assert world.customer(customer).invitation == customer.invitation  # all put back
    assert list(world.fakes.customers.tokens) == [hash_token(token)]
    assert verify_invitation(world.ports, token) == "Demo Advisory LLP"

    world.fakes.email.failing = False
    assert world.remind_on(7) == NOTHING_DONE | {"reminders_sent": 1}
    assert world.remind_on(7) == NOTHING_DONE
    with pytest.raises(InvitationInvalid):
        verify_invitation(world.ports, token)


def test_a_reminders_run_that_lost_the_race_skips_the_invitation(world: World):
    customer = world.invite()
    world.start = customer.invitation.sent_at
    world.clock.at = scheduled_run(world.start, 7, demo_firm_zone())
    racing = world.read_now()
    assert send_due_reminders(world.ports)["reminders_sent"] == 1

    assert send_due_reminders(racing) == NOTHING_DONE | {"skipped": 1}
    assert len(world.fakes.email.sent) == 2
    assert world.customer(customer).invitation.reminders_sent == (7,)


def test_accepted_and_revoked_invitations_get_no_reminder_and_do_not_expire(world: World):
    accepted = world.accepted()
    revoked = world.invite(email="bo@example.org")
    revoke_invitation(world.later(), ADMIN, revoked.customer_id)
    world.start = revoked.invitation.sent_at

    assert [world.remind_on(day) for day in (7, 30, 46)] == [NOTHING_DONE] * 3
    assert len(world.fakes.email.sent) == 2
    assert world.customer(accepted).invitation.status is InvitationStatus.ACCEPTED
    assert world.customer(revoked).invitation.status is InvitationStatus.REVOKED


# who sees which customer (R-ROLE-1/2) -----------------------------------------------------------------
def test_admins_see_every_customer_and_advisers_those_they_own_or_are_assigned_to(world: World):
    owned = world.invite(by=ADVISER, email="a@example.org")
    others = world.invite(by=ADMIN, email="b@example.org")
    world.fakes.customers.save(replace(others, assignee_ids=("colleague",)), others)

    assert listed(world, ADMIN) == (
        [others.customer_id, owned.customer_id],
        {"invited": 2, "pending": 0, "customers": 0, "ended": 0},
    )
    assert listed(world, ADVISER) == ([owned.customer_id], {"invited": 1, "pending": 0, "customers": 0})
    assert listed(world, COLLEAGUE) == ([others.customer_id], {"invited": 1, "pending": 0, "customers": 0})
    assert listed(world, ADMIN, search="B@EXAMPLE")[0] == [others.customer_id]
    assert visible_customer(world.ports, COLLEAGUE, others.customer_id) == world.customer(others)
    assert refused(lambda: visible_customer(world.ports, ADVISER, others.customer_id)) == (404, "not_found")
    assert listed(world, OUTSIDER) == ([], {"invited": 0, "pending": 0, "customers": 0, "ended": 0})


CUSTOMER_USE_CASES: dict[str, Callable[[Any, StaffContext, str], Any]] = {
    "view": visible_customer,
    "accounts": list_shared_accounts,
    "transactions": lambda ports, who, customer_id: list_transactions(
        ports, who, customer_id, account_id=None, date_from=None, date_to=None, cursor=None, limit=10
    ),
    "resend": resend_invitation,
    "revoke": revoke_invitation,
    "accept-account": lambda ports, who, customer_id: review_account(
        ports, who, customer_id, "acct-1", Decision.ACCEPT
    ),
    "decline-account": lambda ports, who, customer_id: review_account(
        ports, who, customer_id, "acct-1", Decision.DECLINE
    ),
}


@pytest.mark.parametrize("use_case", CUSTOMER_USE_CASES)
@pytest.mark.parametrize("outsider", [OUTSIDER, ADVISER], ids=["other-firm", "adviser-not-assigned"])
def test_an_outsider_gets_exactly_a_missing_customers_answer_and_changes_nothing(
    world: World, use_case: str, outsider: StaffContext
):
    customer = world.invite(by=ADMIN)
    offer_accounts(world.ports, FIRM_ID, customer.customer_id, [shared_account(customer, 1)])
    fakes = world.fakes
    before = (dict(fakes.customers.rows), dict(fakes.accounts.accounts), dict(fakes.customers.tokens))
    action = CUSTOMER_USE_CASES[use_case]

    found = refused(lambda: action(world.later(), outsider, customer.customer_id))
    missing = refused(lambda: action(world.later(), outsider, MISSING))

    assert found == missing == (404, "not_found")
    assert (dict(fakes.customers.rows), dict(fakes.accounts.accounts), dict(fakes.customers.tokens)) == before
    assert len(fakes.email.sent) == 1 and len(fakes.audit.events) == 1


# shared accounts (R-INV-5/6) -------------------------------------------------------------------------
def test_offered_accounts_arrive_new_once_and_put_the_customer_on_pending(world: World):
    customer = world.accepted()
    offered = [shared_account(customer, 1), shared_account(customer, 2)]

    assert offer_accounts(world.later(), FIRM_ID, customer.customer_id, offered) == 2
    assert offer_accounts(world.later(), FIRM_ID, customer.customer_id, offered) == 0

    assert [world.account(customer, n).status for n in (1, 2)] == [AccountStatus.NEW] * 2
    assert world.customer(customer).new_accounts == 2
    assert listed(world, ADMIN, Section.PENDING) == (
        [customer.customer_id],
        {"invited": 0, "pending": 1, "customers": 0, "ended": 0},
    )
    assert [a.account_id for a in list_shared_accounts(world.ports, ADMIN, customer.customer_id)] == [
        "acct-1",
        "acct-2",
    ]


def test_accepting_an_account_connects_it_and_tells_the_customer_in_the_app_and_by_email(world: World):
    customer = world.accepted()
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, [shared_account(customer, 1)])

    reviewed = review_account(
        world.later(), assigned_adviser(world, customer), customer.customer_id, "acct-1", Decision.ACCEPT
    )

    assert reviewed == world.account(customer, 1)
    assert (reviewed.status, reviewed.reviewed_by, reviewed.reviewed_at) == (
        AccountStatus.ACCEPTED,
        "adviser",
        world.clock.at,
    )
    stored = world.customer(customer)
    assert (stored.new_accounts, stored.accepted_accounts, stored.section) == (0, 1, Section.CUSTOMERS)
    [note] = world.fakes.notifications.added
    assert (note.user_id, note.kind, note.firm_id) == ("jane-sub", "account.accepted", FIRM_ID)
    assert (
        "reviewed an account" in world.fakes.email.sent[-1].subject
        and world.fakes.email.sent[-1].to == JANE.email
    )
    last = world.fakes.audit.log()[-1]
    assert (last.action, last.actor_id, last.target_type, last.target_id) == (
        "account.accepted",
        "adviser",
        "account",
        "acct-1",
    )


def test_an_accepted_account_gets_its_first_import_at_once_and_a_declined_one_none(world: World):
    """Issue 16 item 1: data right after accepting, through the same import worker and budget."""
    customer = world.accepted()
    offered = [shared_account(customer, 1), shared_account(customer, 2)]
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, offered)

    review_account(world.later(), ADMIN, customer.customer_id, "acct-2", Decision.DECLINE)
    assert world.fakes.imports.sent == []
    review_account(world.later(), ADMIN, customer.customer_id, "acct-1", Decision.ACCEPT)

    [(body, delay)] = world.fakes.imports.sent
    job = ImportJob.from_json(body)
    assert delay == 0
    assert (job.firm_id, job.customer_id, job.connection_id) == (
        FIRM_ID,
        customer.customer_id,
        offered[0].connection_id,
    )
    assert (job.reason, job.accounts) == (ImportReason.ACCEPTED, ("acct-1",))  # that account only


def test_a_queue_that_takes_no_job_does_not_undo_the_acceptance(world: World):
    customer = world.accepted()
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, [shared_account(customer, 1)])
    world.fakes.imports.failing = True

    reviewed = review_account(world.later(), ADMIN, customer.customer_id, "acct-1", Decision.ACCEPT)

    assert reviewed.status is AccountStatus.ACCEPTED == world.account(customer, 1).status
    assert world.fakes.imports.sent == []  # the night's import brings the data instead
    assert world.fakes.audit.log()[-1].action == "account.accepted"


def assigned_adviser(world: World, customer: Customer) -> StaffContext:
    """The adviser, once assigned to `customer`."""
    stored = world.customer(customer)
    world.fakes.customers.save(replace(stored, assignee_ids=("adviser",)), stored)
    return ADVISER


def test_a_declined_account_is_hidden_stays_declined_and_is_not_reviewed_again(world: World):
    customer = world.accepted()
    offered = [shared_account(customer, 1), shared_account(customer, 2)]
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, offered)

    review_account(world.later(), ADMIN, customer.customer_id, "acct-2", Decision.DECLINE)

    assert world.account(customer, 2).status is AccountStatus.DECLINED
    assert [a.account_id for a in list_shared_accounts(world.ports, ADMIN, customer.customer_id)] == [
        "acct-1"
    ]
    stored = world.customer(customer)
    assert (stored.new_accounts, stored.accepted_accounts, stored.section) == (1, 0, Section.PENDING)
    assert world.fakes.notifications.added[-1].kind == "account.declined"
    for decision in Decision:  # issue 16 item 9: a clear conflict, not a 404
        assert refused(
            lambda decision=decision: review_account(
                world.ports, ADMIN, customer.customer_id, "acct-2", decision
            )
        ) == (409, "account_declined")
    assert offer_accounts(world.later(), FIRM_ID, customer.customer_id, offered) == 0
    assert world.account(customer, 2).status is AccountStatus.DECLINED


def test_a_customer_whose_every_account_was_declined_stays_pending_not_invited(world: World):
    """Issue 16 item 9: they accepted and connected a bank (R-INV-5); declining does not undo that."""
    customer = world.accepted()
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, [shared_account(customer, 1)])
    review_account(world.later(), ADMIN, customer.customer_id, "acct-1", Decision.DECLINE)

    stored = world.customer(customer)
    assert (stored.new_accounts, stored.accepted_accounts, stored.declined_accounts) == (0, 0, 1)
    assert stored.section is Section.PENDING
    assert listed(world, ADMIN, Section.PENDING) == (
        [customer.customer_id],
        {"invited": 0, "pending": 1, "customers": 0, "ended": 0},
    )


def test_only_a_new_account_is_reviewed(world: World):
    customer = world.accepted()
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, [shared_account(customer, 1)])
    review_account(world.later(), ADMIN, customer.customer_id, "acct-1", Decision.ACCEPT)
    after_review = world.customer(customer), world.account(customer, 1)

    for decision in Decision:
        assert refused(
            lambda decision=decision: review_account(
                world.ports, ADMIN, customer.customer_id, "acct-1", decision
            )
        ) == (409, "account_already_reviewed")
    assert refused(
        lambda: review_account(world.ports, ADMIN, customer.customer_id, "acct-9", Decision.ACCEPT)
    ) == (404, "not_found")
    assert (world.customer(customer), world.account(customer, 1)) == after_review
    assert len(world.fakes.notifications.added) == 1


def test_of_two_reviews_of_one_account_at_once_only_the_first_is_written(world: World):
    customer = world.accepted()
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, [shared_account(customer, 1)])
    racing = world.read_now()  # it read the account while it was still new
    review_account(world.later(), ADMIN, customer.customer_id, "acct-1", Decision.ACCEPT)
    after_review = world.customer(customer), world.account(customer, 1)

    assert refused(
        lambda: review_account(racing, ADMIN, customer.customer_id, "acct-1", Decision.DECLINE)
    ) == (409, "concurrent_update")
    assert (world.customer(customer), world.account(customer, 1)) == after_review
    assert [n.kind for n in world.fakes.notifications.added] == ["account.accepted"]


def test_a_decision_stands_when_its_email_fails_and_the_app_still_tells_the_customer(world: World):
    customer = world.accepted()
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, [shared_account(customer, 1)])
    world.fakes.email.failing = True

    review_account(world.later(), ADMIN, customer.customer_id, "acct-1", Decision.ACCEPT)

    assert world.account(customer, 1).status is AccountStatus.ACCEPTED
    assert [n.kind for n in world.fakes.notifications.added] == ["account.accepted"]


def test_a_customer_who_has_not_accepted_yet_is_not_notified_of_a_review(world: World):
    customer = world.invite()
    offer_accounts(world.later(), FIRM_ID, customer.customer_id, [shared_account(customer, 1)])

    review_account(world.later(), ADMIN, customer.customer_id, "acct-1", Decision.ACCEPT)

    assert world.account(customer, 1).status is AccountStatus.ACCEPTED
    assert world.fakes.notifications.added == [] and len(world.fakes.email.sent) == 1
