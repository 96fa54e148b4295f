"""Sending jobs to an SQS queue, ten per SendMessageBatch."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.aws_clients import aws_client
from shared.domain.errors import (
    QueueSendFailed,
)

SQS_BATCH = 10
SEND_ATTEMPTS = 5


@dataclass
class JobQueue:
    queue_url: str

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None:
        """Send every body; entries SQS fails are retried, and what still fails raises
        QueueSendFailed with the positions not sent (the others are queued)."""
        unsent: list[int] = []
        for start in range(0, len(bodies), SQS_BATCH):
            unsent += [start + n for n in self._send_batch(bodies[start : start + SQS_BATCH], delay_seconds)]
        if unsent:
            raise QueueSendFailed(unsent)

    def _send_batch(self, bodies: Sequence[str], delay_seconds: int) -> list[int]:
        entries: list[dict[str, Any]] = [
            {"Id": str(n), "MessageBody": body, "DelaySeconds": delay_seconds}
            for n, body in enumerate(bodies)
        ]
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                time.sleep(0.1 * 2**attempt)
            try:
                failed = (
                    aws_client("sqs")
                    .send_message_batch(QueueUrl=self.queue_url, Entries=entries)
                    .get("Failed")
                )
            except (ClientError, BotoCoreError):
                continue
            if not failed:
                return []
            if any(entry.get("SenderFault") for entry in failed):  # malformed: retrying cannot help
                return [int(entry["Id"]) for entry in failed]
            retry = {entry["Id"] for entry in failed}
            entries = [entry for entry in entries if entry["Id"] in retry]
        return [int(entry["Id"]) for entry in entries]


@dataclass(frozen=True)
class Redrive:
    queue_url: str
    dead_letter_queue_url: str
    max_receive_count: int


@cache
def redrive_of(queue_arn: str) -> Redrive:
    """The queue's own redrive policy (its DLQ and maxReceiveCount), read once per container,
    so workers follow the stack's settings without a copy of them."""
    sqs = aws_client("sqs")
    url = _url_of(queue_arn)
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    return Redrive(url, _url_of(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"]))


def _url_of(queue_arn: str) -> str:
    *_, account, name = queue_arn.split(":")
    return str(aws_client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def park_in_dead_letter_queue(queue_arn: str, body: str, reason: str, attempts: int) -> None:
    """Move a message to its DLQ now, saying why (a redrive would carry no reason)."""
    aws_client("sqs").send_message(
        QueueUrl=redrive_of(queue_arn).dead_letter_queue_url,
        MessageBody=body,
        MessageAttributes={
            "failure_reason": {"DataType": "String", "StringValue": reason[:1000]},
            "attempts": {"DataType": "Number", "StringValue": str(attempts)},
        },
    )


MAX_SQS_DELAY_SECONDS = 900


class RetryLater(Exception):
    """This delivery stays in the queue, hidden until the reset: report it as not processed."""


def retry_after(queue_arn: str, receipt_handle: str, body: str, seconds: int) -> None:
    """Bring the job back after `seconds` (a rate limit's reset): as a new, delayed message when
    SQS can delay it (up to 15 minutes; its receive count starts again), else by hiding this
    delivery longer (RetryLater: the batch response keeps it)."""
    sqs = aws_client("sqs")
    url = redrive_of(queue_arn).queue_url
    if seconds <= MAX_SQS_DELAY_SECONDS:
        sqs.send_message(QueueUrl=url, MessageBody=body, DelaySeconds=max(0, seconds))
        return
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=min(seconds, 12 * 3600)
    )
    raise RetryLater()
