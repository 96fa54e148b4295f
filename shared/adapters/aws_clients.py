"""boto3 clients, built on first use (never at import: cold start) and shared.

boto3's default session is not thread-safe while it creates clients, so creation is
serialised; a built client is thread-safe.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

_creating = threading.Lock()


@cache
def aws_client(service: str) -> Any:
    with _creating:
        import boto3
        from botocore.config import Config

        from shared.settings import get_settings

        seconds = get_settings().aws_call_timeout_seconds
        if seconds is None:
            return boto3.client(service)  # type: ignore[call-overload]
        # A caller with a deadline (the pool's trigger): short timeouts, one retry, then give up.
        bounded = Config(
            connect_timeout=seconds,
            read_timeout=seconds,
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        return boto3.client(service, config=bounded)  # type: ignore[call-overload]
