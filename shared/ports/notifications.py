"""Port: People's in-app notifications.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.domain.notifications import Notification


class NotificationStore(Protocol):
    """People's in-app notifications."""

    def add(self, notification: Notification) -> None: ...

    def page(
        self, user_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[Notification], str | None]: ...

    def mark_read(self, user_id: str, notification_id: str, now: datetime) -> None: ...
