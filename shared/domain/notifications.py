"""In-app notifications for a person (R-INV-6: account decisions, later access grants)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Notification:
    user_id: str
    notification_id: str
    kind: str  # e.g. "account.accepted"
    title: str
    body: str
    created_at: datetime
    firm_id: str | None = None
    read_at: datetime | None = None
