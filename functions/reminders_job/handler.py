"""Daily schedule: the 7- and 30-day invitation reminders and invitation expiry (R-INV-4), for
customers' invitations, client-file grantees' invitations (R-ACC-3) and staff invitations."""

from typing import Any

from shared import bootstrap
from shared.services.customer_invitations import send_due_reminders
from shared.services.file_access import send_due_file_reminders
from shared.services.staff_invitations import send_due_staff_reminders
from shared.worker import scheduled_handler


def run(_payload: dict[str, Any]) -> dict[str, Any]:
    return {
        **send_due_reminders(bootstrap.onboarding()),
        "file_invitations": send_due_file_reminders(bootstrap.file_access()),
        "staff_invitations": send_due_staff_reminders(bootstrap.staff_invitations()),
    }


lambda_handler = scheduled_handler(run)
