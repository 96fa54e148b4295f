"""What both aggregator adapters share: one JSON-over-HTTP client with bounded retries, and the
helpers that turn provider failures into domain errors without leaking a secret.

Retries: timeouts, connection errors and the replies an adapter calls retryable (5xx…) are
retried up to `RetryPolicy.attempts` times in all, with exponential backoff and full jitter
(a random delay in [0, min(max_delay, base_delay * 2**retry)]). A call that is not idempotent
(a requisition with a unique reference, a single-use public token) is retried only when the
request surely never reached the provider (the connection failed). 429s are never retried
here: the caller's job is parked until the reset (R-IMP-4).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from shared.domain.aggregator import AggregatorRateLimited, AggregatorUnavailable
from shared.observability import logger, tracer

tracer.patch(("httpx",))  # traced from the first aggregator call (no-op when tracing is off)

Sleep = Callable[[float], None]

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
REDACTED = "[redacted]"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # calls in all, the first one included
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, retry: int, rand: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**retry)]."""
        return rand() * min(self.max_delay, self.base_delay * (2**retry))


@dataclass(frozen=True)
class Reply:
    """One HTTP answer; `body` is the parsed JSON (numbers as Decimal) or None if not JSON."""

    status: int
    headers: httpx.Headers
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def object_body(self) -> dict[str, Any]:
        """The body when it is a JSON object, else an empty dict (for error bodies)."""
        return self.body if isinstance(self.body, dict) else {}


def parse_json(content: bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal (never a float); None if not JSON."""
    if not content:
        return None
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None


@dataclass
class JsonHttpClient:
    """An httpx.Client built on first use, with the retry policy above.

    `retryable(reply)` says which answers are worth another attempt (each provider has its
    own rule). `transport`, `sleep` and `rand` are injectable so tests run instantly.
    """

    provider: str
    base_url: str
    retryable: Callable[[Reply], bool]
    transport: httpx.BaseTransport | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = time.sleep
    rand: Callable[[], float] = random.random
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    base_url=self.base_url.rstrip("/") + "/",
                    transport=self.transport,
                    timeout=self.timeout,
                    headers={"Accept": "application/json"},
                )
            return self._client

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        before_each: Callable[[], None] | None = None,
    ) -> Reply:
        """Send with retries; return the last reply (the adapter maps non-2xx to errors).

        `operation` names the call in logs; paths may carry ids, never secrets, but the
        operation name is all a log line needs. `before_each` runs before every attempt, the
        retries included (a provider that counts requests counts each one); it may raise to
        stop before sending.
        """
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            if before_each is not None:
                before_each()
            try:
                response = self.client().request(
                    method, path.lstrip("/"), json=json_body, params=params, headers=headers
                )
            except httpx.TransportError as error:
                if last or not _may_resend(error, idempotent):
                    raise self._unavailable(operation, error) from None
                self._wait(operation, attempt, type(error).__name__)
                continue
            reply = Reply(response.status_code, response.headers, parse_json(response.content))
            if last or not idempotent or not self.retryable(reply):
                return reply
            self._wait(operation, attempt, str(reply.status))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, operation: str, attempt: int, cause: str) -> None:
        delay = self.retry.delay(attempt - 1, self.rand)
        logger.warning(
            "Aggregator call retried",
            extra={"provider": self.provider, "operation": operation, "attempt": attempt, "cause": cause},
        )
        self.sleep(delay)

    def _unavailable(self, operation: str, error: httpx.TransportError) -> AggregatorUnavailable:
        # The exception type only: an httpx message may quote the URL or the request.
        kind = "timed out" if isinstance(error, httpx.TimeoutException) else "could not be reached"
        return AggregatorUnavailable(
            f"The bank data provider {kind} ({operation}).",
            provider=self.provider,
            provider_code=type(error).__name__,
        )


def _may_resend(error: httpx.TransportError, idempotent: bool) -> bool:
    """A failed connection never reached the provider: resending is always safe."""
    return idempotent or isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


# --------------------------------------------------------------------------- error helpers


def redact(text: str | None, secrets: Iterable[str | None]) -> str | None:
    """`text` with every secret replaced (a provider may echo what it was sent)."""
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def _header_key(name: str) -> str:
    """`HTTP_X_RATELIMIT_RESET` and `x-ratelimit-reset` both become `x-ratelimit-reset`."""
    key = name.lower().replace("_", "-")
    return key.removeprefix("http-")


def rate_limit_values(headers: Mapping[str, str]) -> dict[str, int]:
    """The rate-limit headers present, by normalised name, as integers."""
    values: dict[str, int] = {}
    for name, raw in headers.items():
        key = _header_key(name)
        if key.startswith("x-ratelimit-") or key == "retry-after":
            try:
                values[key] = int(str(raw).strip())
            except ValueError:
                continue
    return values


_TRY_AGAIN = re.compile(r"try again in (\d+) seconds?", re.IGNORECASE)


def reset_seconds(headers: Mapping[str, str], detail: str | None = None) -> int | None:
    """Seconds until a rate limit resets.

    The scope whose `remaining` is 0 wins (the per-account success limit before the general
    one); else the longest reset announced; else `Retry-After`; else "try again in N seconds"
    in the error detail.
    """
    values = rate_limit_values(headers)
    scopes = ("x-ratelimit-account-success-", "x-ratelimit-")
    exhausted = [
        values[s + "reset"] for s in scopes if values.get(s + "remaining") == 0 and s + "reset" in values
    ]
    if exhausted:
        return exhausted[0]
    resets = [values[s + "reset"] for s in scopes if s + "reset" in values]
    if resets:
        return max(resets)
    if "retry-after" in values:
        return values["retry-after"]
    match = _TRY_AGAIN.search(detail or "")
    return int(match.group(1)) if match else None


def rate_limited(
    provider: str,
    message: str | None,
    seconds: int | None,
    now: datetime,
    *,
    provider_code: str | None = None,
    request_id: str | None = None,
) -> AggregatorRateLimited:
    return AggregatorRateLimited(
        message,
        retry_after_seconds=seconds,
        reset_at=now + timedelta(seconds=seconds) if seconds is not None else None,
        provider=provider,
        provider_code=provider_code,
        request_id=request_id,
    )
