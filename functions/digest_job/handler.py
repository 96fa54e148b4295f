"""Hourly schedule: each opted-in staff member's daily digest of unread notifications, on their
local morning, once a day at most (issue 16)."""

from typing import Any

from shared import bootstrap
from shared.services.notification_digests import send_due_digests
from shared.worker import scheduled_handler


def run(_payload: dict[str, Any]) -> dict[str, Any]:
    return send_due_digests(bootstrap.digests())


lambda_handler = scheduled_handler(run)
