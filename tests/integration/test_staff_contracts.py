"""One contract, two implementations, for what staff administration relies on (as
tests/integration/test_port_contracts.py for the rest): the staff list and profiles, a membership
changed under a condition with a check on another admin, firms listed for the operator, and the
Data Refresh rows written in the customer's transaction. Fakes: tests/staff_fakes.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest

from shared.domain.customers import Customer, issue_invitation
from shared.domain.errors import ConcurrentChange, StaffChanged
from shared.domain.identity import Firm, StaffMembership, StaffRole, UserProfile
from shared.domain.refresh import Connector, Engagement
from shared.ports.refresh import RowChange
from tests.fakes import FakeCustomers
from tests.integration.test_port_contracts import NOW
from tests.staff_fakes import FakeEngagementRows, StaffIdentities

FIRM, OTHER = "01JFIRMSTAFFCONTRACT0000000", "01JOTHERSTAFFCONTRACT000000"
Side = SimpleNamespace  # identities, customers, rows


@pytest.fixture(params=["fake", "dynamodb"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "fake":
        return Side(identities=StaffIdentities(), customers=FakeCustomers(), rows=FakeEngagementRows())
    request.getfixturevalue("aws")
    from shared.adapters.dynamodb.customers_repository import CustomersRepository
    from shared.adapters.dynamodb.engagement_rows_repository import EngagementRowsRepository
    from shared.adapters.dynamodb.identity_repository import IdentityRepository

    table = "data"
    return Side(
        identities=IdentityRepository(table),
        customers=CustomersRepository(table),
        rows=EngagementRowsRepository(table),
    )


def member(user_id: str, role: StaffRole = StaffRole.ADVISER, firm_id: str = FIRM) -> StaffMembership:
    return StaffMembership(firm_id, user_id, role)


def test_the_staff_list_holds_every_membership_of_the_firm_with_profiles_in_a_batch(side: Side):
    identities = side.identities
    for m in (member("ann", StaffRole.ADMIN), member("bob"), member("otto", firm_id=OTHER)):
        identities.put_membership(m)
    identities.put_membership(replace(member("cy"), active=False))
    identities.put_profile(UserProfile("ann", "ann@firm.example", "Ann"))
    listed = sorted(identities.list_staff(FIRM), key=lambda m: m.user_id)
    assert listed == [member("ann", StaffRole.ADMIN), member("bob"), replace(member("cy"), active=False)]
    assert identities.get_membership("cy", FIRM).active is False
    assert identities.get_profiles(["ann", "bob", "ann"]) == {
        "ann": UserProfile("ann", "ann@firm.example", "Ann")
    }
    assert identities.get_profiles([]) == {}


def test_a_membership_changes_only_as_read_and_while_the_other_admin_still_is_one(side: Side):
    identities = side.identities
    ann, bea = member("ann", StaffRole.ADMIN), member("bea", StaffRole.ADMIN)
    identities.put_membership(ann)
    identities.put_membership(bea)
    demoted = replace(bea, role=StaffRole.ADVISER)
    identities.save_membership(demoted, bea, other_admin=ann)
    assert identities.get_membership("bea", FIRM) == demoted
    with pytest.raises(StaffChanged):  # ann's change checks bea, who is no admin any more
        identities.save_membership(replace(ann, role=StaffRole.ADVISER), ann, other_admin=bea)
    with pytest.raises(StaffChanged):  # bea was read as an admin: stale
        identities.save_membership(replace(bea, active=False), bea, other_admin=None)
    assert identities.get_membership("ann", FIRM) == ann
    off = replace(demoted, active=False)
    identities.save_membership(off, demoted, other_admin=None)
    identities.save_membership(demoted, off, other_admin=None)
    assert identities.get_membership("bea", FIRM) == demoted
    with pytest.raises(StaffChanged):  # nobody to change
        identities.save_membership(member("zed"), member("zed"), other_admin=None)


def test_every_firm_is_listed_for_the_operator(side: Side):
    firms = [Firm(FIRM, "Firm", "Europe/London"), Firm(OTHER, "Other", "Europe/Paris")]
    for firm in firms:
        side.identities.put_firm(firm)
    assert sorted(side.identities.list_firms(), key=lambda f: f.firm_id) == firms


def test_the_rows_ride_on_the_customers_transaction_under_their_lock(side: Side):
    _, invitation = issue_invitation(NOW, None)
    customer = side.customers.save(
        Customer(FIRM, "01JCUSTSTAFFCONTRACT0000000", "Jane", "j@example.org", "owen", NOW, invitation), None
    )
    connector = Connector("k", "gocardless", "BANK", "Bank", True, NOW + timedelta(days=9))
    engagement = Engagement(
        FIRM, customer.customer_id, "Jane", "j@example.org", "owen", ("owen",), (connector,)
    )
    first = side.rows.save_engagement(engagement, None, "active")
    moved = replace(first, owner_id="nell", staff_ids=("nell",))
    handed = replace(customer, owner_id="nell")
    saved = side.customers.save(
        handed, customer, *side.rows.row_change_ops(RowChange(moved, first, "active"))
    )
    assert side.rows.get_engagement(FIRM, customer.customer_id) == replace(moved, version=2)
    assert side.rows.visible_engagements(FIRM, "owen", [customer.customer_id]) == {}
    assert list(side.rows.visible_engagements(FIRM, "nell", [customer.customer_id])) == [customer.customer_id]
    stale = side.rows.row_change_ops(RowChange(replace(moved, owner_id="ann"), first, "active"))
    with pytest.raises(ConcurrentChange):  # the rows moved on: neither the customer nor they change
        side.customers.save(replace(saved, name="Janet"), saved, *stale)
    assert side.customers.get(FIRM, customer.customer_id) == saved


def test_an_mfa_enrolment_is_written_once_with_its_audit_events_or_not_at_all(side: Side):
    """R-ID-4 (#90): put only if absent, in one transaction with what it carries (its audit events)."""
    from shared.domain.mfa import MfaEnrolment

    identities = side.identities
    first = MfaEnrolment("ann", NOW)
    assert identities.get_mfa_enrolment("ann") is None
    assert identities.save_mfa_enrolment(first, []) is True
    assert identities.get_mfa_enrolment("ann") == first
    assert identities.save_mfa_enrolment(replace(first, enrolled_at=NOW + timedelta(days=1)), []) is False
    assert identities.get_mfa_enrolment("ann") == first  # the first one stands
    assert identities.get_mfa_enrolment("bob") is None


def test_an_mfa_enrolment_is_removed_only_while_it_is_the_one_read(side: Side):
    """R-ID-4 (#106): a lapse or a reset removes the enrolment it read, not one confirmed meanwhile."""
    from shared.domain.mfa import MfaEnrolment

    identities = side.identities
    read = MfaEnrolment("ann", NOW)
    assert identities.remove_mfa_enrolment(read, []) is False  # nothing to remove
    identities.save_mfa_enrolment(read, [])
    assert identities.remove_mfa_enrolment(replace(read, enrolled_at=NOW - timedelta(days=1)), []) is False
    assert identities.get_mfa_enrolment("ann") == read  # another enrolment than the one read: kept
    assert identities.remove_mfa_enrolment(read, []) is True
    assert identities.get_mfa_enrolment("ann") is None
    assert identities.remove_mfa_enrolment(read, []) is False  # already gone
