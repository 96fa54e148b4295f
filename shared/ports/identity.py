"""Port: Firms, staff memberships and the links between people and customers.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from shared.domain.identity import CustomerLink, Firm, StaffMembership, UserProfile


class IdentityStore(Protocol):
    """Firms, staff memberships and the links between people and customers."""

    def get_profile(self, user_id: str) -> UserProfile | None: ...

    def get_firm(self, firm_id: str) -> Firm | None: ...

    def get_firms(self, firm_ids: Iterable[str]) -> dict[str, Firm]:
        """The firms with these ids, in one BatchGetItem per 100 ids."""
        ...

    def get_membership(self, user_id: str, firm_id: str) -> StaffMembership | None: ...

    def list_memberships(self, user_id: str) -> list[StaffMembership]: ...

    def list_customer_links(self, user_id: str) -> list[CustomerLink]: ...

    def put_profile(self, profile: UserProfile) -> None: ...

    def put_profile_if_absent(self, profile: UserProfile) -> None: ...

    def put_firm(self, firm: Firm) -> None: ...

    def put_membership(self, membership: StaffMembership) -> None: ...

    def put_customer_link(self, user_id: str, link: CustomerLink) -> None: ...

    def customer_link_op(self, user_id: str, link: CustomerLink) -> dict[str, Any]:
        """The link as a transaction item, written with the acceptance that creates it."""
        ...
