"""The local SQS event source: Lambda-shaped records, partial batch responses, and moto's
redrive to the dead-letter queue after the spec's maxReceiveCount."""

from __future__ import annotations

import json
import threading

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


def pump(sqs_and_queue, handler):
    client, queue = sqs_and_queue
    return QueuePump(
        QUEUE,
        SPEC,
        queue_url=queue.url,
        queue_arn=queue.arn,
        invoke=lambda name, event: handler(event),
        sqs=client,
        stop=threading.Event(),
        wait_seconds=0,
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
