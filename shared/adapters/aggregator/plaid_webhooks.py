"""Verifying Plaid webhooks (R-CON-5), in the order Plaid documents it
(https://plaid.com/docs/api/webhooks/webhook-verification/):

1. The `Plaid-Verification` header, read case-insensitively, holds a JWT.
2. Its header is decoded WITHOUT verifying. `alg` must be exactly "ES256". Anything else,
   `none`, HS256 and RS256 included, is refused before any key is looked up, and the signature
   is then checked with `algorithms=["ES256"]` only. That closes off algorithm confusion, for
   example an HS256 token "signed" with the public key's bytes. `kid` is required.
3. The JWK for `kid` comes from `/webhook_verification_key/get`, through a cache (below). A
   key whose `expired_at` is in the past is refused.
4. The signature is verified with a key built only from the JWK's public members
   (kty/crv/x/y) on P-256.
5. `iat` may be at most `MAX_AGE_SECONDS` (5 minutes) old, and at most `MAX_FUTURE_SKEW_SECONDS`
   (30 s) in the future. Plaid's clock and ours are both NTP-synced, so a small skew is normal,
   but a token from further ahead is not a fresh one. pyjwt's own time checks are turned off:
   they read the wall clock, and the verifier uses its injected clock.
6. `request_body_sha256` must equal the SHA-256 hex of the exact body bytes Plaid sent
   (API Gateway's base64 undone, never re-serialised JSON), compared in constant time.

Every refusal is one `WebhookRejected` (401, "webhook_rejected", one message). The reason
goes only to a log field and to `WebhookRejected.reason`, never to the response. Nothing
secret is logged. A `kid` is logged only once it has passed the format check: it is a public
key id.

Key cache (per verifier; keep one verifier per Lambda container, at module level):
- a known key is kept `key_ttl` seconds (1 h). When a new `kid` is fetched, the other cached
  keys that had no `expired_at` are dropped, so the next use re-reads them and sees a
  rotation. Plaid's own example does the same.
- an unknown `kid` (the fetcher raises `UnknownVerificationKey`) is remembered as unknown for
  `unknown_key_ttl` seconds (60 s), so repeats do not reach Plaid: each kid costs at most one
  fetch per `unknown_key_ttl`;
- a kid not in the cache is fetched only for a webhook that names a Plaid item we hold
  (`holds_item`, given by the composition root: the item's pointer, access pattern 24). The body
  is not trusted yet, but an unauthenticated sender cannot know our item ids, so a stream of
  made-up kids (issue 17 item 9) is refused without a fetch and spends nothing: a genuine webhook
  signed with a freshly rotated key still gets its fetch. The body is read within the request
  limits (shared/domain/input_rules.py) for that;
- at most `max_fetches` fetches per `fetch_window` seconds (10 a minute) over all kids, a ceiling
  that only senders who know one of our item ids can reach; beyond it a new kid is refused
  without a fetch, and Plaid retries its own webhooks later.
- fetches happen under the cache lock (single flight); the item is looked up before it.
Failures that say nothing about the webhook (Plaid unavailable, rate-limited, a malformed
answer, missing credentials) are not cached. They propagate as the adapter's domain errors
(5xx/429), so Plaid retries later and the alarms see an upstream problem, not an attack.

Deduplication and what each webhook means: plaid_webhook_events.py.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from jwt.types import Options

from shared.adapters.aggregator.plaid_webhook_events import PER_DELIVERY, provider_event, webhook_event_key
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.aggregator import AggregatorRequestRejected, WebhookEvent
from shared.domain.errors import DomainError, InvalidRequest
from shared.domain.input_rules import parse_json_body
from shared.observability import logger

HEADER = "Plaid-Verification"
ALGORITHM = "ES256"
MAX_AGE_SECONDS = 5 * 60
MAX_FUTURE_SKEW_SECONDS = 30
KEY_TTL_SECONDS = 60 * 60
UNKNOWN_KEY_TTL_SECONDS = 60
MAX_KEY_FETCHES = 10
KEY_FETCH_WINDOW_SECONDS = 60
MAX_TOKEN_LENGTH = 4096  # Plaid's JWTs are ~350 characters

_KID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # Plaid's are UUIDs
# The signature always; the time claims here, with the injected clock (pyjwt reads the wall clock).
_JWT_OPTIONS: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}

KeyFetcher = Callable[[str], Mapping[str, Any]]
ItemHolder = Callable[[str], bool]  # whether a Plaid item id is one of our connections'
MAX_ITEM_ID_LENGTH = 128  # Plaid's are ~37 characters


class WebhookRejected(DomainError):
    """A webhook that is not provably from Plaid and fresh. Every reason gets the same answer."""

    status = 401
    code = "webhook_rejected"
    default_message = "The webhook could not be verified."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason  # for logs and tests, never for the response


class UnknownVerificationKey(Exception):
    """Raised by a key fetcher when Plaid does not know the `kid` (cached as unknown, briefly)."""


@dataclass(frozen=True)
class _Entry:
    """One cache entry: a usable key, or the reason there is none (`key` None)."""

    until: float
    key: ec.EllipticCurvePublicKey | None = None
    expired_at: float | None = None
    refusal: str | None = None


class PlaidWebhookVerifier:
    """`verify(headers, raw_body)` returns or raises `WebhookRejected` (see the module docstring)."""

    def __init__(
        self,
        fetch_key: KeyFetcher,
        *,
        holds_item: ItemHolder | None = None,
        clock: Now = business_now,
        max_age: float = MAX_AGE_SECONDS,
        max_future_skew: float = MAX_FUTURE_SKEW_SECONDS,
        key_ttl: float = KEY_TTL_SECONDS,
        unknown_key_ttl: float = UNKNOWN_KEY_TTL_SECONDS,
        max_fetches: int = MAX_KEY_FETCHES,
        fetch_window: float = KEY_FETCH_WINDOW_SECONDS,
    ) -> None:
        self._fetch_key = fetch_key
        self._holds_item = holds_item  # None: every new kid may be fetched (within the ceiling)
        self._clock = clock
        self._max_age = max_age
        self._max_future_skew = max_future_skew
        self._key_ttl = key_ttl
        self._unknown_key_ttl = unknown_key_ttl
        self._max_fetches = max_fetches
        self._fetch_window = fetch_window
        self._cache: dict[str, _Entry] = {}
        self._fetched_at: deque[float] = deque()
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> dict[str, Any]:
        """The verified claims (`iat`, `request_body_sha256`), or `WebhookRejected`."""
        token = _token(headers)
        header = _unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise _rejected("algorithm_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _rejected("kid_missing")
        if not _KID.fullmatch(kid):
            raise _rejected("kid_malformed")
        now = self._clock().timestamp()
        key = self._key(kid, now, raw_body)
        claims = _claims(token, key, kid)
        self._check_issued_at(claims.get("iat"), now, kid)
        _check_body(claims.get("request_body_sha256"), raw_body, kid)
        return claims

    # ------------------------------------------------------------------ keys

    def _key(self, kid: str, now: float, raw_body: bytes) -> ec.EllipticCurvePublicKey:
        with self._lock:
            entry = self._cache.get(kid)
        if entry is None or entry.until <= now:
            if not self._worth_a_fetch(raw_body):
                raise _rejected("key_not_cached_item_not_held", kid)
            with self._lock:
                entry = self._cache.get(kid)  # another request may have fetched it meanwhile
                if entry is None or entry.until <= now:
                    entry = self._fetch(kid, now)
        if entry.key is None:
            raise _rejected(entry.refusal or "key_unknown", kid)
        if entry.expired_at is not None and entry.expired_at <= now:
            raise _rejected("key_expired", kid)
        return entry.key

    def _worth_a_fetch(self, raw_body: bytes) -> bool:
        """Whether the (unverified) body names a Plaid item we hold: only then may a kid that is
        not cached cost a fetch."""
        if self._holds_item is None:
            return True
        item_id = _named_item(raw_body)
        return item_id is not None and self._holds_item(item_id)

    def _fetch(self, kid: str, now: float) -> _Entry:
        """Called under the lock. Caches what the answer says about `kid`, good or bad."""
        while self._fetched_at and self._fetched_at[0] <= now - self._fetch_window:
            self._fetched_at.popleft()
        if len(self._fetched_at) >= self._max_fetches:
            raise _rejected("key_fetch_budget_exhausted", kid)
        self._fetched_at.append(now)
        known = kid in self._cache
        for lapsed in [other for other, cached in self._cache.items() if cached.until <= now]:
            del self._cache[lapsed]  # bounded memory under a stream of made-up kids
        try:
            jwk = self._fetch_key(kid)
        except UnknownVerificationKey:
            entry = _Entry(until=now + self._unknown_key_ttl, refusal="key_unknown")
        else:
            entry = _entry_for(jwk, kid, now + self._key_ttl, now + self._unknown_key_ttl)
            if entry.key is not None and not known:
                self._forget_unexpired_keys()
        self._cache[kid] = entry
        return entry

    def _forget_unexpired_keys(self) -> None:
        """A new key appeared: re-read the others on next use, in case Plaid has expired them."""
        for other, cached in list(self._cache.items()):
            if cached.key is not None and cached.expired_at is None:
                del self._cache[other]

    # ------------------------------------------------------------------ claims

    def _check_issued_at(self, iat: Any, now: float, kid: str) -> None:
        if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
            raise _rejected("iat_missing", kid)
        age = now - iat
        if age > self._max_age:
            raise _rejected("iat_stale", kid)
        if age < -self._max_future_skew:
            raise _rejected("iat_in_future", kid)


# --------------------------------------------------------------------------- steps


def _rejected(reason: str, kid: str | None = None) -> WebhookRejected:
    logger.warning("Plaid webhook rejected", extra={"reason": reason, "kid": kid})
    return WebhookRejected(reason)


def _token(headers: Mapping[str, str]) -> str:
    """The one `Plaid-Verification` value, whatever the case of its name. Two different values
    under different spellings are ambiguous: refused."""
    wanted = HEADER.lower()
    values = {
        text for name, value in headers.items() if name.lower() == wanted if (text := str(value).strip())
    }
    if not values:
        raise _rejected("header_missing")
    if len(values) > 1:
        raise _rejected("header_ambiguous")
    token = values.pop()
    if len(token) > MAX_TOKEN_LENGTH:
        raise _rejected("token_malformed")
    return token


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _rejected("token_malformed") from None
    if not isinstance(header, dict):
        raise _rejected("token_malformed")
    return header


def _claims(token: str, key: ec.EllipticCurvePublicKey, kid: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=[ALGORITHM], options=_JWT_OPTIONS)
    except jwt.InvalidSignatureError:
        raise _rejected("signature_invalid", kid) from None
    except jwt.PyJWTError:
        raise _rejected("token_malformed", kid) from None
    return claims


def _check_body(claimed: Any, raw_body: bytes, kid: str) -> None:
    if not isinstance(claimed, str) or not claimed:
        raise _rejected("body_hash_missing", kid)
    actual = hashlib.sha256(raw_body).hexdigest().encode("ascii")
    if not hmac.compare_digest(actual, claimed.encode("utf-8", "replace")):
        raise _rejected("body_hash_mismatch", kid)


def _named_item(raw_body: bytes) -> str | None:
    """The `item_id` an unverified webhook body names, if it is a plausible one."""
    try:
        body = parse_json_body(raw_body)
    except (ValueError, InvalidRequest):
        return None
    item_id = body.get("item_id") if isinstance(body, Mapping) else None
    if not isinstance(item_id, str) or not 0 < len(item_id) <= MAX_ITEM_ID_LENGTH:
        return None
    return item_id


def _parsed_body(raw_body: bytes) -> Mapping[str, Any]:
    """A verified webhook's body: a JSON object within the request limits, or `WebhookRejected`."""
    try:
        body = parse_json_body(raw_body)
    except (ValueError, InvalidRequest):
        raise _rejected("body_not_json") from None
    if not isinstance(body, Mapping):
        raise _rejected("body_not_object")
    return body


def _entry_for(jwk: Mapping[str, Any], kid: str, until: float, refused_until: float) -> _Entry:
    """A cache entry from Plaid's JWK: a P-256 public key for ES256 signatures, or a refusal."""

    def refused(reason: str) -> _Entry:
        logger.warning("Plaid webhook key unusable", extra={"reason": reason, "kid": kid})
        return _Entry(until=refused_until, refusal="key_unusable")

    if not isinstance(jwk, Mapping):
        return refused("not_an_object")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        return refused("not_p256")
    if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
        return refused("not_for_es256_signatures")
    if jwk.get("kid", kid) != kid:
        return refused("kid_mismatch")
    expired_at = jwk.get("expired_at")
    if expired_at is not None and (isinstance(expired_at, bool) or not isinstance(expired_at, int | float)):
        return refused("expired_at_not_a_time")
    public = {"kty": "EC", "crv": "P-256", "x": jwk.get("x"), "y": jwk.get("y")}
    try:
        key = ECAlgorithm.from_jwk(public)
    except (jwt.PyJWTError, ValueError, TypeError):
        return refused("bad_coordinates")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return refused("not_a_public_key")
    return _Entry(until=until, key=key, expired_at=float(expired_at) if expired_at is not None else None)


# --------------------------------------------------------------------------- production wiring


class VerificationKeySource(Protocol):
    def webhook_verification_key(self, key_id: str) -> dict[str, Any]: ...


def plaid_key_fetcher(adapter: VerificationKeySource) -> KeyFetcher:
    """The key fetcher over the Plaid adapter (POST /webhook_verification_key/get).

    A 4xx from Plaid (INVALID_WEBHOOK_VERIFICATION_KEY_ID for an unknown kid) means "no such
    key": `UnknownVerificationKey`, cached briefly. Its provider code is logged, so a
    misconfiguration that also answers 4xx can be seen. Any other failure propagates
    unchanged and is never cached.
    """

    def fetch(kid: str) -> Mapping[str, Any]:
        try:
            return adapter.webhook_verification_key(kid)
        except AggregatorRequestRejected as error:
            logger.warning(
                "Plaid webhook key not found",
                extra={"kid": kid, "provider_code": error.provider_code, "request_id": error.request_id},
            )
            raise UnknownVerificationKey(kid) from None

    return fetch


# --------------------------------------------------------------------------- reading


class PlaidWebhookReader:
    """Verified and interpreted Plaid webhooks: what the connections use case receives."""

    def __init__(self, verifier: PlaidWebhookVerifier) -> None:
        self._verifier = verifier

    def read(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookEvent | None:
        claims = self._verifier.verify(headers, raw_body)
        body = _parsed_body(raw_body)
        found = provider_event(body)
        if found is None:
            return None
        kind = (str(body.get("webhook_type", "")), str(body.get("webhook_code", "")))
        issued_at = claims["iat"] if kind in PER_DELIVERY else None  # a finite number: verified
        return WebhookEvent(webhook_event_key(body, issued_at), *found)
