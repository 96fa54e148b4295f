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

        return boto3.client(service)  # type: ignore[call-overload]
