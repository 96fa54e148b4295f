"""Data Refresh (R-REF-1..6): engagements, their refresh status, the daily cap's day, jobs.

An engagement is the firm's data relationship with one customer (its id is the customer's
id) that has at least one online connector (an aggregator connection). Pure rules: no
boto3, no environment; repositories store what these functions decide.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.imports import Outcome

FANOUT_PAGE = 100  # engagements per fan-out message: one Lambda invocation's share of the work


class InactiveReason(StrEnum):
    EULA_NOT_ACCEPTED = "eula_not_accepted"
    NO_VALID_CONSENT = "no_valid_consent"


class RefreshStatus(StrEnum):
    """What the dashboard shows (R-REF-2's status filter)."""

    ACTIVE = "active"  # refreshable, never refreshed
    INACTIVE = "inactive"  # with an InactiveReason (R-REF-5)
    CAPPED_TODAY = "capped_today"  # refreshed today (firm's time zone): again tomorrow (R-REF-4)
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # the last refresh, on an earlier day
    FAILED = "failed"  # the last refresh, on an earlier day, with its error


class RefreshState(StrEnum):
    """An engagement's place in one refresh job; the job counts one of each per engagement."""

    PENDING = "pending"  # selected, not yet looked at by the fan-out
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXCLUDED = "excluded"


IN_FLIGHT = frozenset({RefreshState.QUEUED, RefreshState.RUNNING})


class ExclusionReason(StrEnum):
    CAPPED_TODAY = "capped_today"
    EULA_NOT_ACCEPTED = "eula_not_accepted"
    NO_VALID_CONSENT = "no_valid_consent"
    NOT_FOUND = "not_found"  # missing, not visible to the caller, or another firm's (R-ROLE-1)
    NOT_QUEUED = "not_queued"  # its part of the selection could not be queued: trigger it again


def firm_day(now: datetime, timezone: str) -> date:
    """The calendar day in the firm's time zone: the unit of the daily cap (R-REF-4)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def refresh_result(outcome: Outcome) -> tuple[RefreshState, str | None]:
    """An import's outcome as a refresh's: anything but an import is a failure with its reason."""
    if outcome is Outcome.IMPORTED:
        return RefreshState.SUCCEEDED, None
    return RefreshState.FAILED, outcome.value


@dataclass(frozen=True)
class DashboardClock:
    """What the time-dependent parts of a status are judged against (R-REF-4, R-REF-5)."""

    now: datetime
    today: date  # in the firm's time zone
    current_eula: str


@dataclass(frozen=True)
class Connector:
    """One aggregator connection of the engagement, as the dashboard needs it."""

    connection_id: str
    provider: str
    institution_id: str
    institution_name: str
    importable: bool
    consent_expires_at: datetime | None

    def consent_valid(self, now: datetime) -> bool:
        return self.importable and (self.consent_expires_at is None or now < self.consent_expires_at)


def package_key(value: str) -> str:
    """How a package value is compared (R-REF-2): case- and width-insensitive, spaces collapsed. The
    rows store their packages this way and the filter's value is read this way, so "Demo Bank",
    "DEMO  BANK" and "demo bank" match whichever of them the connector or the user wrote."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


class PackageKind(StrEnum):
    PROVIDER = "provider"  # the aggregator: gocardless, plaid
    INSTITUTION = "institution"  # the bank, by the aggregator's institution id


@dataclass(frozen=True)
class Package:
    """A value the dashboard's package filter takes, as the connector gives it."""

    kind: PackageKind
    value: str  # the provider, or the institution id: what `package=` is given
    name: str  # for a person: the provider, or the institution's name

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{package_key(self.value)}"


@dataclass(frozen=True)
class PackageInUse:
    package: Package
    engagements: int  # in the scope that reads it


@dataclass(frozen=True)
class LastRefresh:
    job_id: str
    day: date
    state: RefreshState
    error: str | None = None


@dataclass(frozen=True)
class Engagement:
    firm_id: str
    customer_id: str
    customer_name: str
    contact_email: str  # the customer's invited person: the firm's contact (one person per customer)
    owner_id: str
    staff_ids: tuple[str, ...]  # owner and assignees: who sees it besides the admins (R-ROLE-2)
    connectors: tuple[Connector, ...]
    customer_user_id: str | None = None
    eula_version: str | None = None  # the version the customer accepted, if any
    last_upload_at: datetime | None = None
    last_refresh: LastRefresh | None = None
    version: int = 0
    # False: stored before the packages in use were counted (issue 16); its next write counts them.
    packages_counted: bool = True

    @property
    def engagement_id(self) -> str:
        return self.customer_id

    def package_keys(self) -> frozenset[str]:
        """What the package filter matches (package_key of each connector's provider, institution
        id and institution name)."""
        return frozenset(
            package_key(value)
            for c in self.connectors
            for value in (c.provider, c.institution_id, c.institution_name)
        )

    def packages(self) -> dict[str, Package]:
        """The packages the engagement uses, by key: its providers and its institutions."""
        found: dict[str, Package] = {}
        for c in self.connectors:
            for package in (
                Package(PackageKind.PROVIDER, c.provider, c.provider),
                Package(PackageKind.INSTITUTION, c.institution_id, c.institution_name),
            ):
                found.setdefault(package.key, package)
        return found

    def refreshable_connectors(self, now: datetime) -> list[Connector]:
        return [c for c in self.connectors if c.consent_valid(now)]

    def inactive_reason(self, now: datetime, current_eula: str) -> InactiveReason | None:
        """R-REF-5: the customer has not accepted the current EULA, or no connection has a valid consent."""
        if self.eula_version != current_eula:
            return InactiveReason.EULA_NOT_ACCEPTED
        if not self.refreshable_connectors(now):
            return InactiveReason.NO_VALID_CONSENT
        return None

    def status(self, now: datetime, today: date, current_eula: str) -> RefreshStatus:
        if self.inactive_reason(now, current_eula):
            return RefreshStatus.INACTIVE
        last = self.last_refresh
        if last is None:
            return RefreshStatus.ACTIVE
        if last.state in IN_FLIGHT:
            return RefreshStatus(last.state.value)
        if last.day == today:
            return RefreshStatus.CAPPED_TODAY
        return RefreshStatus(last.state.value)

    def selectable(self, now: datetime, today: date, current_eula: str) -> bool:
        return self.status(now, today, current_eula) in SELECTABLE

    def refreshed(self, job_id: str, day: date, state: RefreshState, error: str | None = None) -> Engagement:
        return replace(self, last_refresh=LastRefresh(job_id, day, state, error))

    def stored_bucket(self, now: datetime, current_eula: str) -> str:
        """The status partition (GSI2) the rows live in: what is known at write time. Reads
        re-check the time-dependent parts (consent expiry, today, the configured EULA)."""
        if self.inactive_reason(now, current_eula):
            return RefreshStatus.INACTIVE.value
        return self.last_refresh.state.value if self.last_refresh else RefreshStatus.ACTIVE.value


SELECTABLE = frozenset({RefreshStatus.ACTIVE, RefreshStatus.SUCCEEDED, RefreshStatus.FAILED})


def exclusion_for(engagement: Engagement, now: datetime, current_eula: str) -> ExclusionReason | None:
    reason = engagement.inactive_reason(now, current_eula)
    return ExclusionReason(reason.value) if reason else None


@dataclass(frozen=True)
class RefreshFilters:
    """R-REF-2. `contact` and `q` match case-insensitively within the text; `package` is a
    provider ("gocardless", "plaid") or an institution id or name, whole, compared by package_key."""

    q: str | None = None
    contact: str | None = None
    owner_id: str | None = None
    package: str | None = None
    last_upload_from: datetime | None = None
    last_upload_to: datetime | None = None
    status: RefreshStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        for name in ("last_upload_from", "last_upload_to"):
            values[name] = values[name].isoformat() if values[name] else None
        values["status"] = self.status.value if self.status else None
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RefreshFilters:
        def moment(name: str) -> datetime | None:
            return datetime.fromisoformat(data[name]) if data.get(name) else None

        return cls(
            q=data.get("q"),
            contact=data.get("contact"),
            owner_id=data.get("owner_id"),
            package=data.get("package"),
            last_upload_from=moment("last_upload_from"),
            last_upload_to=moment("last_upload_to"),
            status=RefreshStatus(data["status"]) if data.get("status") else None,
        )


@dataclass(frozen=True)
class JobCounts:
    """Every engagement a job knows of is in exactly one state: the counts add up to `total`."""

    pending: int = 0
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    excluded: int = 0
    excluded_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.pending + self.queued + self.running + self.succeeded + self.failed + self.excluded


@dataclass(frozen=True)
class RefreshJob:
    firm_id: str
    job_id: str
    requested_by: str
    requested_at: datetime
    selection: dict[str, Any]  # {"engagement_ids": n} or {"all_matching": filters}
    expanding: bool  # "all matching": more pages of engagements may still be added
    counts: JobCounts

    @property
    def done(self) -> bool:
        c = self.counts
        return not self.expanding and c.pending == c.queued == c.running == 0


@dataclass(frozen=True)
class EngagementOutcome:
    engagement_id: str
    state: RefreshState
    reason: ExclusionReason | None = None
    error: str | None = None
    connection_ids: tuple[str, ...] = ()  # the imports queued for it: one per refreshable connection
    finished_connections: frozenset[str] = frozenset()

    @property
    def finished_all(self) -> bool:
        return set(self.connection_ids) <= self.finished_connections

    @property
    def final_state(self) -> RefreshState:
        """Once every import is done: failed if any failed (its error kept), else succeeded."""
        return RefreshState.FAILED if self.error else RefreshState.SUCCEEDED


@dataclass(frozen=True)
class FanoutMessage:
    """What the refresh queue carries: a page of engagement ids, or "all matching" from a cursor.

    `staff_scope` is the visibility the trigger was made with: None for the whole firm (an
    admin), else the adviser's id (R-ROLE-2), so the fan-out sees what the caller saw.
    """

    firm_id: str
    job_id: str
    actor_id: str
    staff_scope: str | None
    engagement_ids: tuple[str, ...] = ()
    filters: RefreshFilters | None = None
    cursor: str | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "firm_id": self.firm_id,
            "job_id": self.job_id,
            "actor_id": self.actor_id,
            "staff_scope": self.staff_scope,
        }
        if self.filters is not None:
            data["filters"] = self.filters.to_dict()
            data["cursor"] = self.cursor
        else:
            data["engagement_ids"] = list(self.engagement_ids)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> FanoutMessage:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("a fan-out message is a JSON object")
        filters = data.get("filters")
        return cls(
            firm_id=_named(data["firm_id"]),
            job_id=_named(data["job_id"]),
            actor_id=str(data["actor_id"]),
            staff_scope=data["staff_scope"],
            engagement_ids=tuple(str(i) for i in data.get("engagement_ids", ())),
            filters=RefreshFilters.from_dict(filters) if filters is not None else None,
            cursor=data.get("cursor"),
        )


def _named(value: object) -> str:
    """An id a message names: a non-blank string, or the message is not one of ours (parked)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a fan-out message names its firm and job")
    return value
