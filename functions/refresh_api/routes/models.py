"""Bodies of the Data Refresh API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.connections import problem_for
from shared.domain.refresh import (
    DashboardClock,
    Engagement,
    EngagementOutcome,
    ExclusionReason,
    InactiveReason,
    JobCounts,
    PackageInUse,
    PackageKind,
    RefreshFilters,
    RefreshJob,
    RefreshState,
    RefreshStatus,
)
from shared.services.refresh import EulaAcceptance, EulaDocument

MAX_ENGAGEMENTS_PER_TRIGGER = 10_000


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EulaIn(StrictBody):
    version: str = Field(min_length=1, max_length=40, description="The EULA version the customer read")


class EulaOut(BaseModel):
    version: str
    accepted_at: datetime

    @classmethod
    def of(cls, acceptance: EulaAcceptance) -> EulaOut:
        return cls(version=acceptance.version, accepted_at=acceptance.accepted_at)


class EulaDocumentOut(BaseModel):
    version: str = Field(description="The version to accept with POST /me/eula")
    text: str = Field(description="The agreement, as Markdown")
    accepted: bool = Field(description="Whether you have accepted this version")

    @classmethod
    def of(cls, document: EulaDocument) -> EulaDocumentOut:
        return cls(version=document.version, text=document.text, accepted=document.accepted)


class FiltersIn(StrictBody):
    """R-REF-2, as the dashboard's query parameters."""

    q: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=254)
    owner_id: str | None = Field(default=None, max_length=128)
    package: str | None = Field(default=None, max_length=100)
    last_upload_from: datetime | None = None
    last_upload_to: datetime | None = None
    status: RefreshStatus | None = None

    def to_filters(self) -> RefreshFilters:
        return RefreshFilters(**self.model_dump())


class TriggerIn(StrictBody):
    """One, several (`engagement_ids`) or all (`all_matching`, the whole filtered result)."""

    engagement_ids: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_ENGAGEMENTS_PER_TRIGGER
    )
    all_matching: FiltersIn | None = None

    @model_validator(mode="after")
    def one_selection(self) -> TriggerIn:
        if (self.engagement_ids is None) == (self.all_matching is None):
            raise ValueError("give either engagement_ids or all_matching")
        if self.engagement_ids and any(not 0 < len(i) <= 40 for i in self.engagement_ids):
            raise ValueError("an engagement id has 1 to 40 characters")
        return self


class JobAcceptedOut(BaseModel):
    job_id: str


class ConnectorOut(BaseModel):
    connection_id: str
    provider: str = Field(description="The accounting package / connector")
    institution_id: str
    institution_name: str


class ContactOut(BaseModel):
    name: str
    email: str


class StaffNameOut(BaseModel):
    user_id: str
    name: str | None = Field(description="None when the person has no profile (left the firm long ago)")


class EngagementRowOut(BaseModel):
    engagement_id: str
    customer_id: str
    customer_name: str
    contact_person: ContactOut
    owner_id: str
    owner_name: str | None = Field(description="The engagement owner's name (None: no profile)")
    assignees: list[StaffNameOut] = Field(description="The advisers assigned besides the owner")
    connectors: list[ConnectorOut]
    last_upload_at: datetime | None
    status: RefreshStatus
    inactive_reason: InactiveReason | None
    last_refresh_on: date | None
    last_error: str | None = Field(description="Why the last refresh failed: our stable code")
    last_error_message: str | None = Field(description="What `last_error` means, for a person")
    selectable: bool = Field(description="Can be refreshed now (R-REF-4, R-REF-5)")

    @classmethod
    def of(cls, engagement: Engagement, clock: DashboardClock, names: dict[str, str]) -> EngagementRowOut:
        last = engagement.last_refresh
        return cls(
            engagement_id=engagement.engagement_id,
            customer_id=engagement.customer_id,
            customer_name=engagement.customer_name,
            contact_person=ContactOut(name=engagement.customer_name, email=engagement.contact_email),
            owner_id=engagement.owner_id,
            owner_name=names.get(engagement.owner_id),
            assignees=[
                StaffNameOut(user_id=user_id, name=names.get(user_id))
                for user_id in engagement.staff_ids
                if user_id != engagement.owner_id
            ],
            connectors=[
                ConnectorOut(
                    connection_id=c.connection_id,
                    provider=c.provider,
                    institution_id=c.institution_id,
                    institution_name=c.institution_name,
                )
                for c in engagement.connectors
            ],
            last_upload_at=engagement.last_upload_at,
            status=engagement.status(clock.now, clock.today, clock.current_eula),
            inactive_reason=engagement.inactive_reason(clock.now, clock.current_eula),
            last_refresh_on=last.day if last else None,
            last_error=last.error if last else None,
            last_error_message=refresh_error_message(last.error) if last and last.error else None,
            selectable=engagement.selectable(clock.now, clock.today, clock.current_eula),
        )


# A refresh fails with its import's outcome (shared.domain.imports.Outcome) or IMPORT_GIVEN_UP.
_REFRESH_ERROR_MESSAGES = {
    "not_importable": "The bank connection cannot be imported from: see the connection's status.",
    "no_accepted_accounts": "No account of this bank connection is accepted for import.",
    "budget_spent": "Today's requests to the bank are used up: the import continues tomorrow.",
    "import_failed": "The import failed after several attempts.",
}


def refresh_error_message(code: str) -> str:
    """The human text of a refresh's error code; a connection problem's own message; for a code
    without one, the generic problem's (never the code or a provider's text)."""
    if code in _REFRESH_ERROR_MESSAGES:
        return _REFRESH_ERROR_MESSAGES[code]
    return problem_for(code).message


class EngagementListOut(BaseModel):
    items: list[EngagementRowOut]
    next_cursor: str | None


class CountsOut(BaseModel):
    total: int
    pending: int = Field(description="Selected, not yet looked at by the fan-out")
    queued: int
    running: int
    succeeded: int
    failed: int
    excluded: int
    excluded_by_reason: dict[ExclusionReason, int]

    @classmethod
    def of(cls, counts: JobCounts) -> CountsOut:
        return cls(
            total=counts.total,
            pending=counts.pending,
            queued=counts.queued,
            running=counts.running,
            succeeded=counts.succeeded,
            failed=counts.failed,
            excluded=counts.excluded,
            excluded_by_reason={ExclusionReason(k): v for k, v in counts.excluded_by_reason.items()},
        )


class OutcomeOut(BaseModel):
    engagement_id: str
    state: RefreshState
    reason: ExclusionReason | None
    error: str | None

    @classmethod
    def of(cls, outcome: EngagementOutcome) -> OutcomeOut:
        return cls(
            engagement_id=outcome.engagement_id,
            state=outcome.state,
            reason=outcome.reason,
            error=outcome.error,
        )


class JobSummaryOut(BaseModel):
    """A job in the list: its counts now, without its per-engagement outcomes."""

    job_id: str
    requested_by: str
    requested_at: datetime
    selection: dict[str, object]
    expanding: bool = Field(description="All matching: more engagements may still be added")
    done: bool
    counts: CountsOut

    @classmethod
    def of(cls, job: RefreshJob) -> JobSummaryOut:
        return cls(
            job_id=job.job_id,
            requested_by=job.requested_by,
            requested_at=job.requested_at,
            selection=job.selection,
            expanding=job.expanding,
            done=job.done,
            counts=CountsOut.of(job.counts),
        )


class JobOut(JobSummaryOut):
    """One job: its counts and a page of its per-engagement outcomes."""

    outcomes: list[OutcomeOut]
    next_cursor: str | None

    @classmethod
    def with_outcomes(
        cls, job: RefreshJob, outcomes: list[EngagementOutcome], next_cursor: str | None
    ) -> JobOut:
        return cls(
            **JobSummaryOut.of(job).model_dump(),
            outcomes=[OutcomeOut.of(o) for o in outcomes],
            next_cursor=next_cursor,
        )


class JobListOut(BaseModel):
    items: list[JobSummaryOut]
    next_cursor: str | None


class PackageOut(BaseModel):
    kind: PackageKind
    value: str = Field(description="What the dashboard's `package` filter takes (any case)")
    name: str = Field(description="The provider, or the institution's name")
    engagements: int = Field(description="How many of the engagements you see use it")

    @classmethod
    def of(cls, in_use: PackageInUse) -> PackageOut:
        package = in_use.package
        return cls(kind=package.kind, value=package.value, name=package.name, engagements=in_use.engagements)


class PackageListOut(BaseModel):
    items: list[PackageOut]
