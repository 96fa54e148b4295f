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

from shared.domain.errors import StaffChanged, StaleEngagement
from shared.domain.identity import Firm, StaffMembership, UserProfile
from shared.domain.refresh import Engagement
from shared.ports.refresh import RowChange
from shared.ports.storage import TransactItem
from tests.fakes import (
    FakeAudit,
    FakeCustomers,
    FakeDirectory,
    FakeIdentities,
    Has,
    absent,
    check_item,
    delete_item,
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

    def put_firm(self, firm: Firm, *extra: TransactItem) -> None:
        transact_write([put_item(self.firms, firm.firm_id, firm), *extra])

    def list_firms(self) -> list[Firm]:
        return [firm for _, firm in sorted(self.firms.items())]

    def put_profile(self, profile: UserProfile) -> None:
        self.profiles[profile.user_id] = profile

    def list_staff(self, firm_id: str) -> list[StaffMembership]:
        return [m for (_, f), m in sorted(self.memberships.items()) if f == firm_id]

    def get_profiles(self, user_ids: Iterable[str]) -> dict[str, UserProfile]:
        return {u: self.profiles[u] for u in set(user_ids) if u in self.profiles}

    def save_membership(
        self,
        membership: StaffMembership,
        previous: StaffMembership,
        *extra: TransactItem,
        other_admin: StaffMembership | None,
    ) -> None:
        key = (membership.user_id, membership.firm_id)
        items = [put_item(self.memberships, key, membership, Still(previous))]
        if other_admin is not None:
            other = (other_admin.user_id, other_admin.firm_id)
            items.append(check_item(self.memberships, other, Still(other_admin)))
        transact_write([*items, *extra], canceled=StaffChanged)

    def new_membership_op(self, membership: StaffMembership) -> TransactItem:
        return put_item(self.memberships, (membership.user_id, membership.firm_id), membership, absent)


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

    def remove_rows(self, engagement: Engagement) -> None:
        key = (engagement.firm_id, engagement.customer_id)
        removal = delete_item(self.rows, key, Has("version", engagement.version))
        transact_write([removal], canceled=StaleEngagement)

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
