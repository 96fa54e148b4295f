"""Port: A queue of jobs for the workers.

What services need from the job queues; `shared/adapters/queue.py` implements it on SQS.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class JobSender(Protocol):
    """A queue of jobs for the workers."""

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None:
        """Send every body; entries SQS fails are retried, and what still fails raises
        QueueSendFailed with the positions not sent (the others are queued)."""
        ...
