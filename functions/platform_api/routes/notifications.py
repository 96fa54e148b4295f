from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, StrictBool

from shared import bootstrap
from shared.api.caller import current_principal, current_staff
from shared.domain.identity import Principal, StaffContext
from shared.domain.notifications import DigestPreference
from shared.services.notification_digests import choose_digest, digest_preference
from shared.services.notifications import NotificationView, list_notifications, mark_notification_read

router = Router()
Me = Annotated[Principal, Depends(current_principal)]
Staff = Annotated[StaffContext, Depends(current_staff)]


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    title: str
    body: str
    firm_id: str | None
    firm_name: str | None
    customer_id: str | None  # staff notifications: the customer it is about
    details: dict[str, str | int]  # ids and counts (e.g. a Data Refresh's counts), never bank data
    created_at: datetime
    read: bool


class NotificationListOut(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


@router.get("/me/notifications", tags=["platform"], summary="My notifications, newest first")
def get_notifications(
    principal: Me,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> NotificationListOut:
    views, next_cursor = list_notifications(
        bootstrap.notifications_repository(),
        bootstrap.identity_repository(),
        bootstrap.staff_notices().customers,
        principal,
        cursor=cursor,
        limit=limit,
    )
    return NotificationListOut(items=[_notification_out(view) for view in views], next_cursor=next_cursor)


def _notification_out(view: NotificationView) -> NotificationOut:
    n = view.notification
    return NotificationOut(
        notification_id=n.notification_id,
        kind=n.kind,
        title=n.title,
        body=n.body,
        firm_id=n.firm_id,
        firm_name=view.firm_name,
        customer_id=n.customer_id,
        details=dict(n.details),
        created_at=n.created_at,
        read=n.read_at is not None,
    )


@router.post(
    "/me/notifications/<notification_id>/read",
    tags=["platform"],
    summary="Mark one of my notifications read",
    status_code=204,
)
def read_notification(
    notification_id: Annotated[str, Path(min_length=1, max_length=40)], principal: Me
) -> Response[None]:
    mark_notification_read(bootstrap.notifications_repository(), principal, notification_id)
    return Response(status_code=204)


class DigestPreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    daily_digest: StrictBool


class DigestPreferenceOut(BaseModel):
    daily_digest: bool
    timezone: str | None  # whose morning: the firm's the member acted in when turning it on
    next_digest_at: datetime | None


def _preference_out(preference: DigestPreference) -> DigestPreferenceOut:
    return DigestPreferenceOut(
        daily_digest=preference.daily_digest,
        timezone=preference.timezone,
        next_digest_at=preference.next_due if preference.daily_digest else None,
    )


@router.get(
    "/me/notification-preferences",
    tags=["platform"],
    summary="My daily email digest of notifications (staff; off by default)",
)
def get_notification_preferences(staff: Staff) -> DigestPreferenceOut:
    return _preference_out(digest_preference(bootstrap.digests_for(staff), staff))


@router.put(
    "/me/notification-preferences",
    tags=["platform"],
    summary="Turn my daily email digest on or off (sent on the firm's local morning, 08:00)",
)
def put_notification_preferences(body: DigestPreferenceIn, staff: Staff) -> DigestPreferenceOut:
    return _preference_out(choose_digest(bootstrap.digests_for(staff), staff, body.daily_digest))
