"""The local SQS event source: Lambda-shaped records, partial batch responses, and moto's
redrive to the dead-letter queue after the spec's maxReceiveCount."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from moto import mock_aws

from infra.spec import QUEUES
from local.provision import create_queues
from local.queue_pump import QueuePump, failed_message_ids, sqs_event_record

QUEUE = "imports"
SPEC = QUEUES[QUEUE]


@pytest.fixture
def sqs():
    with mock_aws():
        client = boto3.client("sqs")
        queues = create_queues()
        # Visible again at once, so the test need not wait out the local 5 s.
        client.set_queue_attributes(QueueUrl=queues[QUEUE].url, Attributes={"VisibilityTimeout": "0"})
        yield client, queues[QUEUE]


def pump(sqs_and_queue, handler, spec=SPEC, stop=None):
    """A pump of the queue; with `stop`, to be started (a 1 s long poll), else for `poll_once`."""
    client, queue = sqs_and_queue
    return QueuePump(
        QUEUE,
        spec,
        queue_url=queue.url,
        queue_arn=queue.arn,
        invoke=lambda name, event: handler(event),
        sqs=client,
        stop=stop or threading.Event(),
        wait_seconds=1 if stop else 0,
    )


def bodies(client, url):
    messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    )
    return sorted(message["Body"] for message in messages)


def test_records_have_the_shape_lambda_gives_them(sqs):
    client, queue = sqs
    client.send_message(
        QueueUrl=queue.url,
        MessageBody='{"job": 1}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "import"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    message = client.receive_message(
        QueueUrl=queue.url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"][0]
    record = sqs_event_record(message, queue.arn)
    assert record["messageId"] == message["MessageId"] and record["receiptHandle"] == message["ReceiptHandle"]
    assert record["body"] == '{"job": 1}' and record["md5OfBody"] == message["MD5OfBody"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= record["attributes"].keys()
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "import",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    assert record["md5OfMessageAttributes"] == message["MD5OfMessageAttributes"]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        queue.arn,
        "eu-west-2",
    )
    parsed = next(SQSEvent({"Records": [record]}).records)
    assert parsed.attributes.approximate_receive_count == "1"
    assert parsed.message_attributes["kind"].string_value == "import"


def test_only_the_records_listed_as_failures_stay_on_the_queue(sqs):
    client, queue = sqs
    for body in ("ok-1", "bad", "ok-2"):
        client.send_message(QueueUrl=queue.url, MessageBody=body)
    received = []

    def handler(event):
        received.extend(record["body"] for record in event["Records"])
        failures = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}

    assert pump(sqs, handler).poll_once() == 3
    assert sorted(received) == ["bad", "ok-1", "ok-2"]
    assert bodies(client, queue.url) == ["bad"]


def test_a_powertools_batch_handler_fails_only_its_failing_record(sqs):
    client, queue = sqs
    for body in ({"n": 1}, {"n": 2}, {"n": 3}):
        client.send_message(QueueUrl=queue.url, MessageBody=json.dumps(body))
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record):
        if record.json_body["n"] == 2:
            raise ValueError("n=2 fails")

    pump(sqs, lambda event: process_partial_response(event, record_handler, processor)).poll_once()
    assert bodies(client, queue.url) == ['{"n": 2}']


def test_when_the_handler_raises_no_message_is_deleted(sqs):
    client, queue = sqs
    for body in ("a", "b"):
        client.send_message(QueueUrl=queue.url, MessageBody=body)

    def handler(event):
        raise RuntimeError("function error")

    pump(sqs, handler).poll_once()
    assert bodies(client, queue.url) == ["a", "b"]


def test_moto_redrives_to_the_dead_letter_queue_after_the_spec_max_receive_count(sqs, caplog):
    client, queue = sqs
    client.send_message(QueueUrl=queue.url, MessageBody="poison")
    attempts = []

    def handler(event):
        attempts.append(event["Records"][0]["attributes"]["ApproximateReceiveCount"])
        raise RuntimeError("always fails")

    local_pump = pump(sqs, handler)
    for _ in range(SPEC.max_receive_count + 2):
        local_pump.poll_once()
    assert attempts == [str(n) for n in range(1, SPEC.max_receive_count + 1)]
    assert bodies(client, queue.url) == []
    assert bodies(client, queue.dlq_url) == ["poison"]
    assert caplog.text.count("moves to the dead-letter queue") == 1


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),
        ({"batchItemFailures": [{"id": "b"}]}, {"a", "b"}),
        ("not an object", {"a", "b"}),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(response, failed):
    assert failed_message_ids(["a", "b"], response) == failed


def test_batches_run_concurrently_up_to_the_event_source_mappings_maximum_concurrency(sqs):
    """One message a batch, three batches at most in flight. Twelve messages are processed in rounds
    where three invocations meet at a barrier (so more than one ran at once); then one returns and
    the other two wait until the pump asks for another batch: it must not have asked while the
    three ran (nor may a fourth invocation have run)."""
    sqs_client, queue = sqs
    # Invisible while processed (the fixture's 0 would hand a message in flight out again).
    sqs_client.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "30"})
    spec = replace(SPEC, batch_size=1, max_concurrency=3)
    for n in range(12):
        sqs_client.send_message(QueueUrl=queue.url, MessageBody=str(n))
    changed = threading.Condition()
    running, most, done, running_at_receives, receives_at_barrier = 0, 0, [], [], []

    class Sqs:  # the pump's client, noting how many invocations run each time it receives
        def __getattr__(self, name):
            return getattr(sqs_client, name)

        def receive_message(self, **request):
            with changed:
                running_at_receives.append(running)
                changed.notify_all()
            return sqs_client.receive_message(**request)

    met = threading.Barrier(
        spec.max_concurrency, action=lambda: receives_at_barrier.append(len(running_at_receives))
    )

    def handler(event):
        nonlocal running, most
        with changed:
            running += 1
            most = max(most, running)
        try:
            if met.wait(timeout=10):  # all but one: the pump asks for more once the one returned
                with changed:
                    assert changed.wait_for(
                        lambda: len(running_at_receives) > receives_at_barrier[-1], timeout=10
                    )
        finally:
            with changed:
                running -= 1
                done.extend(record["body"] for record in event["Records"])
                changed.notify_all()

    stop = threading.Event()
    local_pump = pump((Sqs(), queue), handler, spec, stop)
    local_pump.start()
    with changed:
        changed.wait_for(lambda: len(done) == 12, timeout=30)
    stop.set()
    local_pump.join()
    assert sorted(done, key=int) == [str(n) for n in range(12)]
    assert most == spec.max_concurrency and not met.broken
    assert max(running_at_receives) < spec.max_concurrency, running_at_receives
    assert bodies(sqs_client, queue.url) == []


def test_the_stop_signal_stops_a_pump_within_its_long_poll(sqs):
    stop = threading.Event()
    local_pump = pump(sqs, lambda event: None, stop=stop)
    local_pump.start()
    stop.set()
    joined = threading.Thread(target=local_pump.join, daemon=True)
    joined.start()
    joined.join(timeout=5)  # a bound, not a measurement: the long poll is 1 s
    assert not joined.is_alive()
