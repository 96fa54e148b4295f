"""Data Refresh's pure rules: status, inactive reasons, the firm's day, messages (R-REF-2..6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob, ImportReason
from shared.domain.refresh import (
    Connector,
    Engagement,
    EngagementOutcome,
    ExclusionReason,
    FanoutMessage,
    InactiveReason,
    JobCounts,
    RefreshFilters,
    RefreshState,
    RefreshStatus,
    exclusion_for,
    firm_day,
    refresh_result,
)

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)
TODAY = date(2026, 11, 22)
EULA = "2026-01"


def engagement(**changes) -> Engagement:
    values = dict(
        firm_id="f",
        customer_id="c",
        customer_name="Jane",
        contact_email="jane@example.org",
        owner_id="owner",
        staff_ids=("owner",),
        connectors=(Connector("k", "gocardless", "BANK", "Bank", True, NOW + timedelta(days=30)),),
        eula_version=EULA,
    )
    return Engagement(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"eula_version": None}, InactiveReason.EULA_NOT_ACCEPTED),
        ({"eula_version": "2025-01"}, InactiveReason.EULA_NOT_ACCEPTED),  # an older version: accept again
        ({"connectors": ()}, InactiveReason.NO_VALID_CONSENT),
        (
            {"connectors": (Connector("k", "plaid", "i", "B", True, NOW - timedelta(seconds=1)),)},
            InactiveReason.NO_VALID_CONSENT,
        ),
        ({"connectors": (Connector("k", "plaid", "i", "B", False, None),)}, InactiveReason.NO_VALID_CONSENT),
        ({"connectors": (Connector("k", "plaid", "i", "B", True, None),)}, None),  # no expiry known
    ],
)
def test_inactive_reasons(changes, reason):
    subject = engagement(**changes)
    assert subject.inactive_reason(NOW, EULA) is reason
    assert exclusion_for(subject, NOW, EULA) == (ExclusionReason(reason.value) if reason else None)


@pytest.mark.parametrize(
    ("last", "status", "selectable"),
    [
        (None, RefreshStatus.ACTIVE, True),
        ((TODAY, RefreshState.QUEUED), RefreshStatus.QUEUED, False),
        ((TODAY - timedelta(days=3), RefreshState.RUNNING), RefreshStatus.RUNNING, False),
        ((TODAY, RefreshState.SUCCEEDED), RefreshStatus.CAPPED_TODAY, False),
        ((TODAY, RefreshState.FAILED), RefreshStatus.CAPPED_TODAY, False),
        ((TODAY - timedelta(days=1), RefreshState.SUCCEEDED), RefreshStatus.SUCCEEDED, True),
        ((TODAY - timedelta(days=1), RefreshState.FAILED), RefreshStatus.FAILED, True),
    ],
)
def test_status_and_selectable(last, status, selectable):
    subject = engagement()
    if last:
        subject = subject.refreshed("job", last[0], last[1])
    assert subject.status(NOW, TODAY, EULA) is status
    assert subject.selectable(NOW, TODAY, EULA) is selectable


def test_inactive_wins_over_every_refresh_state():
    subject = engagement(eula_version=None).refreshed("job", TODAY, RefreshState.QUEUED)
    assert subject.status(NOW, TODAY, EULA) is RefreshStatus.INACTIVE
    assert subject.stored_bucket(NOW, EULA) == "inactive"
    assert engagement().stored_bucket(NOW, EULA) == "active"
    assert engagement().refreshed("j", TODAY, RefreshState.FAILED).stored_bucket(NOW, EULA) == "failed"


def test_the_day_is_the_firms_calendar_day():
    late_evening_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert firm_day(late_evening_utc, "Europe/London") == date(2026, 11, 22)
    assert firm_day(late_evening_utc, "Europe/Paris") == date(2026, 11, 23)  # already tomorrow there
    assert firm_day(datetime(2026, 11, 22, 3, tzinfo=UTC), "America/New_York") == date(2026, 11, 21)


def test_an_import_outcome_as_a_refresh_result():
    assert refresh_result(Outcome.IMPORTED) == (RefreshState.SUCCEEDED, None)
    assert refresh_result(Outcome.BUDGET_SPENT) == (RefreshState.FAILED, "budget_spent")
    assert refresh_result(Outcome.CONSENT_EXPIRED) == (RefreshState.FAILED, "consent_expired")


def test_an_engagement_finishes_when_all_its_imports_have():
    outcome = EngagementOutcome("c", RefreshState.RUNNING, connection_ids=("a", "b"))
    assert not outcome.finished_all
    done = EngagementOutcome(
        "c", RefreshState.RUNNING, connection_ids=("a", "b"), finished_connections=frozenset("ab")
    )
    assert done.finished_all and done.final_state is RefreshState.SUCCEEDED
    failed = EngagementOutcome(
        "c",
        RefreshState.RUNNING,
        error="budget_spent",
        connection_ids=("a",),
        finished_connections=frozenset("a"),
    )
    assert failed.final_state is RefreshState.FAILED


def test_job_counts_add_up():
    counts = JobCounts(pending=1, queued=2, running=3, succeeded=4, failed=5, excluded=6)
    assert counts.total == 21


def test_fanout_messages_round_trip():
    ids = FanoutMessage("f", "j", "actor", "adviser", engagement_ids=("a", "b"))
    assert FanoutMessage.from_json(ids.to_json()) == ids
    filters = RefreshFilters(
        q="jane", owner_id="o", last_upload_from=NOW, status=RefreshStatus.CAPPED_TODAY, package="plaid"
    )
    matching = FanoutMessage("f", "j", "actor", None, filters=filters, cursor="abc")
    assert FanoutMessage.from_json(matching.to_json()) == matching
    assert FanoutMessage.from_json(
        FanoutMessage("f", "j", "a", None, filters=RefreshFilters()).to_json()
    ).filters == (RefreshFilters())


def test_import_jobs_without_a_refresh_job_keep_their_old_shape():
    old = '{"firm_id":"f","customer_id":"c","connection_id":"k","reason":"schedule"}'
    job = ImportJob.from_json(old)
    assert job.refresh_job_id is None and job.to_json() == old
    refresh = ImportJob("f", "c", "k", ImportReason.REFRESH, "job-1")
    assert ImportJob.from_json(refresh.to_json()) == refresh


@pytest.mark.parametrize("body", ["[]", '["firm_id"]', "42", '"text"', "null"])
def test_a_fan_out_message_that_is_not_an_object_is_refused_as_malformed(body):
    with pytest.raises(ValueError):
        FanoutMessage.from_json(body)
