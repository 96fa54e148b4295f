"""Staff administration rules on in-memory ports (tests/staff_fakes.py): the staff list, roles, the
last admin, deactivation (the next request is refused, the directory user disabled), reactivation;
assigning, unassigning and transferring customers with their Data Refresh rows (R-ID-2, R-ID-3,
R-ROLE-2, R-ACC-1). HTTP answers and the matrices run on moto.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from shared.auth import file_caller, staff_context
from shared.domain.customers import Customer, issue_invitation
from shared.domain.errors import DomainError
from shared.domain.file_access import CallerKind
from shared.domain.identity import Principal, StaffContext, StaffMembership, StaffRole, UserProfile
from shared.domain.refresh import Connector, Engagement
from shared.services import assignees, staff
from shared.services.customers import visible_customer
from shared.services.me import describe_caller
from tests.conftest import clock_start
from tests.fakes import FakeClock, FakesWorld, refused
from tests.staff_fakes import StaffFakes

pytestmark = pytest.mark.fakes

FIRM, OTHER_FIRM, CUSTOMER = "01JFIRMSTAFF000000000000000", "01JOTHERFIRM000000000000000", "01JCUSTOMER0"
PEOPLE = {  # user id: (role, name)
    "ann": (StaffRole.ADMIN, "Ann Admin"),
    "owen": (StaffRole.ADVISER, "Owen Owner"),
    "ada": (StaffRole.ADVISER, "Ada Assigned"),
    "nell": (StaffRole.ADVISER, "Nell New"),
}
NOT_FOUND, FORBIDDEN, LAST_ADMIN = (404, "not_found"), (403, "forbidden"), (409, "last_admin")


@dataclass
class World(FakesWorld):
    fakes: StaffFakes = field(default_factory=StaffFakes)

    def as_(self, user_id: str, firm_id: str = FIRM) -> StaffContext:
        return staff_context(Principal(user_id, f"{user_id}@firm.example"), self.fakes.identities, firm_id)

    @property
    def on_assignees(self) -> Any:
        return self.fakes.assignees_ports(self.clock)

    def customer(self) -> Customer:
        found = self.fakes.customers.get(FIRM, CUSTOMER)
        assert found is not None
        return found

    def sees(self, user_id: str) -> bool:
        """Whether this staff member gets the customer (the routes' visible_customer)."""
        try:
            visible_customer(self.on_assignees, self.as_(user_id), CUSTOMER)
        except DomainError:
            return False
        return True


@pytest.fixture
def world() -> World:
    world = World(FakeClock(clock_start()), StaffFakes())
    identities = world.fakes.identities
    for user_id, (role, name) in PEOPLE.items():
        identities.put_membership(StaffMembership(FIRM, user_id, role))
        identities.enrol(user_id)
        identities.put_profile(UserProfile(user_id, f"{user_id}@firm.example", name))
        world.fakes.directory.add(user_id, f"{user_id}@firm.example")
    identities.put_membership(StaffMembership(OTHER_FIRM, "otto", StaffRole.ADMIN))
    identities.enrol("otto")
    _, invitation = issue_invitation(world.start, None)
    customer = Customer(FIRM, CUSTOMER, "Jane", "jane@example.org", "owen", world.start, invitation, ("ada",))
    world.fakes.customers.save(customer, None)
    connector = Connector("k", "gocardless", "BANK", "Bank", True, world.start + timedelta(days=60))
    engagement = Engagement(FIRM, CUSTOMER, "Jane", "jane@example.org", "owen", ("owen", "ada"), (connector,))
    world.fakes.rows.save_engagement(engagement, None, "inactive")
    return world


# the staff list and roles --------------------------------------------------------------------
def test_every_staff_member_lists_the_firm_with_names_emails_roles_and_state(world):
    staff.deactivate(world.ports, world.as_("ann"), "nell")
    listed = staff.list_staff(world.later(), world.as_("ada"))
    assert [(m.user_id, m.name, m.email, m.role, m.active) for m in listed] == [
        ("ada", "Ada Assigned", "ada@firm.example", StaffRole.ADVISER, True),
        ("ann", "Ann Admin", "ann@firm.example", StaffRole.ADMIN, True),
        ("owen", "Owen Owner", "owen@firm.example", StaffRole.ADVISER, True),
        ("nell", "Nell New", "nell@firm.example", StaffRole.ADVISER, False),
    ]


def test_an_admin_changes_a_role_and_it_is_audited(world):
    changed = staff.change_role(world.ports, world.as_("ann"), "owen", StaffRole.ADMIN)
    assert (changed.role, changed.name) == (StaffRole.ADMIN, "Owen Owner")
    assert world.as_("owen").is_admin
    assert world.fakes.audit.trail() == [("staff.role_changed", "ann")]
    assert world.fakes.audit.log()[0].details == {"from": "adviser", "to": "admin"}
    staff.change_role(world.later(), world.as_("ann"), "owen", StaffRole.ADMIN)  # the same: nothing
    assert len(world.fakes.audit.log()) == 1


@pytest.mark.parametrize(
    "action",
    [
        lambda p, s: staff.change_role(p, s, "ada", StaffRole.ADMIN),
        lambda p, s: staff.deactivate(p, s, "ada"),
        lambda p, s: staff.reactivate(p, s, "ada"),
    ],
)
def test_advisers_cannot_change_staff(world, action):
    assert refused(lambda: action(world.ports, world.as_("owen"))) == FORBIDDEN
    assert world.fakes.audit.log() == [] and world.fakes.directory.calls == []


@pytest.mark.parametrize("user_id", ["nobody", "otto"])  # otto: an admin of another firm
def test_someone_not_of_the_firm_is_a_missing_member(world, user_id):
    admin = world.as_("ann")
    for action in (
        lambda: staff.change_role(world.ports, admin, user_id, StaffRole.ADVISER),
        lambda: staff.deactivate(world.ports, admin, user_id),
        lambda: staff.reactivate(world.ports, admin, user_id),
    ):
        assert refused(action) == NOT_FOUND
    assert world.fakes.identities.get_membership("otto", OTHER_FIRM).active


def test_the_last_active_admin_can_neither_step_down_nor_be_deactivated(world):
    admin = world.as_("ann")
    assert refused(lambda: staff.change_role(world.ports, admin, "ann", StaffRole.ADVISER)) == LAST_ADMIN
    assert refused(lambda: staff.deactivate(world.ports, admin, "ann")) == LAST_ADMIN
    staff.change_role(world.ports, admin, "owen", StaffRole.ADMIN)
    staff.deactivate(world.later(), world.as_("owen"), "ann")  # another admin now: allowed
    assert refused(
        lambda: staff.change_role(world.later(), world.as_("owen"), "owen", StaffRole.ADVISER)
    ) == (
        LAST_ADMIN  # ann is deactivated: owen is the last active admin
    )


def test_two_admins_demoting_each_other_at_once_leave_one_admin(world):
    staff.change_role(world.ports, world.as_("ann"), "owen", StaffRole.ADMIN)
    ann, owen = world.as_("ann"), world.as_("owen")
    identities = world.fakes.identities
    seen = replace(identities, memberships=dict(identities.memberships))  # both read before either writes
    ports_as_read = replace(world.ports, identities=_reads_from(seen, identities))
    staff.change_role(world.ports, ann, "owen", StaffRole.ADVISER)
    assert refused(lambda: staff.change_role(ports_as_read, owen, "ann", StaffRole.ADVISER)) == (
        409,
        "concurrent_update",
    )
    assert [m.user_id for m in identities.list_staff(FIRM) if m.is_active_admin] == ["ann"]


def _reads_from(seen: Any, live: Any) -> Any:
    class Earlier:
        def __getattr__(self, name: str) -> Any:
            return getattr(seen if name.startswith(("get", "list")) else live, name)

    return Earlier()


# deactivation ------------------------------------------------------------------------------------
def test_a_deactivated_member_is_refused_at_once_and_signed_out_of_the_directory(world):
    ada = world.as_("ada")  # a request before
    member = staff.deactivate(world.ports, world.as_("ann"), "ada")
    assert not member.active
    assert not world.fakes.directory.users["ada"].enabled
    assert world.fakes.audit.trail() == [("staff.deactivated", "ann")]
    identities = world.fakes.identities
    assert refused(lambda: staff_context(ada.principal, identities, None)) == (403, "staff_only")
    assert refused(lambda: staff_context(ada.principal, identities, FIRM)) == NOT_FOUND
    assert kind_on_file(world, ada.principal) is CallerKind.STRANGER
    assert describe_caller(ada.principal, identities).staff_of == []  # type: ignore[arg-type]


def test_deactivating_again_switches_the_directory_off_again_without_another_event(world):
    world.fakes.directory.failing = True
    with pytest.raises(RuntimeError):
        staff.deactivate(world.ports, world.as_("ann"), "ada")
    assert not world.fakes.identities.get_membership("ada", FIRM).active  # our record first: refused
    world.fakes.directory.failing = False
    staff.deactivate(world.later(), world.as_("ann"), "ada")  # the retry
    assert not world.fakes.directory.users["ada"].enabled
    assert world.fakes.audit.trail() == [("staff.deactivated", "ann")]


def test_a_person_with_access_elsewhere_keeps_their_account_when_one_firm_deactivates_them(world):
    """Review of issue 15: one pool user per person; firm A switching it off would lock them out of
    firm B, their own customer data and their grants. Our records refuse them in firm A at once."""
    asked: list[tuple[str, str]] = []

    def elsewhere(user_id: str, firm_id: str) -> bool:
        asked.append((user_id, firm_id))
        return True

    ada = world.as_("ada")
    ports = replace(world.ports, access_elsewhere=elsewhere)
    staff.deactivate(ports, world.as_("ann"), "ada")

    assert asked == [("ada", FIRM)]
    assert world.fakes.directory.users["ada"].enabled  # still signs in, for what else they may use
    identities = world.fakes.identities
    assert refused(lambda: staff_context(ada.principal, identities, FIRM)) == NOT_FOUND  # not here


def test_reactivation_lets_the_member_back_in(world):
    staff.deactivate(world.ports, world.as_("ann"), "ada")
    member = staff.reactivate(world.later(), world.as_("ann"), "ada")
    assert member.active and world.fakes.directory.users["ada"].enabled
    assert world.as_("ada").role is StaffRole.ADVISER
    assert world.fakes.audit.trail() == [("staff.deactivated", "ann"), ("staff.reactivated", "ann")]


class _NoFiles:
    def links_of(self, user_id: str) -> list[Any]:
        return []

    def get_grant(self, *args: Any) -> None:
        return None


def kind_on_file(world: Any, principal: Principal) -> CallerKind:
    """The caller's kind on CUSTOMER's file, from the staff fakes' records (no file grants here)."""
    identities = world.fakes.identities
    return file_caller(
        principal,
        None,
        CUSTOMER,
        memberships=identities,
        customers=world.fakes.customers,
        files=_NoFiles(),
        links=identities,
    ).kind


# assignment and transfer -------------------------------------------------------------------------
def test_an_admin_assigns_and_unassigns_an_adviser_and_the_rows_follow(world):
    assert not world.sees("nell")
    customer = assignees.assign(world.on_assignees, world.as_("ann"), CUSTOMER, "nell")
    assert customer.assignee_ids == ("ada", "nell") and world.sees("nell")
    assert world.fakes.rows.get_engagement(FIRM, CUSTOMER).staff_ids == ("owen", "ada", "nell")
    assert world.fakes.rows.visible_engagements(FIRM, "nell", [CUSTOMER])
    assignees.assign(world.on_assignees, world.as_("ann"), CUSTOMER, "nell")  # again: nothing
    assignees.unassign(world.on_assignees, world.as_("ann"), CUSTOMER, "ada")
    assert not world.sees("ada")
    assert not world.fakes.rows.visible_engagements(FIRM, "ada", [CUSTOMER])
    assert world.fakes.audit.trail() == [("customer.assigned", "ann"), ("customer.unassigned", "ann")]
    assert [e.customer_id for e in world.fakes.audit.log()] == [CUSTOMER, CUSTOMER]


def test_only_active_members_of_the_firm_are_assigned(world):
    staff.deactivate(world.ports, world.as_("ann"), "nell")
    admin = world.as_("ann")
    for user_id in ("nell", "otto", "nobody"):
        assert (
            refused(lambda u=user_id: assignees.assign(world.on_assignees, admin, CUSTOMER, u)) == NOT_FOUND
        )
        assert (
            refused(lambda u=user_id: assignees.transfer(world.on_assignees, admin, CUSTOMER, u)) == NOT_FOUND
        )
    assert world.customer().staff_ids == ("owen", "ada")


def test_unassigning_someone_not_assigned_or_the_owner_is_refused(world):
    admin = world.as_("ann")
    assert refused(lambda: assignees.unassign(world.on_assignees, admin, CUSTOMER, "nell")) == NOT_FOUND
    assert refused(lambda: assignees.unassign(world.on_assignees, admin, CUSTOMER, "owen")) == (
        409,
        "is_owner",
    )


def test_advisers_cannot_assign_or_transfer_even_their_own_customer(world):
    owen = world.as_("owen")
    assert refused(lambda: assignees.assign(world.on_assignees, owen, CUSTOMER, "nell")) == FORBIDDEN
    assert refused(lambda: assignees.unassign(world.on_assignees, owen, CUSTOMER, "ada")) == FORBIDDEN
    assert refused(lambda: assignees.transfer(world.on_assignees, owen, CUSTOMER, "nell")) == FORBIDDEN


def test_another_firms_customer_is_missing(world):
    otto = world.as_("otto", OTHER_FIRM)
    world.fakes.identities.put_membership(StaffMembership(OTHER_FIRM, "nell", StaffRole.ADVISER))
    assert refused(lambda: assignees.assign(world.on_assignees, otto, CUSTOMER, "nell")) == NOT_FOUND
    assert refused(lambda: assignees.transfer(world.on_assignees, otto, CUSTOMER, "nell")) == NOT_FOUND


def test_a_transfer_hands_over_the_customer_its_file_and_its_rows_at_once(world):
    before = world.fakes.rows.get_engagement(FIRM, CUSTOMER)
    customer = assignees.transfer(world.on_assignees, world.as_("ann"), CUSTOMER, "nell")
    assert (customer.owner_id, customer.assignee_ids) == ("nell", ("ada",))
    assert world.sees("nell") and world.sees("ada") and not world.sees("owen")
    rows = world.fakes.rows.get_engagement(FIRM, CUSTOMER)
    assert (rows.owner_id, rows.staff_ids, rows.version) == ("nell", ("nell", "ada"), before.version + 1)
    assert not world.fakes.rows.visible_engagements(FIRM, "owen", [CUSTOMER])
    assert kind_on_file(world, Principal("nell", "")) is CallerKind.FILE_MANAGER
    [event] = world.fakes.audit.log()
    assert (event.action, event.details) == ("customer.transferred", {"from": "owen", "to": "nell"})


def test_a_transfer_to_an_assignee_makes_them_owner_only(world):
    customer = assignees.transfer(world.on_assignees, world.as_("ann"), CUSTOMER, "ada")
    assert (customer.owner_id, customer.assignee_ids, customer.staff_ids) == ("ada", (), ("ada",))
    assignees.transfer(world.on_assignees, world.as_("ann"), CUSTOMER, "ada")  # again: nothing
    assert len(world.fakes.audit.log()) == 1


def test_a_transfer_without_an_engagement_writes_the_customer_only(world):
    world.fakes.rows.rows.clear()
    assignees.transfer(world.on_assignees, world.as_("ann"), CUSTOMER, "nell")
    assert world.customer().owner_id == "nell" and world.fakes.rows.rows == {}


def test_rows_a_first_connection_created_meanwhile_are_moved_too(world):
    """Review of issue 15: the transfer read no rows; a first connection then wrote them with the
    old owner. The transaction checks the rows are still absent, so it starts again and moves them."""
    rows = world.fakes.rows
    created = rows.get_engagement(FIRM, CUSTOMER)
    rows.rows.clear()
    first_read = [True]

    class ConnectionMeanwhile:
        def get_engagement(self, firm_id: str, customer_id: str) -> Engagement | None:
            if first_read.pop() if first_read else False:
                rows.save_engagement(replace(created, version=0), None, "active")  # old owner's
                return None  # as the transfer read it, a moment before
            return rows.get_engagement(firm_id, customer_id)

        def __getattr__(self, name: str) -> Any:
            return getattr(rows, name)

    ports = replace(world.on_assignees, rows=ConnectionMeanwhile())
    assignees.transfer(ports, world.as_("ann"), CUSTOMER, "nell")
    moved = rows.get_engagement(FIRM, CUSTOMER)
    assert moved.owner_id == "nell" and "owen" not in moved.staff_ids
    assert world.customer().owner_id == "nell"


def test_rows_that_moved_meanwhile_are_read_again(world):
    """An import wrote the engagement's rows between the transfer's read and its write: the
    transaction fails as a whole (the customer is not half-moved) and the transfer reads again."""
    rows = world.fakes.rows
    stale = rows.get_engagement(FIRM, CUSTOMER)
    reads = iter([stale])

    class ImportMeanwhile:
        def get_engagement(self, firm_id: str, customer_id: str) -> Engagement | None:
            current = rows.get_engagement(firm_id, customer_id)
            if (first := next(reads, None)) is not None:
                rows.save_engagement(replace(current, last_upload_at=world.start), current, "inactive")
                return first
            return current

        def __getattr__(self, name: str) -> Any:
            return getattr(rows, name)

    ports = replace(world.on_assignees, rows=ImportMeanwhile())
    assignees.transfer(ports, world.as_("ann"), CUSTOMER, "nell")
    moved = rows.get_engagement(FIRM, CUSTOMER)
    assert (moved.owner_id, moved.last_upload_at, moved.version) == ("nell", world.start, stale.version + 2)


def test_a_customer_has_a_bounded_number_of_assignees(world):
    identities, admin = world.fakes.identities, world.as_("ann")
    for n in range(assignees.MAX_ASSIGNEES):
        identities.put_membership(StaffMembership(FIRM, f"extra-{n}", StaffRole.ADVISER))
    for n in range(assignees.MAX_ASSIGNEES - 1):
        assignees.assign(world.on_assignees, admin, CUSTOMER, f"extra-{n}")
    last = f"extra-{assignees.MAX_ASSIGNEES - 1}"
    assert refused(lambda: assignees.assign(world.on_assignees, admin, CUSTOMER, last)) == (
        409,
        "too_many_assignees",
    )
