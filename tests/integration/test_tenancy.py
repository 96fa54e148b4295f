"""Tenancy by construction (issue 14): a staff use case runs on ports bound to the caller's firm,
so even a use case handed another firm's id (a bug) reads and writes nothing of that firm."""

from __future__ import annotations

from dataclasses import replace

import pytest

from functions.invitations_api import handler as invitations
from shared import bootstrap
from shared.auth import staff_context
from shared.domain.identity import Principal
from shared.ports.firm_bound import FirmBound, OtherFirm
from shared.services import customer_invitations, customers
from tests.integration.onboarding_support import ADMIN, OTHER_ADVISER, OTHER_FIRM, call, seed_firms


@pytest.fixture
def other_firms_customer(aws) -> str:
    """A customer invited by the other firm; returns its id."""
    seed_firms()
    status, customer = call(
        invitations,
        "POST",
        "/customers/invitations",
        OTHER_ADVISER,
        body={"name": "Ann", "email": "ann@x.org"},
    )
    assert status == 201
    return customer["customer_id"]


def admin() -> object:
    return staff_context(Principal(ADMIN.sub, ADMIN.email), bootstrap.identity_repository(), None)


def test_staff_ports_are_bound_to_the_callers_firm(other_firms_customer):
    staff = admin()
    ports = bootstrap.onboarding_for(staff)
    assert isinstance(ports.customers, FirmBound) and ports.customers.firm_id == staff.firm_id
    assert isinstance(ports.audit, FirmBound) and isinstance(ports.accounts, FirmBound)
    # the unbound store finds the other firm's customer; the bound one refuses to look
    assert bootstrap.onboarding().customers.get(OTHER_FIRM.firm_id, other_firms_customer) is not None
    with pytest.raises(OtherFirm):
        ports.customers.get(OTHER_FIRM.firm_id, other_firms_customer)


def test_a_use_case_handed_another_firm_reads_nothing_of_it(other_firms_customer):
    """The bug tenancy by construction rules out: a staff context that names another firm reaches
    a use case (here, forged by hand). On bound ports it gets the plain 404, nothing is read."""
    staff = admin()
    forged = replace(staff, firm_id=OTHER_FIRM.firm_id)
    with pytest.raises(OtherFirm) as refused:
        customers.visible_customer(bootstrap.onboarding_for(staff), forged, other_firms_customer)
    assert refused.value.status == 404
    # on unbound ports the same forged context would have read it: the binding is what stops it
    assert customers.visible_customer(bootstrap.onboarding(), forged, other_firms_customer).name == "Ann"


def test_a_write_for_another_firm_is_refused_before_it_is_made(other_firms_customer):
    staff = admin()
    forged = replace(staff, firm_id=OTHER_FIRM.firm_id)
    before = bootstrap.onboarding().customers.get(OTHER_FIRM.firm_id, other_firms_customer)
    with pytest.raises(OtherFirm):
        customer_invitations.revoke_invitation(bootstrap.onboarding_for(staff), forged, other_firms_customer)
    assert bootstrap.onboarding().customers.get(OTHER_FIRM.firm_id, other_firms_customer) == before


def test_access_elsewhere_reads_the_persons_other_firms_customer_links_and_grants(aws):
    """What decides whether deactivating a member in one firm may switch their pool user off."""
    from shared.domain.identity import CustomerLink, StaffMembership, StaffRole

    seed_firms()
    identities = bootstrap.identity_repository()
    firm = staff_context(Principal(ADMIN.sub, ADMIN.email), identities, None).firm_id
    assert bootstrap.access_elsewhere(ADMIN.sub, firm) is False  # staff of this firm only
    identities.put_membership(StaffMembership(OTHER_FIRM.firm_id, ADMIN.sub, StaffRole.ADVISER))
    assert bootstrap.access_elsewhere(ADMIN.sub, firm) is True
    assert bootstrap.access_elsewhere("someone-else", firm) is False
    identities.put_customer_link(
        "someone-else", CustomerLink(OTHER_FIRM.firm_id, "01JCUSTOMER0000000000000000")
    )
    assert bootstrap.access_elsewhere("someone-else", firm) is True
