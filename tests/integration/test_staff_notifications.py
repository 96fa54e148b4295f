"""Notifications for advisers (issue 16 item 4) on moto: the stores' contract (the fake and the table
alike), the refresh job's finished notice, the routes and the hourly digest job. The rules themselves are
tested on the fakes in tests/unit/test_staff_notification_rules.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.invitations_api import handler as invitations_api
from functions.platform_api import handler as platform_api
from local.demo_data import DEMO_CUSTOMER_ID, DEMO_FIRM, DEMO_USERS, seed_demo_customer
from local.outbox import sent_emails
from shared import bootstrap
from shared.clock import CLOCK
from shared.domain.identity import StaffMembership, StaffRole
from shared.domain.notifications import DigestPreference, Notification, notice_id
from shared.domain.refresh import JobCounts, RefreshJob
from shared.services.staff_notifications import notify_customer_staff, refresh_progressed
from tests.fakes import FakeNotifications
from tests.integration.onboarding_support import INVITEE, OTHER_ADVISER, call, invitation_tokens, seed_firms
from tests.notification_fakes import FakeDigestPreferences

ADMIN, ADVISER, CUSTOMER = DEMO_USERS
NOW = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)


def notice(user_id: str, event: str, at: datetime = NOW) -> Notification:
    return Notification(
        user_id, notice_id(event, user_id, at), "staff.consent_expiring", "t", "b", at, firm_id="firm-1"
    )


# the stores' contract: the fake and the table alike ----------------------------------------------
@pytest.fixture(params=["fake", "dynamodb"])
def notifications(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakeNotifications()
    request.getfixturevalue("aws")
    return bootstrap.notifications_repository()


def test_an_event_is_written_once_per_person_however_often_it_is_added(notifications):
    people = [f"person-{n:02d}" for n in range(60)]  # two transactions' worth
    assert notifications.add_once("event-1", [notice(p, "event-1") for p in people]) == 60
    later = NOW + timedelta(minutes=5)  # a retried worker, later: same event, same people
    assert notifications.add_once("event-1", [notice(p, "event-1", later) for p in people]) == 0
    assert notifications.add_once("event-1", [notice(p, "event-1") for p in ["person-00", "new"]]) == 1
    assert notifications.add_once("event-2", [notice("person-00", "event-2", later)]) == 1
    assert [n.notification_id for n in notifications.since("person-00", NOW)] == [
        notice("person-00", "event-2", later).notification_id,
        notice("person-00", "event-1").notification_id,
    ]
    assert notifications.since("person-00", later + timedelta(seconds=1)) == []


@pytest.fixture(params=["fake", "dynamodb"])
def preferences(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakeDigestPreferences()
    request.getfixturevalue("aws")
    return bootstrap.digests().preferences


def test_a_digest_is_listed_while_on_and_claimed_by_one_run(preferences):
    due = datetime(2026, 6, 18, 7, tzinfo=UTC)
    preferences.save_preference(DigestPreference("ann", True, "Europe/London", due))
    preferences.save_preference(DigestPreference("bob", False, "Europe/London", due))
    assert list(preferences.due_digests(due - timedelta(seconds=1))) == []
    (found,) = preferences.due_digests(due + timedelta(minutes=5))
    assert found == DigestPreference("ann", True, "Europe/London", due)

    tomorrow = due + timedelta(days=1)
    assert preferences.claim_digest(found, tomorrow) is True
    assert preferences.claim_digest(found, tomorrow) is False  # the other run read it due too
    assert list(preferences.due_digests(due + timedelta(hours=1))) == []
    preferences.release_digest(found, tomorrow)  # the email could not be sent
    assert [p.user_id for p in preferences.due_digests(due + timedelta(hours=1))] == ["ann"]
    preferences.save_preference(replace(found, daily_digest=False))
    assert preferences.claim_digest(found, tomorrow) is False
    assert preferences.get_preference("ann") == DigestPreference("ann", False, "Europe/London", None)


def test_a_refresh_jobs_finished_notice_is_written_once_only_when_final_and_survives_a_failed_write(world):
    jobs, notices = bootstrap.engagement_index().jobs, bootstrap.staff_notices()
    owner = ADVISER.sub
    firm, counts = DEMO_FIRM.firm_id, JobCounts(succeeded=2, excluded=1)
    unfinished = RefreshJob(firm, "01JJOBCLAIM000000000000000", owner, NOW, {}, False, JobCounts(queued=1))
    final = replace(unfinished, job_id="01JJOBCLAIMFINAL0000000000", counts=counts)
    expanding = replace(final, job_id="01JJOBCLAIMEXPANDING000000", expanding=True)
    for job in (unfinished, final, expanding):
        jobs.create_job(job)

    def finished_notices() -> list[Notification]:
        found, _ = notices.notifications.page(owner, cursor=None, limit=50)
        return [n for n in found if n.kind == "staff.refresh_finished"]

    for job in (unfinished, expanding):
        refresh_progressed(notices, jobs, DEMO_FIRM.firm_id, job.job_id)
    refresh_progressed(notices, jobs, DEMO_FIRM.firm_id, "01JNOSUCHJOB00000000000000")
    assert finished_notices() == []

    failing = replace(notices, notifications=FailingOnce(notices.notifications))
    refresh_progressed(failing, jobs, DEMO_FIRM.firm_id, final.job_id)  # the write fails: nothing claimed
    assert finished_notices() == []
    for _ in range(3):  # the next callers (redeliveries, concurrent workers) write it, once
        refresh_progressed(notices, jobs, DEMO_FIRM.firm_id, final.job_id)
    (written,) = finished_notices()
    assert written.details["job_id"] == final.job_id and written.details["total"] == 3


@dataclass
class FailingOnce:
    """The notification store, whose first `add_once` fails as a throttled write would."""

    store: Any
    failed: bool = False

    def add_once(self, event_key: str, notifications: Any) -> int:
        if not self.failed:
            self.failed = True
            raise RuntimeError("ProvisionedThroughputExceededException")
        return int(self.store.add_once(event_key, notifications))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


# the routes ------------------------------------------------------------------------------------------
@pytest.fixture
def world(aws):
    seed_firms()
    seed_demo_customer("data", DEMO_USERS, NOW)  # owned by the demo adviser
    CLOCK.set(NOW)
    yield
    CLOCK.reset()


def test_staff_read_their_notifications_with_the_firm_name_and_the_customer(world):
    details = {"connection_id": "conn-1", "expires_at": "2026-06-24"}
    assert (
        notify_customer_staff(
            bootstrap.staff_notices(), DEMO_FIRM.firm_id, DEMO_CUSTOMER_ID, "consent_expiring", details
        )
        == 1
    )

    status, body = call(platform_api, "GET", "/me/notifications", ADVISER)

    assert status == 200
    (item,) = body["items"]
    assert item["kind"] == "staff.consent_expiring" and item["read"] is False
    assert (item["firm_id"], item["firm_name"]) == (DEMO_FIRM.firm_id, DEMO_FIRM.name)
    assert (item["customer_id"], item["details"]) == (DEMO_CUSTOMER_ID, details)
    assert call(platform_api, "GET", "/me/notifications", ADMIN)[1]["items"] == []  # not the customer's staff
    path = {"notification_id": item["notification_id"]}
    assert (
        call(platform_api, "POST", "/me/notifications/{notification_id}/read", ADVISER, path_parameters=path)[
            0
        ]
        == 204
    )


def test_a_deactivated_adviser_hears_nothing(world):
    identities = bootstrap.identity_repository()
    identities.put_membership(
        StaffMembership(DEMO_FIRM.firm_id, ADVISER.sub, StaffRole.ADVISER, active=False)
    )
    assert (
        notify_customer_staff(
            bootstrap.staff_notices(), DEMO_FIRM.firm_id, DEMO_CUSTOMER_ID, "consent_expiring", {}
        )
        == 0
    )


def test_staff_choose_their_digest_and_bad_input_is_a_400(world):
    route = "/me/notification-preferences"
    assert call(platform_api, "GET", route, ADVISER) == (
        200,
        {"daily_digest": False, "timezone": None, "next_digest_at": None},
    )

    status, body = call(platform_api, "PUT", route, ADVISER, body={"daily_digest": True})

    assert status == 200 and body["daily_digest"] is True
    assert body["timezone"] == DEMO_FIRM.timezone
    assert datetime.fromisoformat(body["next_digest_at"]) > NOW
    assert call(platform_api, "GET", route, ADVISER)[1] == body
    for bad in ({"daily_digest": "yes"}, {}, {"daily_digest": True, "timezone": "Asia/Tokyo"}, None):
        status, error = call(platform_api, "PUT", route, ADVISER, body=bad)
        assert status == 400 and error["code"]
    assert call(platform_api, "PUT", route, CUSTOMER, body={"daily_digest": True})[0] == 403
    assert call(platform_api, "GET", route, OTHER_ADVISER, headers={"x-firm-id": DEMO_FIRM.firm_id})[0] == 404
    assert call(platform_api, "GET", route, OTHER_ADVISER)[1]["timezone"] is None  # their own firm's


def test_the_hourly_job_emails_each_opted_in_person_once_a_day_without_bank_data(world):
    from functions.digest_job.handler import run

    assert (
        call(platform_api, "PUT", "/me/notification-preferences", ADVISER, body={"daily_digest": True})[0]
        == 200
    )
    notify_customer_staff(
        bootstrap.staff_notices(), DEMO_FIRM.firm_id, DEMO_CUSTOMER_ID, "accounts_waiting", {"accounts": 2}
    )
    before = len(sent_emails())

    assert run({"job": "notification-digests"}) == {}  # 10:30 in London: not their morning yet
    CLOCK.set(datetime(2026, 6, 18, 7, 5, tzinfo=UTC))  # 08:05 in London
    assert run({"job": "notification-digests"}) == {"sent": 1}
    assert run({"job": "notification-digests"}) == {}  # a retried run sends nothing more

    (email,) = sent_emails()[before:]
    assert ADVISER.email in email.to
    assert f"{DEMO_FIRM.name}: New shared accounts wait for your review (1)" in email.body
    assert "/notifications" in email.body and "1234" not in email.body


def test_the_inviting_adviser_hears_when_the_invitation_is_accepted_over_http(world):
    status, invited = call(
        invitations_api,
        "POST",
        "/customers/invitations",
        ADVISER,
        body={"name": "Jane Doe", "email": INVITEE.email},
    )
    assert status == 201
    token = invitation_tokens(INVITEE.email)[-1]
    assert call(invitations_api, "POST", "/invitations/accept", INVITEE, body={"token": token})[0] == 200

    items = call(platform_api, "GET", "/me/notifications", ADVISER)[1]["items"]
    assert [(i["kind"], i["customer_id"]) for i in items] == [
        ("staff.invitation_accepted", invited["customer_id"])
    ]
    assert "Jane" not in items[0]["title"] + items[0]["body"]
