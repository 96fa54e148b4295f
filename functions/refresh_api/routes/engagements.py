from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.refresh_api.routes.models import (
    EngagementListOut,
    EngagementRowOut,
    FiltersIn,
    PackageListOut,
    PackageOut,
)
from shared import bootstrap
from shared.api.caller import current_staff
from shared.domain.identity import StaffContext
from shared.domain.refresh import RefreshStatus
from shared.services import refresh

router = Router()


@router.get(
    "/data-refresh/engagements",
    tags=["data refresh"],
    summary="Engagements with an online connector that you see, newest upload first (R-REF-1, R-REF-2)",
)
def list_engagements(
    staff: Annotated[StaffContext, Depends(current_staff)],
    q: Annotated[str | None, Query(max_length=100, description="Name or email prefix (3+ chars)")] = None,
    contact: Annotated[
        str | None, Query(max_length=254, description="Start of the contact's name or email")
    ] = None,
    owner_id: Annotated[str | None, Query(max_length=128, description="Engagement owner")] = None,
    package: Annotated[str | None, Query(max_length=100, description="Connector or institution")] = None,
    last_upload_from: Annotated[datetime | None, Query()] = None,
    last_upload_to: Annotated[datetime | None, Query()] = None,
    status: Annotated[RefreshStatus | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> EngagementListOut:
    filters = FiltersIn(
        q=q,
        contact=contact,
        owner_id=owner_id,
        package=package,
        last_upload_from=last_upload_from,
        last_upload_to=last_upload_to,
        status=status,
    ).to_filters()
    shown = refresh.list_engagements(bootstrap.refresh_for(staff), staff, filters, cursor=cursor, limit=limit)
    return EngagementListOut(
        items=[EngagementRowOut.of(row, shown.clock, shown.staff_names) for row in shown.page.rows],
        next_cursor=shown.page.next_cursor,
    )


@router.get(
    "/data-refresh/packages",
    tags=["data refresh"],
    summary="The accounting packages (providers, institutions) your engagements use, for the package filter",
)
def list_packages(staff: Annotated[StaffContext, Depends(current_staff)]) -> PackageListOut:
    in_use = refresh.list_packages(bootstrap.refresh_for(staff), staff)
    return PackageListOut(items=[PackageOut.of(package) for package in in_use])
