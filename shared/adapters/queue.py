"""Sending jobs to an SQS queue, ten per SendMessageBatch."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from shared.adapters.aws_clients import aws_client

SQS_BATCH = 10


@dataclass
class JobQueue:
    queue_url: str

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None:
        """Send every body; entries SQS fails are retried, and a persistent failure raises."""
        for start in range(0, len(bodies), SQS_BATCH):
            entries = [
                {"Id": str(n), "MessageBody": body, "DelaySeconds": delay_seconds}
                for n, body in enumerate(bodies[start : start + SQS_BATCH])
            ]
            for attempt in range(5):
                failed = (
                    aws_client("sqs")
                    .send_message_batch(QueueUrl=self.queue_url, Entries=entries)
                    .get("Failed")
                )
                if not failed:
                    break
                retry = {entry["Id"] for entry in failed if not entry.get("SenderFault")}
                if len(retry) < len(failed):
                    raise RuntimeError(f"SQS refused {len(failed) - len(retry)} message(s) as malformed")
                entries = [entry for entry in entries if entry["Id"] in retry]
                time.sleep(0.1 * 2**attempt)
            else:
                raise RuntimeError("SQS kept failing to accept messages")
