"""Work whose use cases arrive with later issues (imports #5, Data Refresh #6, reminders #3).

Until then a job fails loudly: the queue retries it and then parks it in its dead-letter
queue (alarmed), so nothing is lost or silently dropped.
"""

from __future__ import annotations

from typing import Any


class CapabilityNotBuilt(RuntimeError):
    pass


def refuse_message(capability: str) -> Any:
    def handle(_: Any) -> Any:
        raise CapabilityNotBuilt(f"{capability} is not built yet")

    return handle
