"""AWS cron next-fire times in a time zone, and the local scheduler's retries and DLQ."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from infra.spec import SCHEDULES, ScheduleSpec
from local.aws_cron import CronExpression
from local.scheduler import Scheduler, UnknownSchedule

LONDON = ZoneInfo("Europe/London")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def next_fire(expression: str, after: datetime, zone: ZoneInfo = LONDON) -> datetime | None:
    return CronExpression.parse(expression).next_fire(after, zone)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # 02:30 London is 02:30 UTC in winter and 01:30 UTC in summer.
        ("cron(30 2 * * ? *)", utc(2026, 11, 22, 1, 0), utc(2026, 11, 22, 2, 30)),
        ("cron(30 2 * * ? *)", utc(2026, 7, 1, 0, 0), utc(2026, 7, 1, 1, 30)),
        ("cron(30 2 * * ? *)", utc(2026, 11, 22, 2, 30), utc(2026, 11, 23, 2, 30)),  # strictly after
        ("cron(0 9 ? * MON-FRI *)", utc(2026, 11, 21, 12, 0), utc(2026, 11, 23, 9, 0)),  # Sat -> Mon
        ("cron(0 9 ? * 1 *)", utc(2026, 11, 21, 12, 0), utc(2026, 11, 22, 9, 0)),  # 1 is Sunday
        ("cron(0/15 * * * ? *)", utc(2026, 11, 22, 10, 7), utc(2026, 11, 22, 10, 15)),
        ("cron(5,10 8 1 JAN,JUL ? *)", utc(2026, 2, 1, 0, 0), utc(2026, 7, 1, 7, 5)),
        ("cron(0 0 29 2 ? *)", utc(2026, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0)),
        ("cron(0 12 1 1 ? 2030)", utc(2026, 1, 1, 0, 0), utc(2030, 1, 1, 12, 0)),
    ],
)
def test_next_fire_in_the_schedule_time_zone(expression, after, expected):
    assert next_fire(expression, after) == expected


def test_a_local_time_skipped_by_spring_forward_does_not_fire():
    # 29 March 2026: London clocks go from 01:00 to 02:00; 01:30 does not exist that day.
    assert next_fire("cron(30 1 * * ? *)", utc(2026, 3, 28, 2, 0)) == utc(2026, 3, 30, 0, 30)  # 01:30 BST


def test_a_local_time_repeated_by_fall_back_fires_once():
    # 25 October 2026: London clocks go from 02:00 back to 01:00; 01:30 happens twice.
    first = next_fire("cron(30 1 * * ? *)", utc(2026, 10, 24, 12, 0))
    assert first == utc(2026, 10, 25, 0, 30)  # 01:30 BST
    assert next_fire("cron(30 1 * * ? *)", first) == utc(2026, 10, 26, 1, 30)


def test_an_expression_that_never_fires_again_has_no_next_time():
    assert next_fire("cron(0 0 1 1 ? 2020)", utc(2026, 1, 1)) is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(5 minutes)",
        "cron(0 9 * * *)",  # five fields
        "cron(0 9 * * * *)",  # neither day field is ?
        "cron(0 9 ? * ? *)",  # both are
        "cron(0 9 L * ? *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 9 15W * ? *)",
        "cron(60 9 * * ? *)",
        "cron(0 9 * * ? 1969)",
    ],
)
def test_unsupported_or_invalid_expressions_are_refused(expression):
    with pytest.raises(ValueError):
        CronExpression.parse(expression)


def test_every_spec_schedule_parses():
    for spec in SCHEDULES.values():
        CronExpression.parse(spec.expression)


class RecordingSqs:
    def __init__(self):
        self.sent: list[dict] = []

    def send_message(self, **message):
        self.sent.append(message)


SCHEDULE = ScheduleSpec(
    expression="cron(0 9 * * ? *)",
    timezone="Europe/London",
    target="reminders_job",
    payload={"job": "invitation-reminders"},
    description="test",
    maximum_retry_attempts=2,
)


def scheduler(invoke, sqs=None):
    return Scheduler(
        {"reminders": SCHEDULE},
        invoke=invoke,
        sqs=sqs or RecordingSqs(),
        dead_letter_queue_url="dlq-url",
        stop=threading.Event(),
        clock=lambda: utc(2026, 11, 22, 8, 0),
        first_retry_delay_seconds=0,
    )


def test_run_now_invokes_the_target_with_the_payload_and_returns_its_result():
    calls = []

    def invoke(name, event):
        calls.append((name, event))
        return {"sent": 3}

    assert scheduler(invoke).run_now("reminders") == {"sent": 3}
    assert calls == [("reminders_job", {"job": "invitation-reminders"})]


def test_run_now_of_an_unknown_schedule_says_so():
    with pytest.raises(UnknownSchedule):
        scheduler(lambda name, event: None).run_now("nope")


def test_a_failing_target_is_retried_then_its_event_goes_to_the_dead_letter_queue():
    attempts = []
    sqs = RecordingSqs()

    def invoke(name, event):
        attempts.append(event)
        raise RuntimeError("job failed")

    scheduler(invoke, sqs).fire("reminders")
    assert len(attempts) == 1 + SCHEDULE.maximum_retry_attempts
    (message,) = sqs.sent
    assert message["QueueUrl"] == "dlq-url"
    record = json.loads(message["MessageBody"])  # as Lambda sends it to an on-failure destination
    assert record["requestContext"]["functionArn"].endswith(":function:reminders_job:$LATEST")
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1 + SCHEDULE.maximum_retry_attempts
    assert record["requestPayload"] == {"job": "invitation-reminders"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert (record["responsePayload"]["errorType"], record["responsePayload"]["errorMessage"]) == (
        "RuntimeError",
        "job failed",
    )
    assert record["timestamp"] == "2026-11-22T08:00:00.000Z"


def test_a_retry_that_succeeds_sends_nothing_to_the_dead_letter_queue():
    outcomes = iter([RuntimeError("once"), None])
    sqs = RecordingSqs()

    def invoke(name, event):
        outcome = next(outcomes)
        if outcome:
            raise outcome

    scheduler(invoke, sqs).fire("reminders")
    assert sqs.sent == []


def test_describe_gives_the_next_fire_time_in_the_schedule_time_zone():
    (described,) = scheduler(lambda name, event: None).describe()
    assert described["name"] == "reminders" and described["expression"] == "cron(0 9 * * ? *)"
    assert described["next_fire_time"] == "2026-11-22T09:00:00+00:00"
