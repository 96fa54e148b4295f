"""Daily schedule: the 7- and 30-day invitation reminders and invitation expiry (R-INV-4)."""

from typing import Any

from shared import bootstrap
from shared.services.onboarding import send_due_reminders
from shared.worker import scheduled_handler


def run(_payload: dict[str, Any]) -> dict[str, Any]:
    return dict(send_due_reminders(bootstrap.onboarding()))


lambda_handler = scheduled_handler(run)
