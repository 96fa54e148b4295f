from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from functions.refresh_api.routes.models import JobAcceptedOut, JobListOut, JobOut, JobSummaryOut, TriggerIn
from shared import bootstrap
from shared.api.caller import current_staff
from shared.api.idempotency import IdempotentCommand, idempotent_command, key_scope
from shared.domain.identity import StaffContext
from shared.services import refresh

router = Router()
TAGS = ["data refresh"]
Staff = Annotated[StaffContext, Depends(current_staff)]


@router.post(
    "/data-refresh/jobs",
    tags=TAGS,
    summary="Refresh data now: one, several or all matching engagements (R-REF-3..6)",
    responses={202: {"description": "Accepted: follow the job's progress"}},
)
def trigger(
    body: TriggerIn,
    staff: Staff,
    idempotency_key: Annotated[
        str | None, Header(alias="idempotency-key", min_length=1, max_length=255)
    ] = None,
) -> Response[JobAcceptedOut]:
    @idempotent_command
    def trigger_refresh(command: IdempotentCommand) -> dict[str, Any]:
        job = refresh.trigger_refresh(
            bootstrap.refresh_for(staff),
            staff,
            engagement_ids=body.engagement_ids,
            filters=body.all_matching.to_filters() if body.all_matching else None,
        )
        return {"job_id": job.job_id}

    result = trigger_refresh(
        IdempotentCommand(
            actor_id=key_scope(staff.firm_id, staff.principal.user_id),
            idempotency_key=idempotency_key,
            payload=body.model_dump(mode="json"),
        )
    )
    return Response(status_code=202, content_type="application/json", body=JobAcceptedOut(**result))


@router.get("/data-refresh/jobs", tags=TAGS, summary="Refresh jobs, newest first (advisers: their own)")
def list_jobs(
    staff: Staff,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> JobListOut:
    jobs, next_cursor = refresh.list_jobs(bootstrap.refresh_for(staff), staff, cursor=cursor, limit=limit)
    return JobListOut(items=[JobSummaryOut.of(job) for job in jobs], next_cursor=next_cursor)


@router.get("/data-refresh/jobs/<job_id>", tags=TAGS, summary="A refresh job's counts and outcomes")
def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=40)],
    staff: Staff,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> JobOut:
    progress = refresh.job_progress(bootstrap.refresh_for(staff), staff, job_id, cursor=cursor, limit=limit)
    return JobOut.with_outcomes(progress.job, progress.outcomes, progress.next_cursor)
