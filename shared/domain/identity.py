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
