"""Deterministic demo records for the local system: one firm with an admin and an adviser, and one
customer of that firm who has accepted the adviser's invitation. Written through the same
repositories the functions use.

The local system first creates the demo users in the user pool (`create_demo_users`): the records
are then keyed by the `sub` the pool assigned (a pool assigns it; nobody chooses it), as an
invitation's acceptance keys them deployed. Tests that seed without a pool use the fixed subs below.
The demo staff have enrolled a TOTP authenticator (staff routes need it, R-ID-4): the local system
enrols it in the pool (`LocalPool.enrol_totp`), and our record of it is seeded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.adapters.dynamodb.customers_repository import CustomersRepository
from shared.adapters.dynamodb.identity_repository import IdentityRepository
from shared.clock import now as business_now
from shared.domain.customers import Customer, issue_invitation
from shared.domain.identity import CustomerLink, Firm, StaffMembership, StaffRole, UserProfile
from shared.domain.mfa import MfaEnrolment
from shared.ports.directory import UserDirectory

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


def create_demo_users(directory: UserDirectory, password: str) -> tuple[DemoUser, ...]:
    """Each demo user in the pool with `password`; the demo users with the pool's subs."""
    return tuple(
        replace(user, sub=directory.create_user(user.email, password).user_id) for user in DEMO_USERS
    )


def seed_demo_data(
    table_name: str, users: Sequence[DemoUser] = DEMO_USERS, now: datetime | None = None
) -> None:
    """The firm, its staff (with their MFA enrolment) and their profiles. With `now` (the local system),
    the demo customer's record too: invited by the adviser (its owner) and accepted by the customer
    user at `now`, so the customer can connect a bank at once (`POST /connections`); without, only the
    customer's identity link."""
    identities = IdentityRepository(table_name)
    identities.put_firm(DEMO_FIRM)
    for user in users:
        identities.put_profile(UserProfile(user.sub, user.email, user.name))
        if user.role == "customer":
            if now is None:  # only the link (the tests' seed): no customer record
                identities.put_customer_link(user.sub, CustomerLink(DEMO_FIRM.firm_id, DEMO_CUSTOMER_ID))
        else:
            identities.put_membership(StaffMembership(DEMO_FIRM.firm_id, user.sub, StaffRole(user.role)))
            identities.save_mfa_enrolment(MfaEnrolment(user.sub, now or business_now()), [])
    if now is not None:
        seed_demo_customer(table_name, users, now)


def seed_demo_customer(table_name: str, users: Sequence[DemoUser], now: datetime) -> Customer:
    """The demo customer's record, as an accepted invitation leaves it (the same writes as
    `accept_invitation`: the customer bound to its user, the token gone, the identity link)."""
    customers = CustomersRepository(table_name)
    adviser = next(user for user in users if user.role == "adviser")
    person = next(user for user in users if user.role == "customer")
    _, invitation = issue_invitation(now, None)
    # firm, customer id, name, email, owner (the adviser), created at, invitation
    invited = Customer(
        DEMO_FIRM.firm_id, DEMO_CUSTOMER_ID, person.name, person.email, adviser.sub, now, invitation
    )
    invited = customers.save(invited, None, customers.email_claim(invited), customers.token_put(invited))
    link = CustomerLink(DEMO_FIRM.firm_id, DEMO_CUSTOMER_ID)
    return customers.save(
        invited.accepted_by(person.sub, now),
        invited,
        customers.token_delete(invited.invitation.token_hash),
        IdentityRepository(table_name).customer_link_op(person.sub, link),
    )
