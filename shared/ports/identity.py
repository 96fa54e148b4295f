"""Port: Firms, staff memberships and the links between people and customers.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from shared.domain.identity import CustomerLink, Firm, StaffMembership, UserProfile
from shared.domain.mfa import MfaEnrolment
from shared.ports.storage import TransactItem


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

    def put_firm(self, firm: Firm, *extra: TransactItem) -> None:
        """Write the firm, with `extra` (its audit event) in the same transaction."""
        ...

    def put_membership(self, membership: StaffMembership) -> None: ...

    def list_staff(self, firm_id: str) -> list[StaffMembership]:
        """Every membership of the firm, deactivated ones included (access pattern #4)."""
        ...

    def get_profiles(self, user_ids: Iterable[str]) -> dict[str, UserProfile]:
        """The profiles of these people, in one BatchGetItem per 100 ids."""
        ...

    def save_membership(
        self,
        membership: StaffMembership,
        previous: StaffMembership,
        *extra: TransactItem,
        other_admin: StaffMembership | None,
    ) -> None:
        """Replace `previous` (still as read: role and active, else `StaffChanged`), in one
        transaction with a check that `other_admin` is still an active admin when given (so two
        admins demoting each other at once cannot leave the firm without one)."""
        ...

    def list_firms(self) -> list[Firm]:
        """Every firm (the operator's command; access pattern #43)."""
        ...

    def new_membership_op(self, membership: StaffMembership) -> dict[str, Any]:
        """The membership as a transaction item, only if the person has none in the firm."""
        ...

    def put_customer_link(self, user_id: str, link: CustomerLink) -> None: ...

    def customer_link_op(self, user_id: str, link: CustomerLink) -> dict[str, Any]:
        """The link as a transaction item, written with the acceptance that creates it."""
        ...

    def get_mfa_enrolment(self, user_id: str) -> MfaEnrolment | None:
        """Our record that the person's sign-in has a second factor (access pattern #90)."""
        ...

    def save_mfa_enrolment(self, enrolment: MfaEnrolment, also: Sequence[TransactItem]) -> bool:
        """Put the enrolment only if the person has none, in one transaction with `also` (its audit
        events); False, and nothing written, when they already had one."""
        ...

    def remove_mfa_enrolment(self, enrolment: MfaEnrolment, also: Sequence[TransactItem]) -> bool:
        """Delete the enrolment only if it is still `enrolment` (the same `enrolled_at`), in one
        transaction with `also` (its audit events); False, and nothing written, when it is gone or
        was replaced meanwhile (access pattern #106)."""
        ...
