"""The Plaid HTTP client: every call a JSON POST authenticated by the `PLAID-CLIENT-ID` and
`PLAID-SECRET` headers (Plaid accepts them there or in the body; headers keep them out of any
body we might echo), and Plaid's error object as a domain error. Our secrets and the access
and public tokens sent are redacted from every error message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.adapters.aggregator.credentials import CredentialSource, required
from shared.adapters.aggregator.http_client import JsonHttpClient, Reply, rate_limited, redact, reset_seconds
from shared.adapters.aggregator.payload import Payload
from shared.clock import Now
from shared.domain.aggregator import (
    AggregatorError,
    AggregatorRequestRejected,
    AggregatorUnavailable,
    ConsentRevoked,
    CredentialsRejected,
)

PROVIDER = "plaid"
CREDENTIALS_CODES = frozenset({"ITEM_LOGIN_REQUIRED", "ACCESS_NOT_GRANTED"})  # fixed by update mode
REVOKED_CODES = frozenset({"ITEM_NOT_FOUND", "USER_PERMISSION_REVOKED"})

_RETRYABLE_CODES = frozenset({"INTERNAL_SERVER_ERROR", "PLANNED_MAINTENANCE"})
_UNAVAILABLE_TYPES = frozenset({"API_ERROR", "INSTITUTION_ERROR"})


def is_retryable(reply: Reply) -> bool:
    return reply.status >= 500 or reply.object_body().get("error_code") in _RETRYABLE_CODES


class PlaidClient:
    """Authenticated calls to Plaid; a failed one raises the domain error it means."""

    def __init__(self, http: JsonHttpClient, credentials: CredentialSource, clock: Now) -> None:
        self._http = http
        self._credentials = credentials
        self._clock = clock

    def call(self, path: str, body: Mapping[str, Any], *, operation: str, idempotent: bool = True) -> Payload:
        values = self._credentials()
        client_id = required(values, "plaid_client_id", PROVIDER)
        secret = required(values, "plaid_secret", PROVIDER)
        reply = self._http.request(
            "POST",
            path,
            operation=operation,
            json_body=body,
            headers={"PLAID-CLIENT-ID": client_id, "PLAID-SECRET": secret},
            idempotent=idempotent,
        )
        if reply.ok:
            return Payload(reply.body, PROVIDER, operation)
        tokens = (body.get("access_token"), body.get("public_token"))
        raise self._error(reply, (secret, client_id, *tokens))

    def _error(self, reply: Reply, secrets: Sequence[str | None]) -> AggregatorError:
        """Plaid's error object ({error_type, error_code, error_message, display_message,
        request_id}) as a domain error; codes and types matter, not the HTTP status."""
        body = reply.object_body()
        error_type, code = _text(body, "error_type"), _text(body, "error_code")
        message = _text(body, "error_message") or _text(body, "display_message")
        text = redact(f"{code}: {message}" if code and message else message or code, secrets)
        details: dict[str, str | None] = {
            "provider": PROVIDER,
            "provider_code": code or error_type or str(reply.status),
            "request_id": _text(body, "request_id"),
        }
        if code in CREDENTIALS_CODES:
            return CredentialsRejected(text, **details)
        if code in REVOKED_CODES:
            return ConsentRevoked(text, **details)
        if error_type == "RATE_LIMIT_EXCEEDED" or reply.status == 429:
            seconds = reset_seconds(reply.headers)
            return rate_limited(
                PROVIDER, text, seconds, self._clock(), provider_code=code, request_id=details["request_id"]
            )
        if error_type in _UNAVAILABLE_TYPES or reply.status >= 500 or code in _RETRYABLE_CODES:
            return AggregatorUnavailable(text, **details)
        return AggregatorRequestRejected(text, **details)


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None
