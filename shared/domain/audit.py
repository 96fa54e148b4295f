"""Audit events: who did what to which object, when (R-ROLE-3). Append-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clock import now as business_now

SYSTEM = "system"  # the actor of what schedules, workers and provider webhooks do


@dataclass(frozen=True)
class AuditEvent:
    firm_id: str
    actor_id: str  # the `sub` of the person, or SYSTEM
    action: str  # e.g. "invitation.sent", "account.accepted", "access.granted"
    target_type: str
    target_id: str
    details: dict[str, Any] = field(default_factory=dict)  # ids and levels only, never personal data
    occurred_at: datetime = field(default_factory=business_now)
    customer_id: str | None = None  # the customer concerned, for the per-customer audit view
