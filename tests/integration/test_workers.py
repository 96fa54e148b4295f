"""Workers and jobs are wired to their events. A message the Data Refresh fan-out worker can
never process is parked in its DLQ at once, with the reason (nothing lost, no retry storm)."""

from __future__ import annotations

import boto3
import pytest

from infra.spec import SCHEDULES
from tests.conftest import load_event


@pytest.fixture
def refresh_queue(aws) -> str:
    from local.provision import create_queues

    return create_queues()["refresh"].arn


def refresh_event(arn: str, receive_count: int) -> dict:
    event = load_event("sqs/import_jobs.json")  # import jobs: not fan-out messages
    for record in event["Records"]:
        record["eventSourceARN"] = arn
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return event


def test_malformed_fanout_messages_are_parked_at_once_with_their_reason(refresh_queue, lambda_context):
    from functions.refresh_fanout_worker.handler import lambda_handler

    assert lambda_handler(refresh_event(refresh_queue, 1), lambda_context) == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="refresh-dlq")["QueueUrl"]
    parked = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert len(parked) == 2
    assert all(
        "not a refresh fan-out message" in m["MessageAttributes"]["failure_reason"]["StringValue"]
        for m in parked
    )


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_scheduled_job_events_match_the_schedule_payloads(schedule):
    event = load_event(f"scheduler/{schedule.replace('-', '_')}.json")
    assert event == SCHEDULES[schedule].payload


def test_a_short_rate_limit_requeues_the_job_with_a_delay(refresh_queue, lambda_context):
    from shared.domain.errors import RateLimited
    from shared.worker import sqs_handler

    def rate_limited(_: str) -> None:
        raise RateLimited(retry_after_seconds=30)

    event = refresh_event(refresh_queue, 4)  # even on its 4th delivery: a rate limit is not a failure
    assert sqs_handler(rate_limited)(event, lambda_context) == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="refresh")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "2"
    dlq = sqs.get_queue_url(QueueName="refresh-dlq")["QueueUrl"]
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)


def test_one_failing_record_is_retried_alone(refresh_queue, lambda_context):
    from shared.worker import sqs_handler

    def handle(body: str) -> None:
        if "conn-2" in body:
            raise RuntimeError("this one fails")

    event = refresh_event(refresh_queue, 1)
    assert sqs_handler(handle)(event, lambda_context) == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]
    }


def test_a_given_up_job_is_reported_once_and_a_failing_report_does_not_bring_it_back(
    refresh_queue, lambda_context
):
    from shared.worker import sqs_handler

    reported: list[str] = []

    def handle(body: str) -> None:
        raise RuntimeError("always fails")

    def on_given_up(body: str) -> None:
        reported.append(body)
        raise RuntimeError("the table is unavailable too")

    event = refresh_event(refresh_queue, 5)  # the spec's maxReceiveCount: the last delivery
    assert sqs_handler(handle, on_given_up=on_given_up)(event, lambda_context) == {"batchItemFailures": []}
    assert reported == [record["body"] for record in event["Records"]]
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="refresh-dlq")["QueueUrl"]
    parked = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(parked) == len(reported) == 2

    reported.clear()
    assert sqs_handler(handle, on_given_up=on_given_up)(refresh_event(refresh_queue, 1), lambda_context)[
        "batchItemFailures"
    ]
    assert reported == []  # an earlier delivery is retried, not given up
