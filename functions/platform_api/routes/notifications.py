from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel

from shared import bootstrap
from shared.api.caller import current_principal
from shared.domain.identity import Principal
from shared.services.notifications import list_notifications, mark_notification_read

router = Router()
Me = Annotated[Principal, Depends(current_principal)]


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    title: str
    body: str
    firm_id: str | None
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
    items, next_cursor = list_notifications(
        bootstrap.notifications_repository(), principal, cursor=cursor, limit=limit
    )
    return NotificationListOut(
        items=[
            NotificationOut(
                notification_id=n.notification_id,
                kind=n.kind,
                title=n.title,
                body=n.body,
                firm_id=n.firm_id,
                created_at=n.created_at,
                read=n.read_at is not None,
            )
            for n in items
        ],
        next_cursor=next_cursor,
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
