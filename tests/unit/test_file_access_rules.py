"""File access rules on the in-memory ports (tests/fakes.py): no moto, no HTTP (R-ACC-1..6, R-INV-2/4).

Grants to family members and external advisers, their invitations, single-use tokens and reminders,
revocation, levels. The HTTP answers (bad input, other files' ids, the caller x route matrix), real
concurrency and the journeys stay on moto in tests/integration/test_file_*.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from shared.domain.audit import AuditEvent
from shared.domain.customers import Customer, hash_token, issue_invitation
from shared.domain.file_access import CallerKind
from shared.domain.files import AccessLevel, AdviserType, FamilyMember, Grant, Relation, Subject, SubjectType
from shared.domain.identity import CustomerLink, Firm, Principal, StaffMembership, StaffRole, UserProfile
from shared.ports.files import FileLink

# The use cases, by their public names: the one place to repoint when the service module is split.
from shared.services.file_access import (
    FileActor,
    accept_file_invitation,
    grant_adviser_access,
    grant_member_access,
    list_access,
    list_my_files,
    read_access_log,
    register_adviser,
    revoke_adviser_access,
    revoke_member_access,
    send_due_file_reminders,
    verify_file_invitation,
)
from shared.services.files import add_member, view_file
from tests.calendar_matrix import demo_firm_zone, scheduled_run
from tests.conftest import clock_start
from tests.fakes import FakeClock, FakesWorld, FileAccessFakes, read_now, refused

pytestmark = pytest.mark.fakes

FIRM_ID, FILE_ID = "01JFIRMFILEACCESS0000000000", "01JFILEACCESS00000000000000"
PHONE = "+33612345678"
KID = Principal("kid-sub", "kid@example.org")
HOLDER = Principal("holder-sub", "jane.holder@example.org")
NOTARY = Principal("notary-sub", "dupont@etude.example")
MANAGER, ASSISTANT, ADMIN = (
    FileActor(Principal(s, f"{s}@firm.example")) for s in ("manager", "assistant", "admin")
)
INVALID = (404, "invitation_invalid")
FORBIDDEN = (403, "file_action_forbidden")
NOTHING_DONE = {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}


@dataclass
class World(FakesWorld):
    """A customer's file managed by MANAGER (ASSISTANT assigned), with members by name; the file
    services on fakes, with their clock. Requests are a minute apart."""

    fakes: FileAccessFakes = field(default_factory=FileAccessFakes)
    members: dict[str, str] = field(default_factory=dict)  # name -> member id

    def __post_init__(self) -> None:
        super().__post_init__()
        identities = self.fakes.identities
        identities.firms[FIRM_ID] = Firm(FIRM_ID, "Demo Advisory LLP", demo_firm_zone())
        for staff, role in (
            (MANAGER, StaffRole.ADVISER),
            (ASSISTANT, StaffRole.ADVISER),
            (ADMIN, StaffRole.ADMIN),
        ):
            identities.put_membership(StaffMembership(FIRM_ID, staff.principal.user_id, role))
            identities.enrol(staff.principal.user_id)
        _, invitation = issue_invitation(self.start, None)
        customer = Customer(
            firm_id=FIRM_ID, customer_id=FILE_ID, name="Jane Holder", email=HOLDER.email, owner_id="manager",
            created_at=self.start, invitation=invitation, assignee_ids=("assistant",),
        )  # fmt: skip
        customers = self.fakes.customers
        self.customer = customers.save(customer, None, customers.email_claim(customer))
        for name, relation in (
            ("Jane Holder", Relation.HOLDER),
            ("Kid", Relation.CHILD),
            ("Twin", Relation.CHILD),
        ):
            self.add_member(name, relation)

    def add_member(self, name: str, relation: Relation) -> str:
        member_id = f"01JMEMBER{len(self.members):018d}"
        member = FamilyMember(FIRM_ID, FILE_ID, member_id, name, relation, None, "manager", self.start)
        self.fakes.files.put_entry(member, new=True)
        self.members[name] = member_id
        return member_id

    def grant(
        self,
        name: str,
        email: str = KID.email,
        level: AccessLevel = AccessLevel.READ_ONLY,
        by: FileActor = MANAGER,
    ) -> Grant:
        return grant_member_access(
            self.later(), by, FILE_ID, self.members[name], email=email, phone=PHONE, level=level
        )

    def accept(self, person: Principal = KID) -> Any:
        return accept_file_invitation(self.later(), person, self.tokens(person.email)[-1])

    def stored(self, name: str) -> Grant | None:
        return self.fakes.files.get_grant(FIRM_ID, FILE_ID, Subject(SubjectType.MEMBER, self.members[name]))

    def tokens(self, to: str = KID.email) -> list[str]:
        return self.fakes.email.tokens(to)

    def remind_on(self, day: int) -> dict[str, int]:
        """The daily reminders run on the firm's local day `day` after the world's start."""
        self.clock.at = scheduled_run(self.start, day, demo_firm_zone())
        return send_due_file_reminders(self.ports)


@pytest.fixture
def world() -> World:
    return World(FakeClock(clock_start()))


def me(person: Principal) -> FileActor:
    return FileActor(person)


# granting ------------------------------------------------------------------------------------------
def test_granting_someone_without_an_account_invites_them_with_a_single_use_link(world: World):
    grant = world.grant("Kid", email=" Kid@Example.org")

    assert world.stored("Kid") == grant and (grant.user_id, grant.version) == (None, 1)
    assert (grant.email, grant.phone, grant.level, grant.granted_by) == (
        KID.email, PHONE, AccessLevel.READ_ONLY, "manager",
    )  # fmt: skip
    [email] = world.fakes.email.sent
    assert email.to == KID.email and email.subject == "Demo Advisory LLP gives you access to a client file"
    [token] = world.tokens()
    check = verify_file_invitation(world.ports, token)
    assert (check.firm_name, check.level) == ("Demo Advisory LLP", AccessLevel.READ_ONLY)
    [event] = world.fakes.audit.log()
    assert (event.action, event.actor_id, event.details) == (
        "access.granted", "manager", {"subject_type": "member", "level": "read_only", "via": "invitation"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "person", "kind"),
    [("Kid", KID, CallerKind.MEMBER_RW), ("Jane Holder", HOLDER, CallerKind.HOLDER_RW)],
    ids=["known-grantee", "the-firms-customer"],
)
def test_granting_someone_known_by_their_email_gives_them_access_at_once(
    world: World, name: str, person: Principal, kind: CallerKind
):
    """A person who accepted a file invitation with this email before, or the firm's customer who
    accepted theirs, is bound at once and told; no invitation is sent (R-ACC-3)."""
    if person == KID:
        world.fakes.files.transact([world.fakes.files.account_put(KID.email, KID.user_id)])
    else:
        customer = world.customer
        world.fakes.customers.save(customer.accepted_by(HOLDER.user_id, world.start), customer)

    grant = world.grant(name, email=person.email, level=AccessLevel.READ_WRITE)

    assert grant.user_id == person.user_id and grant.invitation is None and world.fakes.files.tokens == {}
    assert world.fakes.files.links_of(person.user_id) == [
        FileLink(FIRM_ID, FILE_ID, "Jane Holder", Subject(SubjectType.MEMBER, world.members[name]))
    ]
    [note] = world.fakes.notifications.added
    assert (note.user_id, note.kind) == (person.user_id, "file_access.granted")
    [email] = world.fakes.email.sent
    assert (
        email.subject == "Demo Advisory LLP gave you access to a client file"
        and world.tokens(person.email) == []
    )
    assert world.fakes.audit.log()[-1].details["via"] == "account"
    [mine] = list_my_files(world.ports, person)
    assert (mine.file_id, mine.kind, mine.level) == (FILE_ID, kind, AccessLevel.READ_WRITE)


def test_saving_a_pending_grant_again_resends_a_fresh_link_at_the_new_level(world: World):
    world.grant("Kid")

    again = world.grant("Kid", level=AccessLevel.READ_WRITE)

    assert (again.user_id, again.level, again.version) == (None, AccessLevel.READ_WRITE, 2)
    first, second = world.tokens()
    assert list(world.fakes.files.tokens) == [hash_token(second)]
    assert refused(lambda: verify_file_invitation(world.ports, first)) == INVALID
    assert verify_file_invitation(world.ports, second).level is AccessLevel.READ_WRITE
    assert [action for action, _ in world.fakes.audit.trail()] == [
        "access.granted", "access.level_changed", "access.invitation_resent",
    ]  # fmt: skip


def test_an_accepted_access_stays_with_its_person_who_may_get_another_level_or_phone(world: World):
    world.grant("Kid")
    world.accept()
    bound = world.stored("Kid")

    assert refused(lambda: world.grant("Kid", email="someone.else@example.org")) == (
        409,
        "access_bound_to_person",
    )
    assert world.stored("Kid") == bound
    unchanged = world.grant("Kid")  # the same again: nothing written
    assert unchanged == bound == world.stored("Kid")
    changed = grant_member_access(
        world.later(), MANAGER, FILE_ID, world.members["Kid"], email=KID.email, phone="+33700000000",
        level=AccessLevel.READ_WRITE,
    )  # fmt: skip

    assert changed == world.stored("Kid") and changed.version == bound.version + 1
    assert (changed.user_id, changed.phone, changed.level) == (
        KID.user_id,
        "+33700000000",
        AccessLevel.READ_WRITE,
    )
    change = world.fakes.audit.log()[-1]
    assert (change.action, change.details) == (
        "access.level_changed",
        {"from": "read_only", "to": "read_write"},
    )
    assert [f.level for f in list_my_files(world.ports, KID)] == [AccessLevel.READ_WRITE]


def test_one_person_holds_one_grant_per_file(world: World):
    world.grant("Kid")
    world.grant("Twin")  # the same address, invited twice before they had an account
    kid_token, twin_token = world.tokens()
    accept_file_invitation(world.later(), KID, kid_token)
    # Known by their email now: another grant would bind to them at once.
    world.add_member("Third", Relation.CHILD)
    assert refused(lambda: world.grant("Third")) == (409, "already_has_access")
    # The other invitation to their address cannot give them a second grant on this file.
    assert refused(lambda: accept_file_invitation(world.ports, KID, twin_token)) == (
        409,
        "already_has_access",
    )
    assert world.stored("Twin").user_id is None and len(world.fakes.files.links_of(KID.user_id)) == 1


def test_a_grant_for_a_member_removed_meanwhile_is_refused_and_sends_nothing(world: World):
    racing = replace(
        world.ports, files=(seen := read_now(world.fakes.files)), grants=seen
    )  # it read the member
    kid = world.fakes.files.get_member(FIRM_ID, FILE_ID, world.members["Kid"])
    world.fakes.files.delete_entry(kid)

    assert refused(
        lambda: grant_member_access(
            racing, MANAGER, FILE_ID, kid.member_id, email=KID.email, phone=PHONE, level=AccessLevel.READ_ONLY
        )
    ) == (409, "concurrent_update")
    assert world.stored("Kid") is None and world.fakes.files.tokens == {} and world.fakes.email.sent == []


# who may grant (R-ACC-1/4/5) -------------------------------------------------------------------------
def test_a_read_write_holder_grants_other_family_members_but_not_central_ones(world: World):
    world.add_member("John Co", Relation.CO_HOLDER)
    world.grant("Jane Holder", email=HOLDER.email, level=AccessLevel.READ_WRITE)
    world.accept(HOLDER)

    by_holder = world.grant("Kid", by=me(HOLDER))

    assert by_holder.granted_by == HOLDER.user_id and world.stored("Kid") == by_holder
    assert refused(lambda: world.grant("John Co", email="john@example.org", by=me(HOLDER))) == FORBIDDEN
    assert refused(lambda: world.grant("Twin", email="twin@example.org", by=ASSISTANT)) == FORBIDDEN
    assert world.stored("John Co") is None and world.stored("Twin") is None


def test_a_read_only_holder_grants_nobody(world: World):
    world.grant("Jane Holder", email=HOLDER.email)
    world.accept(HOLDER)

    assert refused(lambda: world.grant("Kid", by=me(HOLDER))) == FORBIDDEN
    assert world.stored("Kid") is None


def test_only_the_file_manager_registers_external_advisers_and_grants_them(world: World):
    def register(who: FileActor) -> Any:
        return register_adviser(
            world.later(), who, FILE_ID, name=" Maître Dupont ", email="Dupont@Etude.example", phone=PHONE,
            adviser_type=AdviserType.NOTARY,
        )  # fmt: skip

    for outsider in (ASSISTANT, ADMIN):
        assert refused(lambda outsider=outsider: register(outsider)) == FORBIDDEN

    adviser = register(MANAGER)
    assert (adviser.name, adviser.email, adviser.registered_by) == ("Maître Dupont", NOTARY.email, "manager")
    assert world.fakes.files.get_adviser(FIRM_ID, FILE_ID, adviser.adviser_id) == adviser
    assert (
        refused(
            lambda: grant_adviser_access(
                world.ports, ASSISTANT, FILE_ID, adviser.adviser_id, level=AccessLevel.READ_WRITE
            )
        )
        == FORBIDDEN
    )
    grant_adviser_access(world.later(), MANAGER, FILE_ID, adviser.adviser_id, level=AccessLevel.READ_WRITE)
    world.accept(NOTARY)
    [mine] = list_my_files(world.ports, NOTARY)
    assert (mine.kind, mine.level, mine.file_label) == (
        CallerKind.ADVISER_RW,
        AccessLevel.READ_WRITE,
        "Jane Holder",
    )
    view = list_access(world.ports, MANAGER, FILE_ID)
    assert [(a.adviser.adviser_id, a.grant.user_id) for a in view.advisers] == [
        (adviser.adviser_id, NOTARY.user_id)
    ]
    revoke_adviser_access(world.later(), MANAGER, FILE_ID, adviser.adviser_id)
    assert list_my_files(world.ports, NOTARY) == []


# revoking -------------------------------------------------------------------------------------------
def test_revoking_a_members_access_ends_it_and_a_second_revoke_finds_nothing(world: World):
    world.grant("Kid", level=AccessLevel.READ_WRITE)
    world.accept()

    revoke_member_access(world.later(), MANAGER, FILE_ID, world.members["Kid"])

    assert world.stored("Kid") is None and world.fakes.files.links_of(KID.user_id) == []
    assert list_my_files(world.ports, KID) == []
    revoked = world.fakes.audit.log()[-1]
    assert (revoked.action, revoked.details) == (
        "access.revoked",
        {"subject_type": "member", "level": "read_write"},
    )
    assert refused(lambda: revoke_member_access(world.ports, MANAGER, FILE_ID, world.members["Kid"])) == (
        404, "access_not_found",
    )  # fmt: skip


def test_revoking_a_pending_invitation_kills_its_link(world: World):
    world.grant("Kid")
    [token] = world.tokens()

    revoke_member_access(world.later(), MANAGER, FILE_ID, world.members["Kid"])

    assert world.stored("Kid") is None and world.fakes.files.tokens == {}
    assert refused(lambda: verify_file_invitation(world.ports, token)) == INVALID


def test_a_holders_access_is_never_revoked_and_the_attempt_is_audited(world: World):
    world.grant("Jane Holder", email=HOLDER.email)
    world.accept(HOLDER)
    granted = world.stored("Jane Holder")

    holder_id = world.members["Jane Holder"]
    assert refused(lambda: revoke_member_access(world.ports, MANAGER, FILE_ID, holder_id)) == (
        409, "access_irrevocable",
    )  # fmt: skip
    assert world.stored("Jane Holder") == granted and len(list_my_files(world.ports, HOLDER)) == 1
    refusal = world.fakes.audit.log()[-1]
    assert (refusal.action, refusal.details) == (
        "access.revoke_refused",
        {"reason": "holder_access_is_permanent"},
    )


# accepting (R-INV-2) -------------------------------------------------------------------------------
def test_accepting_binds_the_grant_uses_the_token_and_indexes_the_invited_address(world: World):
    world.grant("Kid")
    [token] = world.tokens()
    signed_in_as = Principal(KID.user_id, "Kid@Example.ORG")  # the invited address, as the pool spells it

    mine = accept_file_invitation(world.later(), signed_in_as, token)

    assert (mine.file_id, mine.kind, mine.level) == (FILE_ID, CallerKind.MEMBER_RO, AccessLevel.READ_ONLY)
    bound = world.stored("Kid")
    assert (bound.user_id, bound.invitation, bound.version) == (KID.user_id, None, 2)
    assert world.fakes.files.tokens == {}
    assert [link.file_label for link in world.fakes.files.links_of(KID.user_id)] == ["Jane Holder"]
    assert world.fakes.files.find_account(KID.email) == KID.user_id  # the invited address, normalised
    assert world.fakes.identities.get_profile(KID.user_id) == UserProfile(
        KID.user_id, signed_in_as.email, "Kid"
    )
    assert world.fakes.audit.trail()[-1] == ("access.accepted", KID.user_id)
    for again in (lambda: verify_file_invitation(world.ports, token), lambda: world.accept()):
        assert refused(again) == INVALID


def test_of_two_people_accepting_one_link_at_once_only_the_first_is_bound(world: World):
    world.grant("Kid")
    [token] = world.tokens()
    racing = replace(
        world.ports, files=(seen := read_now(world.fakes.files)), grants=seen
    )  # it read the grant, still pending
    accept_file_invitation(world.later(), KID, token)

    someone = Principal("someone-sub", KID.email)  # another identity with the invited address
    assert refused(lambda: accept_file_invitation(racing, someone, token)) == INVALID
    assert world.stored("Kid").user_id == KID.user_id and world.fakes.files.links_of("someone-sub") == []


def test_an_address_already_known_as_someone_else_is_not_taken_over(world: World):
    world.grant("Kid")
    # Meanwhile the address was indexed for another identity (they accepted another file with it).
    world.fakes.files.transact([world.fakes.files.account_put(KID.email, "someone-sub")])

    assert refused(lambda: world.accept()) == INVALID
    assert world.stored("Kid").user_id is None and world.fakes.files.find_account(KID.email) == "someone-sub"
    assert world.fakes.files.links_of(KID.user_id) == []


def test_a_link_works_until_its_invitation_expires(world: World):
    grant = world.grant("Kid")
    [token] = world.tokens()
    assert grant.invitation is not None
    world.clock.at = grant.invitation.expires_at - timedelta(seconds=1)
    assert verify_file_invitation(world.ports, token).level is AccessLevel.READ_ONLY

    world.clock.at = grant.invitation.expires_at
    assert refused(lambda: verify_file_invitation(world.ports, token)) == INVALID
    assert refused(lambda: accept_file_invitation(world.ports, KID, token)) == INVALID
    assert world.stored("Kid").user_id is None


# reminders (R-INV-4) ---------------------------------------------------------------------------------
@pytest.mark.calendar
def test_reminders_on_day_7_and_30_are_sent_once_each_then_the_invitation_expires(world: World):
    world.start = world.grant("Kid").granted_at

    outcomes = [world.remind_on(day) for day in (1, 7, 7, 8, 30, 30, 31)]

    assert [o["reminders_sent"] for o in outcomes] == [0, 1, 0, 0, 1, 0, 0]
    assert [e.subject for e in world.fakes.email.sent] == [
        "Demo Advisory LLP gives you access to a client file",
        "Reminder: Demo Advisory LLP gives you access to a client file",
        "Reminder: Demo Advisory LLP gives you access to a client file",
    ]
    *stale, newest = world.tokens()
    assert (
        len({*stale, newest}) == 3
        and verify_file_invitation(world.ports, newest).level is AccessLevel.READ_ONLY
    )
    for token in stale:
        assert refused(lambda token=token: verify_file_invitation(world.ports, token)) == INVALID
    reminded = [
        e.details["days"] for e in world.fakes.audit.log() if e.action == "access.invitation_reminded"
    ]
    assert reminded == [7, 30]

    assert world.remind_on(46) == NOTHING_DONE | {"expired": 1}
    assert refused(lambda: verify_file_invitation(world.ports, newest)) == INVALID
    assert world.remind_on(47) == NOTHING_DONE
    assert world.fakes.audit.trail()[-1] == ("access.invitation_expired", "system")
    # Saving the grant again sends a fresh invitation, reminded from zero.
    again = world.grant("Kid")
    assert again.invitation is not None and again.invitation.reminders_sent == ()
    assert verify_file_invitation(world.ports, world.tokens()[-1]).level is AccessLevel.READ_ONLY


@pytest.mark.calendar
def test_a_missed_day_7_run_sends_one_reminder_on_day_31(world: World):
    world.start = world.grant("Kid").granted_at

    assert world.remind_on(31) == NOTHING_DONE | {"reminders_sent": 1}
    assert world.remind_on(31) == NOTHING_DONE
    assert world.stored("Kid").invitation.reminders_sent == (7, 30)
    assert sum(e.subject.startswith("Reminder") for e in world.fakes.email.sent) == 1


def test_a_reminder_that_could_not_be_sent_is_tried_again_and_its_link_works(world: World):
    world.start = world.grant("Kid").granted_at
    world.fakes.email.failing = True

    assert world.remind_on(7) == NOTHING_DONE | {"failed": 1}
    assert world.stored("Kid").invitation.reminders_sent == ()  # the claim is released

    world.fakes.email.failing = False
    assert world.remind_on(8) == NOTHING_DONE | {"reminders_sent": 1}
    assert world.remind_on(9) == NOTHING_DONE
    assert verify_file_invitation(world.ports, world.tokens()[-1]).level is AccessLevel.READ_ONLY


def test_a_reminders_run_that_lost_the_race_skips_the_grant(world: World):
    world.start = world.grant("Kid").granted_at
    world.clock.at = scheduled_run(world.start, 7, demo_firm_zone())
    racing = replace(world.ports, files=(seen := read_now(world.fakes.files)), grants=seen)
    assert send_due_file_reminders(world.ports)["reminders_sent"] == 1

    assert send_due_file_reminders(racing) == NOTHING_DONE | {"skipped": 1}
    assert len(world.fakes.email.sent) == 2


def test_accepted_grants_and_grants_of_a_deleted_file_get_no_reminder(world: World):
    world.start = world.grant("Kid").granted_at
    world.accept()
    world.grant("Twin", email="twin@example.org")
    del world.fakes.customers.rows[(FIRM_ID, FILE_ID)]  # the client file is gone

    assert world.remind_on(7) == NOTHING_DONE | {"skipped": 1}
    assert len(world.fakes.email.sent) == 2 and world.stored("Twin").invitation.reminders_sent == ()


# the access log (R-ROLE-3) --------------------------------------------------------------------------
def test_the_access_log_pages_through_access_events_only_skipping_none(world: World):
    def other_event() -> None:  # an event of the customer that is not an access one
        world.clock.at += timedelta(seconds=30)
        world.fakes.audit.record(
            AuditEvent(
                FIRM_ID, "manager", "customer.renamed", "customer", FILE_ID, {}, world.clock.at, FILE_ID
            )
        )

    other_event()
    for name, email in (("Kid", KID.email), ("Twin", "twin@example.org"), ("Jane Holder", HOLDER.email)):
        world.grant(name, email=email)
    other_event()
    pages, cursor = [], None
    while True:
        page, cursor = read_access_log(world.ports, MANAGER, FILE_ID, cursor=cursor, limit=2)
        pages.append([e.target_id for e in page])
        if cursor is None:
            break

    granted = [world.members[name] for name in ("Jane Holder", "Twin", "Kid")]
    assert pages == [granted[:2], granted[2:]]  # newest first, full pages
    assert (
        refused(lambda: read_access_log(world.ports, ASSISTANT, FILE_ID, cursor=None, limit=2)) == FORBIDDEN
    )


# the file's own customer (issue 16) ----------------------------------------------------------------
JANE = Principal("jane-customer-sub", "jane.holder@example.org")  # the customer the file is of


def customer_accepted(world: World, person: Principal = JANE, file_id: str = FILE_ID) -> None:
    """`person` accepted the customer invitation of `file_id`: the customer record names them and
    their link to it is written (as the acceptance's transaction does)."""
    customers, identities = world.fakes.customers, world.fakes.identities
    record = customers.get(FIRM_ID, file_id)
    customers.save(replace(record, user_id=person.user_id, accepted_at=world.start), record)
    identities.links[(person.user_id, FIRM_ID, file_id)] = CustomerLink(FIRM_ID, file_id)


def test_the_files_own_customer_reads_it_without_a_grant_and_changes_nothing(world: World):
    assert refused(lambda: view_file(world.ports, me(JANE), FILE_ID)) == (404, "not_found")  # not yet
    customer_accepted(world)

    seen = view_file(world.ports, me(JANE), FILE_ID)

    assert (seen.scope.kind, seen.scope.grant) == (CallerKind.CUSTOMER, None)
    assert {m.name for m in seen.contents.members} == {"Jane Holder", "Kid", "Twin"}
    new_member = {"name": "X", "relation": Relation.OTHER, "birth_date": None}
    assert refused(lambda: add_member(world.ports, me(JANE), FILE_ID, **new_member)) == FORBIDDEN
    assert refused(lambda: list_access(world.ports, me(JANE), FILE_ID)) == FORBIDDEN  # contacts: holders
    assert refused(lambda: world.grant("Kid", by=me(JANE))) == FORBIDDEN
    [mine] = list_my_files(world.ports, JANE)
    assert (mine.file_id, mine.firm_name, mine.file_label, mine.kind, mine.level) == (
        FILE_ID,
        "Demo Advisory LLP",
        "Jane Holder",
        CallerKind.CUSTOMER,
        AccessLevel.READ_ONLY,
    )
    assert world.fakes.audit.log() == []  # a read changes nothing


def test_a_link_to_another_persons_customer_record_opens_nothing(world: World):
    """Only the customer record that names the caller counts: a link alone (or someone else's
    acceptance) gives a stranger's 404, and their files list stays empty."""
    customer_accepted(world)
    world.fakes.identities.links[(KID.user_id, FIRM_ID, FILE_ID)] = CustomerLink(FIRM_ID, FILE_ID)

    assert refused(lambda: view_file(world.ports, me(KID), FILE_ID)) == (404, "not_found")
    assert list_my_files(world.ports, KID) == []
    elsewhere = "01JSOMEOTHERFILE00000000000"
    assert refused(lambda: view_file(world.ports, me(JANE), elsewhere)) == (404, "not_found")


def test_a_customer_granted_holder_access_gets_the_grants_level_listed_once(world: World):
    customer_accepted(world)
    world.grant("Jane Holder", email=JANE.email, level=AccessLevel.READ_WRITE)  # known: bound at once

    seen = view_file(world.ports, me(JANE), FILE_ID)

    assert seen.scope.kind is CallerKind.HOLDER_RW
    assert [(f.file_id, f.kind, f.level) for f in list_my_files(world.ports, JANE)] == [
        (FILE_ID, CallerKind.HOLDER_RW, AccessLevel.READ_WRITE)
    ]
