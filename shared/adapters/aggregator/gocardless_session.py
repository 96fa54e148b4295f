"""The GoCardless Bank Account Data HTTP session: the access token, the per-account daily
limits, and the API's failures as domain errors.

Access token: `POST token/new/` once per process, refreshed with `token/refresh/` shortly
before its 24 h expiry (the refresh token lasts 30 days), a new login only when both are
spent or the API rejects the token. Our secrets and the tokens are redacted from every error
message.

Limits: every request to an account endpoint (`accounts/{id}/` and its `details`, `balances`,
`transactions`), each attempt, first passes the company-wide pace (100 a minute for all of the
company's credentials); `details`, `balances` and `transactions` then pass the per-account daily
gate. A 429, or a success that leaves none, holds that endpoint of that account until the reset.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from shared.adapters.aggregator.credentials import CredentialSource, required
from shared.adapters.aggregator.http_client import (
    JsonHttpClient,
    Reply,
    rate_limit_values,
    rate_limited,
    redact,
    reset_seconds,
)
from shared.adapters.aggregator.payload import Payload
from shared.clock import Now
from shared.domain.aggregator import (
    AggregatorError,
    AggregatorRateLimited,
    AggregatorRequestRejected,
    AggregatorUnavailable,
    ConsentExpired,
    ConsentRevoked,
    RequestGate,
    RequestPace,
)

PROVIDER = "gocardless"
TOKEN_MARGIN = timedelta(minutes=5)  # renew a token this long before it expires

_EXPIRED = re.compile(
    r"\b(EUA|end user agreement)\b.*\bexpired\b|access has expired|no valid end user agreement",
    re.IGNORECASE | re.DOTALL,
)
_SUSPENDED = re.compile(r"\bsuspended\b", re.IGNORECASE)
_INVALID_TOKEN = re.compile(r"token is invalid or expired|invalid token", re.IGNORECASE)


@dataclass(frozen=True)
class _Tokens:
    access: str
    access_expires_at: datetime
    refresh: str | None
    refresh_expires_at: datetime | None

    def access_valid(self, now: datetime) -> bool:
        return now < self.access_expires_at - TOKEN_MARGIN

    def refresh_valid(self, now: datetime) -> bool:
        return (
            bool(self.refresh)
            and self.refresh_expires_at is not None
            and now < self.refresh_expires_at - TOKEN_MARGIN
        )


def segment(value: str) -> str:
    """An id as one URL path segment (an id is never a path). Quoting leaves "." and "..", which
    the URL would resolve as dot segments (`institutions/../` is another endpoint): refused."""
    if value in ("", ".", ".."):
        raise AggregatorRequestRejected("Not an id the bank data provider knows.", provider=PROVIDER)
    return quote(value, safe="")


def is_retryable(reply: Reply) -> bool:
    """5xx, except UnknownRequestError: GoCardless suspends an account after 10 consecutive
    ones, so a burst of retries must not spend them."""
    return reply.status >= 500 and reply.object_body().get("type") != "UnknownRequestError"


class GoCardlessSession:
    """Requests to GoCardless with a valid access token, within the company-wide pace and the
    per-account limits; `error` reads a failed reply."""

    def __init__(
        self,
        http: JsonHttpClient,
        credentials: CredentialSource,
        clock: Now,
        gate: RequestGate,
        pace: RequestPace,
    ) -> None:
        self._http = http
        self._gate = gate
        self._pace = pace
        self._credentials = credentials
        self._clock = clock
        self._tokens: _Tokens | None = None
        self._login_secrets: tuple[str, ...] = ()  # redacted from every error message
        self._token_lock = threading.Lock()

    def call(self, method: str, path: str, *, operation: str, **options: Any) -> Reply:
        return self.checked(self.authorised(method, path, operation=operation, **options))

    def checked(self, reply: Reply) -> Reply:
        if reply.ok:
            return reply
        raise self.error(reply)

    def authorised(self, method: str, path: str, *, operation: str, **options: Any) -> Reply:
        """One call with the access token; a token the API rejects is replaced once."""
        token = self._access_token()
        reply = self._http.request(method, path, operation=operation, headers=_bearer(token), **options)
        if reply.status == 401 and _is_invalid_token(reply):
            self._forget(token)
            reply = self._http.request(
                method, path, operation=operation, headers=_bearer(self._access_token()), **options
            )
        return reply

    def account(self, account_id: str) -> Reply:
        """GET accounts/{id}/ (no daily limit per account, but within the company-wide pace)."""
        return self.authorised(
            "GET",
            f"api/v2/accounts/{segment(account_id)}/",
            operation="get_account",
            before_each=self._pace.admit,
        )

    def limited(self, account_id: str, endpoint: str, *, operation: str, **options: Any) -> Reply:
        """A GET of an endpoint the bank limits per account and day: each attempt passes the
        pace and the gate before it is sent, and what the provider says of the limit is kept for
        the next."""
        reply = self.authorised(
            "GET",
            f"api/v2/accounts/{segment(account_id)}/{endpoint}/",
            operation=operation,
            before_each=lambda: self._admit(account_id, endpoint),
            **options,
        )
        self._note_limit(account_id, endpoint, reply)
        return reply

    def _admit(self, account_id: str, endpoint: str) -> None:
        """The pace first, then the account's daily budget: a request the budget refuses after the
        pace admitted it costs one of this minute's 100 slots, which come back in a minute; the
        other order would cost one of the account's 4 requests of the day for a wait of seconds."""
        self._pace.admit()
        self._gate.admit(account_id, endpoint)

    def _note_limit(self, account_id: str, endpoint: str, reply: Reply) -> None:
        """A 429, or a success that leaves none of the account's requests: no request to this
        endpoint before the reset the provider gave."""
        remaining = rate_limit_values(reply.headers).get("x-ratelimit-account-success-remaining")
        if reply.status != 429 and remaining != 0:
            return
        _, detail = _summary_and_detail(reply.object_body())
        seconds = reset_seconds(reply.headers, detail)
        if seconds is None:
            seconds = AggregatorRateLimited.default_retry_after_seconds
        self._gate.hold(account_id, endpoint, self._clock() + timedelta(seconds=seconds))

    def _access_token(self) -> str:
        with self._token_lock:
            now = self._clock()
            tokens = self._tokens
            if tokens is None or not tokens.access_valid(now):
                refreshed = self._refreshed(tokens, now) if tokens and tokens.refresh_valid(now) else None
                tokens = refreshed or self._new_tokens(now)
                self._tokens = tokens
            return tokens.access

    def _new_tokens(self, now: datetime) -> _Tokens:
        values = self._credentials()
        secret_id = required(values, "gocardless_secret_id", PROVIDER)
        secret_key = required(values, "gocardless_secret_key", PROVIDER)
        self._login_secrets = (secret_id, secret_key)
        reply = self._http.request(
            "POST",
            "api/v2/token/new/",
            operation="token_new",
            json_body={"secret_id": secret_id, "secret_key": secret_key},
        )
        if not reply.ok:
            error = self.error(reply)
            if reply.status in (401, 403):  # our credentials, not the person's: a configuration fault
                raise AggregatorUnavailable(
                    error.message, provider=PROVIDER, provider_code="authentication_failed"
                )
            raise error
        body = Payload(reply.body, PROVIDER, "token")
        refresh_seconds = body.opt_int("refresh_expires")
        return _Tokens(
            access=body.text("access"),
            access_expires_at=now + timedelta(seconds=body.opt_int("access_expires") or 0),
            refresh=body.opt_text("refresh"),
            refresh_expires_at=now + timedelta(seconds=refresh_seconds) if refresh_seconds else None,
        )

    def _refreshed(self, tokens: _Tokens, now: datetime) -> _Tokens | None:
        """A new access token from the refresh token; None if it was refused (log in again)."""
        reply = self._http.request(
            "POST", "api/v2/token/refresh/", operation="token_refresh", json_body={"refresh": tokens.refresh}
        )
        if 400 <= reply.status < 500 and reply.status != 429:
            return None
        if not reply.ok:
            raise self.error(reply)
        body = Payload(reply.body, PROVIDER, "token")
        return replace(
            tokens,
            access=body.text("access"),
            access_expires_at=now + timedelta(seconds=body.opt_int("access_expires") or 0),
        )

    def _forget(self, token: str) -> None:
        with self._token_lock:
            if self._tokens is not None and self._tokens.access == token:
                self._tokens = replace(self._tokens, access_expires_at=datetime.fromtimestamp(0, UTC))

    def error(self, reply: Reply) -> AggregatorError:
        """The domain error for a non-2xx reply; an expired agreement is read from the body,
        whatever the status code (GoCardless answers 401, 403 or 400 for it)."""
        body = reply.object_body()
        summary, detail = _summary_and_detail(body)
        kind = body.get("type") if isinstance(body.get("type"), str) else None
        tokens = (self._tokens.access, self._tokens.refresh) if self._tokens else ()
        message = redact(_sentence(summary, detail), (*self._login_secrets, *tokens))
        details: dict[str, str | None] = {"provider": PROVIDER, "provider_code": kind or str(reply.status)}
        if kind == "AccessExpiredError" or any(_EXPIRED.search(text) for text in (summary, detail) if text):
            return ConsentExpired(message, **details)
        if kind == "AccountInactiveError" or _SUSPENDED.search(summary or ""):
            return ConsentRevoked(message, **details)
        if reply.status == 429:
            return rate_limited(
                PROVIDER, message, reset_seconds(reply.headers, detail), self._clock(), provider_code=kind
            )
        if reply.status >= 500:
            return AggregatorUnavailable(message, **details)
        return AggregatorRequestRejected(message, **details)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _is_invalid_token(reply: Reply) -> bool:
    summary, detail = _summary_and_detail(reply.object_body())
    text = f"{summary or ''} {detail or ''}"
    return bool(_INVALID_TOKEN.search(text)) and not _EXPIRED.search(text)


def _summary_and_detail(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """`summary`/`detail` of an error body, or of its per-field errors ({field: {summary, detail}})."""
    summary, detail = body.get("summary"), body.get("detail")
    if isinstance(summary, str) or isinstance(detail, str):
        return (summary if isinstance(summary, str) else None, detail if isinstance(detail, str) else None)
    fields = {name: value for name, value in body.items() if isinstance(value, dict)}
    if not fields:
        return None, None
    summaries = "; ".join(f"{name}: {value.get('summary')}" for name, value in fields.items())
    details = "; ".join(
        f"{name}: {value.get('detail')}" for name, value in fields.items() if value.get("detail")
    )
    return summaries, details or None


def _sentence(summary: str | None, detail: str | None) -> str | None:
    if summary and detail and detail != summary:
        return f"{summary}: {detail}"
    return summary or detail
