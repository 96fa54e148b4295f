"""Who is calling and what the service's own records say they may do (never the request body)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StaffRole(StrEnum):
    ADMIN = "admin"  # sees every customer and engagement of the firm (R-ROLE-2)
    ADVISER = "adviser"  # sees the customers and engagements they own or are assigned to


@dataclass(frozen=True)
class Principal:
    """The authenticated identity, from the JWT validated by the API's JWT authorizer."""

    user_id: str  # the token's `sub`
    email: str


@dataclass(frozen=True)
class Firm:
    firm_id: str
    name: str
    timezone: str


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    email: str
    name: str


@dataclass(frozen=True)
class StaffMembership:
    firm_id: str
    user_id: str
    role: StaffRole
    active: bool = True  # False: deactivated by an admin; behaves like no membership (R-ID-2)

    @property
    def is_active_admin(self) -> bool:
        return self.active and self.role is StaffRole.ADMIN


@dataclass(frozen=True)
class StaffMember:
    """A membership as the firm's staff list shows it: with the person's name and email (from
    their profile; None for someone who never got one)."""

    firm_id: str
    user_id: str
    role: StaffRole
    active: bool
    name: str | None
    email: str | None


@dataclass(frozen=True)
class CustomerLink:
    """The signed-in person is the customer `customer_id` of firm `firm_id`."""

    firm_id: str
    customer_id: str


@dataclass(frozen=True)
class StaffContext:
    """A firm staff member acting inside their firm: every firm-scoped use case takes one."""

    principal: Principal
    firm_id: str
    role: StaffRole

    @property
    def is_admin(self) -> bool:
        return self.role is StaffRole.ADMIN
