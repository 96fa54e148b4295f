"""The SQS event source mapping: polls a queue, invokes its consumer with a batch, deletes
what succeeded (partial batch responses), and leaves the rest to become visible again. The
queue's own RedrivePolicy moves a message to its dead-letter queue after maxReceiveCount."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from infra.spec import QueueSpec
from local.fake_aws import REGION

log = logging.getLogger("local.queues")

Invoke = Callable[[str, Any], Any]  # (function name, event) -> result
SQS_MAX_BATCH = 10


def sqs_event_record(message: Mapping[str, Any], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """One `Records[]` entry as Lambda builds it from a received message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def failed_message_ids(message_ids: Sequence[str], response: Any) -> set[str]:
    """The messages Lambda leaves on the queue, given the consumer's partial batch response.

    No response, an empty one or an empty `batchItemFailures`: all succeeded. An identifier
    that is empty or not in the batch, or a response that is not an object: all failed.
    """
    if response is None:
        return set()
    if not isinstance(response, dict):
        return set(message_ids)
    failures = response.get("batchItemFailures") or []
    identifiers = [
        failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures
    ]
    if any(identifier not in message_ids for identifier in identifiers):
        return set(message_ids)
    return {str(identifier) for identifier in identifiers}


class QueuePump:
    """A queue's event source mapping: one poller thread receives a batch whenever fewer than the
    spec's `max_concurrency` batches are in flight, and each batch is processed in a thread of its
    own, so at most that many invocations of the consumer run at once (as the mapping's maximum
    concurrency caps them on AWS). One poller per queue: moto's ReceiveMessage is not atomic, so
    concurrent receives of one queue could hand a message out twice."""

    def __init__(
        self,
        queue_name: str,
        spec: QueueSpec,
        *,
        queue_url: str,
        queue_arn: str,
        invoke: Invoke,
        sqs: Any,
        stop: threading.Event,
        wait_seconds: int = 1,  # short long-poll: Ctrl-C stops the pump within a second
    ):
        self._queue_name = queue_name
        self._spec = spec
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._invoke = invoke
        self._sqs = sqs
        self._wait_seconds = wait_seconds
        self._stop = stop
        self._slots = threading.BoundedSemaphore(spec.max_concurrency)
        self._in_flight: set[threading.Thread] = set()
        self._in_flight_changed = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"queue-{queue_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        """Once stopped: the poller, then the batches still in flight."""
        self._thread.join()
        with self._in_flight_changed:
            batches = list(self._in_flight)
        for batch in batches:
            batch.join()

    def poll_once(self) -> int:
        """Receive one batch, process it; returns how many messages were received."""
        messages = self._receive()
        if messages:
            self._process(messages)
        return len(messages)

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self._spec.batch_size, SQS_MAX_BATCH),
            WaitTimeSeconds=self._wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def _process(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [sqs_event_record(message, self._queue_arn) for message in messages]}
        message_ids = [message["MessageId"] for message in messages]
        try:
            failed = failed_message_ids(message_ids, self._invoke(self._spec.consumer, event))
        except Exception:
            log.exception(
                "%s raised on a batch of %d from %s", self._spec.consumer, len(messages), self._queue_name
            )
            failed = set(message_ids)
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        log.info(
            "%s: %s took %d message(s), %d failed",
            self._queue_name,
            self._spec.consumer,
            len(messages),
            len(failed),
        )
        for message in messages:
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
            if message["MessageId"] in failed and receives >= self._spec.max_receive_count:
                log.warning(
                    "%s: message %s failed its last allowed receive (%d): it moves to the dead-letter queue",
                    self._queue_name,
                    message["MessageId"],
                    receives,
                )

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=self._wait_seconds or 1):
                continue  # every slot busy: look at the stop signal again
            try:
                messages = [] if self._stop.is_set() else self._receive()
            except Exception:
                self._slots.release()
                log.exception("polling %s failed", self._queue_name)
                self._stop.wait(1)
                continue
            if not messages:
                self._slots.release()
                continue
            name = f"queue-{self._queue_name}-batch"
            batch = threading.Thread(target=self._process_in_slot, args=(messages,), name=name, daemon=True)
            with self._in_flight_changed:
                self._in_flight.add(batch)
            batch.start()

    def _process_in_slot(self, messages: list[dict[str, Any]]) -> None:
        try:
            self._process(messages)
        except Exception:  # deleting what succeeded failed: the messages come back, as on AWS
            log.exception("processing a batch of %s failed", self._queue_name)
        finally:
            with self._in_flight_changed:
                self._in_flight.discard(threading.current_thread())
            self._slots.release()
