"""Deterministic demo records for the local system: one firm with an admin and an adviser,
and one customer of that firm. Written through the same repositories the functions use."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.adapters.dynamodb.identity_repository import IdentityRepository
from shared.domain.identity import CustomerLink, Firm, StaffMembership, StaffRole, UserProfile

DEMO_FIRM = Firm(firm_id="01JDEMOFIRM0000000000000000", name="Demo Advisory LLP", timezone="Europe/London")
DEMO_CUSTOMER_ID = "01JDEMOCUSTOMER000000000000"


@dataclass(frozen=True)
class DemoUser:
    sub: str
    email: str
    name: str
    role: str  # "admin" | "adviser" | "customer"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("7f3c2a10-0000-4000-8000-00000000a001", "admin@demo-advisory.example", "Alice Admin", "admin"),
    DemoUser(
        "7f3c2a10-0000-4000-8000-00000000a002", "adviser@demo-advisory.example", "Arthur Adviser", "adviser"
    ),
    DemoUser("7f3c2a10-0000-4000-8000-00000000c001", "customer@example.com", "Chloe Customer", "customer"),
)
DEFAULT_TOKEN_USER = DEMO_USERS[0].email


def seed_demo_data(table_name: str) -> None:
    identities = IdentityRepository(table_name)
    identities.put_firm(DEMO_FIRM)
    for user in DEMO_USERS:
        identities.put_profile(UserProfile(user.sub, user.email, user.name))
        if user.role == "customer":
            identities.put_customer_link(user.sub, CustomerLink(DEMO_FIRM.firm_id, DEMO_CUSTOMER_ID))
        else:
            identities.put_membership(StaffMembership(DEMO_FIRM.firm_id, user.sub, StaffRole(user.role)))


def local_identity(email: str) -> DemoUser:
    """Who signs in locally with this email: a demo user, or a stable identity of its own (the
    stand-in for a Cognito sign-up, so an invited person can accept and then call the API)."""
    normalised = email.strip().lower()
    for user in DEMO_USERS:
        if user.email == normalised:
            return user
    return DemoUser(
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"local-identity:{normalised}")),
        normalised,
        normalised.split("@")[0],
        "customer",
    )
