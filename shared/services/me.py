"""Who am I: the caller's profile, the firms they work for and the firms they are a customer of."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import active_memberships
from shared.domain.identity import Principal, StaffRole
from shared.ports.identity import IdentityStore


@dataclass(frozen=True)
class StaffOf:
    firm_id: str
    firm_name: str
    role: StaffRole


@dataclass(frozen=True)
class CustomerOf:
    firm_id: str
    firm_name: str
    customer_id: str


@dataclass(frozen=True)
class CallerDescription:
    user_id: str
    email: str
    name: str | None
    staff_of: list[StaffOf]
    customer_of: list[CustomerOf]
    mfa_required: bool  # on the staff of a firm: staff routes answer only with a second factor (R-ID-4)
    mfa_enrolled: bool  # our record of it (POST /me/mfa/confirm)


def describe_caller(principal: Principal, identities: IdentityStore) -> CallerDescription:
    profile = identities.get_profile(principal.user_id)
    memberships = active_memberships(identities, principal.user_id)
    links = identities.list_customer_links(principal.user_id)
    firms = identities.get_firms([m.firm_id for m in memberships] + [link.firm_id for link in links])
    enrolled = bool(memberships) and identities.get_mfa_enrolment(principal.user_id) is not None
    return CallerDescription(
        user_id=principal.user_id,
        email=principal.email,
        name=profile.name if profile else None,
        staff_of=[
            StaffOf(m.firm_id, firms[m.firm_id].name, m.role) for m in memberships if m.firm_id in firms
        ],
        customer_of=[
            CustomerOf(link.firm_id, firms[link.firm_id].name, link.customer_id)
            for link in links
            if link.firm_id in firms
        ],
        mfa_required=bool(memberships),
        mfa_enrolled=enrolled,
    )
