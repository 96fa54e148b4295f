"""Ports: Data Refresh: engagement rows; jobs, their outcomes and the daily cap; EULA acceptances.

What services need from storage; `shared/adapters/dynamodb/` implements them, tests may fake them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from shared.domain.refresh import (
    DashboardClock,
    Engagement,
    EngagementOutcome,
    ExclusionReason,
    PackageInUse,
    RefreshFilters,
    RefreshJob,
    RefreshState,
)
from shared.ports.storage import TransactItem

# The audit event of a write of exclusions (engagement id, reason), built for that write's transaction.
ExclusionEvent = Callable[[list[tuple[str, ExclusionReason]]], TransactItem]


class Claim(StrEnum):
    CLAIMED = "claimed"
    CAPPED = "capped"  # the engagement-day is taken (another job, or this job before a redelivery)


@dataclass(frozen=True)
class RowChange:
    """The engagement's rows after a change (`new`, in status partition `bucket`), locked on `previous`."""

    new: Engagement
    previous: Engagement
    bucket: str


@dataclass(frozen=True)
class EngagementPage:
    rows: list[Engagement]
    next_cursor: str | None


class EngagementRowStore(Protocol):
    """The dashboard's engagement rows: one per scope that sees the engagement."""

    def get_engagement(self, firm_id: str, customer_id: str) -> Engagement | None: ...

    def save_engagement(
        self, engagement: Engagement, previous: Engagement | None, bucket: str
    ) -> Engagement: ...

    def rows_absent_op(self, firm_id: str, customer_id: str) -> TransactItem:
        """A check that the engagement has no Data Refresh rows yet: it fails the transaction it
        rides on when a first connection created them meanwhile (the change is then read again)."""
        ...

    def row_change_ops(self, rows: RowChange) -> list[TransactItem]:
        """The writes of `rows` (every scope's row, the version moved on, locked on the previous
        version) as transaction items, for a change that also writes the customer (a transfer)."""
        ...

    def remove_rows(self, engagement: Engagement) -> None:
        """Remove every scope's row of `engagement` with its search entries and package counts,
        after its customer's relationship ended: in batches, the firm-wide row last (locked on its
        version), idempotent and resumable (a scope's row already gone is skipped)."""
        ...

    def visible_engagements(
        self, firm_id: str, staff_scope: str | None, customer_ids: Iterable[str]
    ) -> dict[str, Engagement]:
        """The engagements among `customer_ids` that this scope sees: its own rows, read by key, so
        an id of another firm or one the adviser does not see is simply absent (R-ROLE-1)."""
        ...

    def packages_in_use(self, firm_id: str, staff_scope: str | None) -> list[PackageInUse]:
        """The package values (providers, institutions) the scope's engagements use, with how many
        engagements use each: counts kept in the rows' own writes, read with one key lookup."""
        ...

    def page(
        self,
        firm_id: str,
        staff_scope: str | None,
        filters: RefreshFilters,
        clock: DashboardClock,
        *,
        cursor: str | None,
        limit: int,
    ) -> EngagementPage:
        """Newest upload first. One or two index partitions (see keys.py #38/#39), read in turn; the
        other filters narrow the rows read from them."""
        ...


class RefreshJobStore(Protocol):
    """Refresh jobs and their counters, the outcome per engagement, the daily cap. A claim or an
    advance also changes the engagement's rows (`RowChange`) in the same transaction."""

    def create_job(self, job: RefreshJob, *extra: TransactItem) -> None:
        """The job, its counters and its listing, with `extra` (its audit event), in one transaction."""
        ...

    def delete_job(self, firm_id: str, job_id: str, *extra: TransactItem) -> None:
        """Undo `create_job` for a job whose selection could not be queued (it has no outcomes)."""
        ...

    def get_job(self, firm_id: str, job_id: str) -> RefreshJob | None: ...

    def list_jobs(
        self, firm_id: str, requested_by: str | None, *, cursor: str | None, limit: int
    ) -> tuple[list[RefreshJob], str | None]:
        """Newest first: the firm's jobs (`requested_by` None) or those one person started."""
        ...

    def add_expanded(
        self, firm_id: str, job_id: str, count: int, *, at: str, next_cursor: str | None
    ) -> bool:
        """ "All matching": the page read at cursor `at` adds `count` pending engagements (the sum
        holds), once: a redelivered page finds the job's cursor moved on and adds nothing."""
        ...

    def expansion_cursor(self, firm_id: str, job_id: str) -> str: ...

    def outcomes(
        self, firm_id: str, job_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[EngagementOutcome], str | None]: ...

    def claim(
        self, job_id: str, day: date, connection_ids: list[str], rows: RowChange, *extra: TransactItem
    ) -> Claim:
        """R-REF-4: take the engagement's day (put if absent), queue its outcome, move one count
        from pending to queued and show it queued on the dashboard, with `extra` (its audit event),
        all or nothing."""
        ...

    def cap_holder(self, firm_id: str, customer_id: str, day: date) -> str | None:
        """The job that took this engagement-day, if any."""
        ...

    def get_outcome(self, firm_id: str, job_id: str, customer_id: str) -> EngagementOutcome | None: ...

    def exclude(
        self,
        firm_id: str,
        job_id: str,
        excluded: list[tuple[str, ExclusionReason]],
        event: ExclusionEvent,
    ) -> None:
        """Record excluded engagements with their reason, moving their counts from pending, each
        write with `event(the exclusions it records)` (their audit event) in its transaction. A
        redelivered page finds some already recorded: those are skipped, one at a time, and their
        event is not written again."""
        ...

    def advance(
        self,
        firm_id: str,
        job_id: str,
        customer_id: str,
        to: RefreshState,
        *,
        expected: RefreshState,
        error: str | None = None,
        rows: RowChange | None = None,
    ) -> bool:
        """Move one engagement of the job from `expected` to `to` (its outcome, the counters and the
        dashboard `rows` if given), once: False if it had already moved."""
        ...

    def connection_finished(
        self, firm_id: str, job_id: str, customer_id: str, connection_id: str, error: str | None
    ) -> EngagementOutcome | None:
        """Note one connection's import as finished (a set: a redelivery adds nothing); the outcome
        with `finished_all` says whether every connection of the engagement is done."""
        ...


class EulaStore(Protocol):
    """Who accepted which version of the end-user licence agreement (R-REF-3)."""

    def record_eula(self, user_id: str, version: str, at: datetime, *extra: TransactItem) -> datetime:
        """Record the acceptance once; accepting again keeps (and returns) the first time."""
        ...

    def has_accepted(self, user_id: str, version: str) -> bool: ...


class EulaTexts(Protocol):
    """The EULA's text per version, shipped with the code (one file per version)."""

    def text(self, version: str) -> str: ...
