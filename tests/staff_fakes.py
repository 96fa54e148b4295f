"""In-memory ports of staff administration (issue 15), beside tests/fakes.py and with its semantics:
the firm's staff list and profiles, a membership changed under a condition in one transaction with
a check on another admin, the user directory, and the Data Refresh rows a transfer rewrites with the
customer. `StaffFakes` builds the ports of the staff, assignees and firms use cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.domain.errors import Conflict, StaffChanged, StaleEngagement
from shared.domain.identity import Firm, StaffMembership, UserProfile
from shared.domain.refresh import Engagement
from shared.ports.directory import DirectoryUser
from shared.ports.refresh import RowChange
from shared.ports.storage import TransactItem
from tests.fakes import (
    FakeAudit,
    FakeCustomers,
    FakeIdentities,
    Has,
    absent,
    check_item,
    put_item,
    transact_write,
)


@dataclass(frozen=True)
class Still:
    """The stored row is still exactly `value` (a membership: its role and active flag)."""

    value: Any

    def __call__(self, stored: Any) -> bool:
        return stored == self.value


@dataclass
class StaffIdentities(FakeIdentities):
    """IdentityStore with the firm's staff list (#4), profiles in a batch, firms (#43) and the
    conditional membership change."""

    def put_firm(self, firm: Firm) -> None:
        self.firms[firm.firm_id] = firm

    def list_firms(self) -> list[Firm]:
        return [firm for _, firm in sorted(self.firms.items())]

    def put_profile(self, profile: UserProfile) -> None:
        self.profiles[profile.user_id] = profile

    def list_staff(self, firm_id: str) -> list[StaffMembership]:
        return [m for (_, f), m in sorted(self.memberships.items()) if f == firm_id]

    def get_profiles(self, user_ids: Iterable[str]) -> dict[str, UserProfile]:
        return {u: self.profiles[u] for u in set(user_ids) if u in self.profiles}

    def save_membership(
        self, membership: StaffMembership, previous: StaffMembership, *, other_admin: StaffMembership | None
    ) -> None:
        key = (membership.user_id, membership.firm_id)
        items = [put_item(self.memberships, key, membership, Still(previous))]
        if other_admin is not None:
            other = (other_admin.user_id, other_admin.firm_id)
            items.append(check_item(self.memberships, other, Still(other_admin)))
        transact_write(items, canceled=StaffChanged)

    def new_membership_op(self, membership: StaffMembership) -> TransactItem:
        return put_item(self.memberships, (membership.user_id, membership.firm_id), membership, absent)


@dataclass
class FakeDirectory:
    """UserDirectory: users by id (the pool's `sub`), enabled or not, and whether each was told to
    change a temporary password; `failing` makes every call raise, as an outage would."""

    users: dict[str, DirectoryUser] = field(default_factory=dict)
    temporary: dict[str, str] = field(default_factory=dict)  # user id: the one-time password
    calls: list[tuple[str, str]] = field(default_factory=list)
    failing: bool = False

    def add(self, user_id: str, email: str) -> DirectoryUser:
        self.users[user_id] = DirectoryUser(user_id, email, True)
        return self.users[user_id]

    def find_by_email(self, email: str) -> DirectoryUser | None:
        self._call("find_by_email", email)
        return next((u for u in self.users.values() if u.email == email), None)

    def create_user(self, email: str, password: str) -> DirectoryUser:
        self._call("create_user", email)
        if self.find_by_email(email):
            raise Conflict(code="account_exists")
        return self.add(f"sub-{len(self.users) + 1}", email)

    def create_user_with_temporary_password(self, email: str, temporary_password: str) -> DirectoryUser:
        user = self.create_user(email, temporary_password)
        self.temporary[user.user_id] = temporary_password
        return user

    def delete_user(self, user_id: str) -> None:
        self._call("delete_user", user_id)
        self.users.pop(user_id, None)

    def disable_user(self, user_id: str) -> None:
        self._call("disable_user", user_id)
        self.users[user_id] = replace(self.users[user_id], enabled=False)

    def enable_user(self, user_id: str) -> None:
        self._call("enable_user", user_id)
        self.users[user_id] = replace(self.users[user_id], enabled=True)

    def _call(self, name: str, argument: str) -> None:
        if self.failing:
            raise RuntimeError("the user pool is unavailable")
        self.calls.append((name, argument))


@dataclass
class FakeEngagementRows:
    """EngagementRowStore, the part a transfer uses: one engagement per customer under an
    optimistic lock (version), whose staff ids say which scopes' rows exist."""

    rows: dict[tuple[str, str], Engagement] = field(default_factory=dict)
    buckets: dict[tuple[str, str], str] = field(default_factory=dict)

    def get_engagement(self, firm_id: str, customer_id: str) -> Engagement | None:
        return self.rows.get((firm_id, customer_id))

    def save_engagement(self, engagement: Engagement, previous: Engagement | None, bucket: str) -> Engagement:
        saved = replace(engagement, version=(previous.version + 1) if previous else 1)
        condition = Has("version", previous.version) if previous else absent
        transact_write(
            [put_item(self.rows, (saved.firm_id, saved.customer_id), saved, condition)],
            canceled=StaleEngagement,
        )
        self.buckets[(saved.firm_id, saved.customer_id)] = bucket
        return saved

    def rows_absent_op(self, firm_id: str, customer_id: str) -> TransactItem:
        return check_item(self.rows, (firm_id, customer_id), absent)

    def row_change_ops(self, rows: RowChange) -> list[TransactItem]:
        saved = replace(rows.new, version=rows.previous.version + 1)
        key = (saved.firm_id, saved.customer_id)
        return [put_item(self.rows, key, saved, Has("version", rows.previous.version))]

    def visible_engagements(
        self, firm_id: str, staff_scope: str | None, customer_ids: Iterable[str]
    ) -> dict[str, Engagement]:
        found = (self.rows.get((firm_id, c)) for c in customer_ids)
        return {e.customer_id: e for e in found if e and (staff_scope is None or staff_scope in e.staff_ids)}


@dataclass
class StaffFakes:
    identities: StaffIdentities = field(default_factory=StaffIdentities)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    audit: FakeAudit = field(default_factory=FakeAudit)
    customers: FakeCustomers = field(default_factory=FakeCustomers)
    rows: FakeEngagementRows = field(default_factory=FakeEngagementRows)
    eula: str = "2026-01"

    def ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.staff import StaffPorts

        return StaffPorts(
            identities=self.identities,  # type: ignore[arg-type]  # the subset services call
            directory=self.directory,
            audit=self.audit,
            clock=clock,
        )

    def assignees_ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.assignees import AssigneesPorts

        return AssigneesPorts(
            customers=self.customers,
            rows=self.rows,  # type: ignore[arg-type]
            identities=self.identities,  # type: ignore[arg-type]
            audit=self.audit,
            current_eula_version=self.eula,
            clock=clock,
        )
