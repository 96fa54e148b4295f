"""Daily schedules, by the job their payload names: `invitation-reminders` (the 7- and 30-day
invitation reminders and invitation expiry, R-INV-4, for customers' invitations, client-file
grantees' invitations, R-ACC-3, and staff invitations) and `consent-reminders` (bank consents that
lapse in 7 days, seed 003) and `erasure-sweep` (customers whose retention ended, R-PRIV-3)."""

from typing import Any

from shared import bootstrap
from shared.services.consent_expiry import send_expiry_reminders
from shared.services.customer_invitations import send_due_reminders
from shared.services.file_access import send_due_file_reminders
from shared.services.staff_invitations import send_due_staff_reminders
from shared.worker import scheduled_handler


def invitation_reminders() -> dict[str, Any]:
    return {
        **send_due_reminders(bootstrap.onboarding()),
        "file_invitations": send_due_file_reminders(bootstrap.file_access()),
        "staff_invitations": send_due_staff_reminders(bootstrap.staff_invitations()),
    }


def consent_reminders() -> dict[str, Any]:
    return send_expiry_reminders(bootstrap.connections())


def erasure_sweep() -> dict[str, Any]:
    from shared.services.lifecycle import sweep_erasures

    return {"queued": sweep_erasures(bootstrap.lifecycle())}


JOBS = {
    "invitation-reminders": invitation_reminders,
    "consent-reminders": consent_reminders,
    "erasure-sweep": erasure_sweep,
}


def run(payload: dict[str, Any]) -> dict[str, Any]:
    job = JOBS.get(payload.get("job", "invitation-reminders"))
    if job is None:
        raise ValueError("unknown job in the schedule's payload")  # the run fails: the schedules' DLQ
    return job()


lambda_handler = scheduled_handler(run)
