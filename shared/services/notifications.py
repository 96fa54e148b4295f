"""A person's in-app notifications."""

from __future__ import annotations

from shared.clock import now as business_now
from shared.domain.identity import Principal
from shared.domain.notifications import Notification
from shared.ports.notifications import NotificationStore


def list_notifications(
    notifications: NotificationStore, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[Notification], str | None]:
    return notifications.page(principal.user_id, cursor=cursor, limit=limit)


def mark_notification_read(
    notifications: NotificationStore, principal: Principal, notification_id: str
) -> None:
    """Only ever the caller's own notification: the key starts with their identity."""
    notifications.mark_read(principal.user_id, notification_id, business_now())
