"""A local sandbox of the Plaid API: the subset our adapter uses, with Plaid's field names,
error bodies and signed webhooks, plus a stand-in for the Link UI and a `/_control` API to
steer tests and demos:

    POST /link/token/create                  POST /item/get | /item/remove | /item/webhook/update
    POST /institutions/search                POST /accounts/get | /accounts/balance/get
    POST /institutions/get_by_id             POST /transactions/sync
    POST /item/public_token/exchange         POST /webhook_verification_key/get
    POST /sandbox/public_token/create        POST /sandbox/item/fire_webhook | /sandbox/item/reset_login
    GET  /link/{link_token}[/connect?institution_id=..|/cancel]   (Link, without Plaid's JS)
    GET  /link-complete                       (where Link lands when the token has no redirect_uri)
    GET  /link/v2/stable/link-initialize.js   (a stand-in for Plaid's Link script: plaid_link.js)
    POST /_control/failures | /_control/reset     GET /_control/state

Paths are relative to the mount point (the local server mounts this at /sandbox/plaid). Every
API call authenticates with `client_id`/`secret` in the body or the PLAID-CLIENT-ID and
PLAID-SECRET headers. Webhooks are POSTed through the injected `deliver_webhook`, after the
state lock is released, with a `Plaid-Verification` JWT (ES256) that
`/webhook_verification_key/get` lets the receiver verify. The signing keys are derived from
fixed seeds, so their `kid`s survive restarts; they sign nothing but local sandbox webhooks.

Time comes from the injected clock; ids derive from per-kind sequences and hashes, so a run
is reproducible. One lock guards all state: the local server is threaded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from local.sandbox.kept_state import KeptState
from shared.clock import now as business_now

from .plaid_data import (
    BALANCE_HISTORY_DAYS,
    DEFAULT_DAYS_REQUESTED,
    INSTITUTIONS,
    MAX_DAYS_REQUESTED,
    Institution,
    account_id_for,
    account_profile,
    balances,
    digest,
    find_institution,
    mask_for,
    plaid_id,
    search_institutions,
    transactions_between,
    transactions_on,
)

Response = tuple[int, dict[str, str], bytes]
WebhookSender = Callable[[str, dict[str, str], bytes], None]

# Sandbox-only values, not credentials of anything real.
SANDBOX_CLIENT_ID = "sandbox-plaid-client"
SANDBOX_SECRET = "sandbox-plaid-secret"  # noqa: S105
DEFAULT_MOUNT = "/sandbox/plaid"
# Plaid's CDN path of Link's web script, where the sandbox serves its stand-in (same JS interface).
LINK_SCRIPT_PATH = "/link/v2/stable/link-initialize.js"
_LINK_SCRIPT_FILE = Path(__file__).with_name("plaid_link.js")
ENVIRONMENT = "sandbox"

LINK_TOKEN_LIFETIME = timedelta(hours=4)
UPDATE_LINK_TOKEN_LIFETIME = timedelta(minutes=30)
PUBLIC_TOKEN_LIFETIME = timedelta(minutes=30)
PENDING_EXPIRATION_NOTICE = timedelta(days=7)
DEFAULT_SYNC_COUNT = 100
MAX_SYNC_COUNT = 500
RECENT_WEBHOOKS = 50
_SYNC_READY = {"initial_update_complete": True, "historical_update_complete": True}

log = logging.getLogger("local.sandbox.plaid")

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sandbox.local/plaid")
_JSON = {"Content-Type": "application/json; charset=utf-8"}
_HTML = {"Content-Type": "text/html; charset=utf-8"}
_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
_ERROR_DOCS = "https://plaid.com/docs/?ref=error"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIMESTAMP)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class _ErrorKind:
    error_type: str
    status: int
    message: str
    display_message: str | None = None


_RATE_LIMITED = _ErrorKind(
    "RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access this item. please try again later"
)
_INSTITUTION_DOWN_DISPLAY = (
    "This financial institution is not currently responding to requests. We apologize for the inconvenience."
)

ERRORS: dict[str, _ErrorKind] = {
    "MISSING_FIELDS": _ErrorKind(
        "INVALID_REQUEST", 400, "the following required fields are missing: {fields}"
    ),
    "INVALID_FIELD": _ErrorKind("INVALID_REQUEST", 400, "one of the fields is invalid"),
    "INVALID_BODY": _ErrorKind("INVALID_REQUEST", 400, "body could not be parsed as JSON"),
    "NOT_FOUND": _ErrorKind("INVALID_REQUEST", 404, "not found"),
    "INVALID_API_KEYS": _ErrorKind("INVALID_INPUT", 400, "invalid client_id or secret provided"),
    "INVALID_ACCESS_TOKEN": _ErrorKind("INVALID_INPUT", 400, "could not find matching access token"),
    "INVALID_PUBLIC_TOKEN": _ErrorKind("INVALID_INPUT", 400, "could not find matching public token"),
    "INVALID_INSTITUTION": _ErrorKind("INVALID_INPUT", 400, "invalid institution_id provided"),
    "INVALID_WEBHOOK_VERIFICATION_KEY_ID": _ErrorKind("INVALID_INPUT", 400, "invalid key_id provided"),
    "ITEM_LOGIN_REQUIRED": _ErrorKind(
        "ITEM_ERROR",
        400,
        "the login details of this item have changed (credentials, MFA, or required user action) and a "
        "user login is required to update this information. use Link's update mode to restore the item "
        "to a good state",
    ),
    "ITEM_NOT_FOUND": _ErrorKind(
        "ITEM_ERROR",
        400,
        "The Item you requested cannot be found. This Item does not exist, has been previously removed via "
        "/item/remove, or has had access removed by the user.",
    ),
    "USER_PERMISSION_REVOKED": _ErrorKind(
        "ITEM_ERROR",
        400,
        "the holder of this account has revoked their permission for your application to access it",
    ),
    "INSTITUTION_DOWN": _ErrorKind(
        "INSTITUTION_ERROR",
        400,
        "this institution is not currently responding to this request. please try again soon",
        _INSTITUTION_DOWN_DISPLAY,
    ),
    "INSTITUTION_NOT_RESPONDING": _ErrorKind(
        "INSTITUTION_ERROR",
        400,
        "this institution is not currently responding to this request. please try again soon",
        _INSTITUTION_DOWN_DISPLAY,
    ),
    "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION": _ErrorKind(
        "TRANSACTIONS_ERROR",
        400,
        "Underlying transaction data changed since last page was fetched. Please restart pagination from "
        "last update.",
    ),
    "SANDBOX_WEBHOOK_INVALID": _ErrorKind(
        "SANDBOX_ERROR", 400, "Webhook for this item is either empty or has been set as invalid"
    ),
    "ACCOUNTS_LIMIT": _RATE_LIMITED,
    "ACCOUNTS_BALANCE_GET_LIMIT": _RATE_LIMITED,
    "TRANSACTIONS_SYNC_LIMIT": _RATE_LIMITED,
    "INTERNAL_SERVER_ERROR": _ErrorKind("API_ERROR", 500, "an unexpected error occurred"),
    "PLANNED_MAINTENANCE": _ErrorKind(
        "API_ERROR",
        503,
        "the Plaid API is temporarily unavailable due to planned maintenance. "
        "visit https://status.plaid.com/ for more information",
        "The Plaid API is temporarily unavailable due to maintenance. Please try again later.",
    ),
}

INJECTABLE_ERRORS = (
    "ITEM_LOGIN_REQUIRED",
    "INSTITUTION_DOWN",
    "INSTITUTION_NOT_RESPONDING",
    "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
    "ACCOUNTS_LIMIT",
    "ACCOUNTS_BALANCE_GET_LIMIT",
    "TRANSACTIONS_SYNC_LIMIT",
    "INTERNAL_SERVER_ERROR",
    "PLANNED_MAINTENANCE",
)


class PlaidApiError(Exception):
    """An error answer: raised anywhere in a handler, rendered by `handle` as Plaid's error body."""

    def __init__(self, code: str, message: str | None = None, *, reason: str | None = None) -> None:
        self.code = code
        self.kind = ERRORS[code]
        self.message = message or self.kind.message
        self.reason = reason
        super().__init__(code, self.message)

    @property
    def status(self) -> int:
        return self.kind.status

    def body(self, request_id: str | None) -> dict[str, Any]:
        """The error object; a webhook's has no `request_id` (Plaid omits it there)."""
        kind = self.kind
        body: dict[str, Any] = {
            "causes": [],
            "display_message": kind.display_message,
            "documentation_url": f"{_ERROR_DOCS}#{_docs_anchor(kind.error_type)}-errors",
            "error_code": self.code,
            "error_code_reason": self.reason,
            "error_message": self.message,
            "error_type": kind.error_type,
            "request_id": request_id,
            "status": kind.status,
            "suggested_action": None,
        }
        if request_id is None:
            del body["request_id"]
        return body


def _docs_anchor(error_type: str) -> str:
    """ITEM_ERROR -> item, INVALID_INPUT -> invalid-input: the section of Plaid's error docs."""
    return error_type.removesuffix("_ERROR").lower().replace("_", "-")


def _missing(*names: str) -> PlaidApiError:
    return PlaidApiError("MISSING_FIELDS", ERRORS["MISSING_FIELDS"].message.format(fields=", ".join(names)))


def _invalid(message: str) -> PlaidApiError:
    return PlaidApiError("INVALID_FIELD", message)


# --------------------------------------------------------------------------- JSON


def _encode(value: Any) -> str:
    """JSON with `Decimal`s as plain numbers (Plaid sends amounts as numbers: 12.5, 110)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)}: {_encode(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_encode(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _json_response(status: int, body: Any) -> Response:
    return status, dict(_JSON), _encode(body).encode("utf-8")


def _html_response(status: int, title: str, body_html: str) -> Response:
    page = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body_html}</body></html>"
    )
    return status, dict(_HTML), page.encode("utf-8")


def _redirect(url: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return 302, {"Location": urlunsplit(parts._replace(query=query)), "Content-Type": "text/plain"}, b""


# --------------------------------------------------------------------------- webhook signing


@dataclass(frozen=True)
class _SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: int
    expired_at: int | None

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {
            "alg": "ES256",
            "created_at": self.created_at,
            "crv": public["crv"],
            "expired_at": self.expired_at,
            "kid": self.kid,
            "kty": public["kty"],
            "use": "sig",
            "x": public["x"],
            "y": public["y"],
        }

    def sign(self, body: bytes, issued_at: datetime) -> str:
        claims = {"iat": int(issued_at.timestamp()), "request_body_sha256": hashlib.sha256(body).hexdigest()}
        return jwt.encode(
            claims, self.private_key, algorithm="ES256", headers={"kid": self.kid, "typ": "JWT"}
        )


def _derive_key(label: str, created_at: datetime, expired_at: datetime | None) -> _SigningKey:
    """A P-256 key from a fixed seed: the same `kid` and key in every process."""
    scalar = int.from_bytes(digest("webhook-signing-key", label), "big") % (_P256_ORDER - 1) + 1
    return _SigningKey(
        kid=str(uuid.uuid5(_NAMESPACE, f"webhook-key:{label}")),
        private_key=ec.derive_private_key(scalar, ec.SECP256R1()),
        created_at=int(created_at.timestamp()),
        expired_at=int(expired_at.timestamp()) if expired_at else None,
    )


_ROTATED_AT = datetime(2025, 1, 1, tzinfo=UTC)
_CURRENT_KEY = _derive_key("2025", _ROTATED_AT, None)
_EXPIRED_KEY = _derive_key("2024", datetime(2024, 1, 1, tzinfo=UTC), _ROTATED_AT)
_KEYS = {key.kid: key for key in (_CURRENT_KEY, _EXPIRED_KEY)}


@dataclass(frozen=True)
class _Webhook:
    url: str
    headers: dict[str, str]
    body: bytes


# --------------------------------------------------------------------------- state


@dataclass
class _LinkToken:
    token: str
    expires: datetime
    client_user_id: str
    products: list[str]
    country_codes: list[str]
    webhook: str | None
    redirect_uri: str | None
    institution_id: str | None
    days_requested: int
    access_token: str | None  # set in update mode


@dataclass
class _PublicToken:
    item_id: str
    expires: datetime


@dataclass(frozen=True)
class _Snapshot:
    """What an Item's transactions look like on `day`, over its first `accounts` accounts."""

    day: date
    accounts: int


@dataclass
class _Item:
    item_id: str
    access_token: str
    institution: Institution
    created: datetime
    products: list[str]
    days_requested: int
    webhook: str | None
    account_count: int
    offered_accounts: int
    consent_expiration: datetime | None
    error_code: str | None = None
    removed: bool = False
    last_webhook: tuple[datetime, str] | None = None

    @property
    def history_start(self) -> date:
        return self.created.date() - timedelta(days=self.days_requested)

    @property
    def balance_since(self) -> date:
        return self.created.date() - timedelta(days=BALANCE_HISTORY_DAYS)

    def snapshot(self, now: datetime) -> _Snapshot:
        return _Snapshot(now.date(), self.account_count)

    def current_error(self, now: datetime) -> PlaidApiError | None:
        if self.error_code is not None:
            return PlaidApiError(self.error_code)
        if self.consent_expiration is not None and self.consent_expiration <= now:
            return PlaidApiError("ITEM_LOGIN_REQUIRED", reason="OAUTH_CONSENT_EXPIRED")
        return None


@dataclass(frozen=True)
class _Update:
    """One entry of a `/transactions/sync` answer, with the key it is ordered by."""

    kind: str  # added | modified | removed
    body: dict[str, Any]
    order: tuple[str, int, str]


@dataclass(frozen=True)
class _Cursor:
    """Where a client is: `base` fully delivered, `offset` updates of base→`target` delivered."""

    item_id: str
    base: _Snapshot | None
    target: _Snapshot | None
    offset: int

    def encode(self) -> str:
        fields = [
            self.item_id,
            *_snapshot_fields(self.base),
            *_snapshot_fields(self.target),
            str(self.offset),
        ]
        return base64.urlsafe_b64encode("|".join(["v1", *fields]).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str, item_id: str) -> _Cursor:
        if not raw:
            return cls(item_id, None, None, 0)
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            version, owner, base_day, base_n, target_day, target_n, offset = text.split("|")
            cursor = cls(owner, _snapshot(base_day, base_n), _snapshot(target_day, target_n), int(offset))
        except ValueError as exc:
            raise _invalid("cursor is not a valid cursor") from exc
        if version != "v1" or cursor.item_id != item_id or cursor.offset < 0:
            raise _invalid("cursor is not a valid cursor")
        return cursor


def _snapshot_fields(snapshot: _Snapshot | None) -> list[str]:
    return ["-", "-"] if snapshot is None else [snapshot.day.isoformat(), str(snapshot.accounts)]


def _snapshot(day: str, accounts: str) -> _Snapshot | None:
    return None if day == "-" else _Snapshot(date.fromisoformat(day), int(accounts))


_SyncKey = tuple[_Snapshot | None, _Snapshot, bool]  # base, target, include_original_description


@dataclass
class _FailureRule:
    path_prefix: str
    error_code: str
    remaining: int
    after: int
    delay_seconds: float

    def to_json(self) -> dict[str, Any]:
        kind = ERRORS[self.error_code]
        return {
            "path_prefix": self.path_prefix,
            "error_code": self.error_code,
            "error_type": kind.error_type,
            "status": kind.status,
            "times": self.remaining,
            "after": self.after,
            "delay_seconds": self.delay_seconds,
        }


@dataclass
class _State:
    sequences: Counter[str] = field(default_factory=Counter)
    link_tokens: dict[str, _LinkToken] = field(default_factory=dict)
    public_tokens: dict[str, _PublicToken] = field(default_factory=dict)
    items: dict[str, _Item] = field(default_factory=dict)
    items_by_token: dict[str, str] = field(default_factory=dict)
    sync_cache: dict[str, tuple[_SyncKey, list[_Update]]] = field(default_factory=dict)
    failures: list[_FailureRule] = field(default_factory=list)
    webhooks: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_WEBHOOKS))

    def next_seed(self, kind: str) -> str:
        self.sequences[kind] += 1
        return f"{kind}:{self.sequences[kind]}"

    def next_uuid(self, kind: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.next_seed(kind)))

    def next_request_id(self) -> str:
        return plaid_id(self.next_seed("request"))[:15]

    def item_with_token(self, access_token: str) -> _Item | None:
        item_id = self.items_by_token.get(access_token)
        return self.items[item_id] if item_id is not None else None


# --------------------------------------------------------------------------- request


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    now: datetime
    outbox: list[_Webhook] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PlaidApiError("INVALID_BODY") from exc
        if not isinstance(data, dict):
            raise PlaidApiError("INVALID_BODY")
        return data


ApiHandler = Callable[[_Request, dict[str, Any]], dict[str, Any]]
PageHandler = Callable[..., Response]
FireHandler = Callable[[_Request, "_Item"], None]


# --------------------------------------------------------------------------- sandbox


class PlaidSandbox(KeptState[_State]):
    """In-memory, thread-safe fake of the Plaid API."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        deliver_webhook: WebhookSender | None = None,
        public_base_url: str | None = None,
        *,
        client_id: str = SANDBOX_CLIENT_ID,
        secret: str = SANDBOX_SECRET,
    ) -> None:
        self._clock = clock or business_now
        self._deliver_webhook = deliver_webhook
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._credentials = (client_id.encode(), secret.encode())
        self._lock = threading.Lock()
        self._state = _State()
        self._api = self._api_routes()
        self._pages = self._page_routes()
        self._fireable = self._fireable_webhooks()

    # ------------------------------------------------------------------ test helpers

    @property
    def signing_key_id(self) -> str:
        """The `kid` webhooks are signed with."""
        return _CURRENT_KEY.kid

    @property
    def expired_key_id(self) -> str:
        """A rotated-out key: the verification-key endpoint serves it with `expired_at` set."""
        return _EXPIRED_KEY.kid

    def public_jwk(self, key_id: str | None = None) -> dict[str, Any]:
        return _KEYS[key_id or _CURRENT_KEY.kid].jwk()

    def sign_body(self, body: bytes, *, key_id: str | None = None) -> str:
        """The `Plaid-Verification` value for `body`, issued now, with the signing key or `key_id`."""
        return _KEYS[key_id or _CURRENT_KEY.kid].sign(body, self._clock())

    # ------------------------------------------------------------------ entry point

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        """Answer one HTTP request; `path` is relative to the mount point."""
        request = _Request(method.upper(), path, query, headers, body, self._clock())
        with self._lock:
            injected = self._take_failure(request)
        if injected is not None:
            delay, response = injected
            time.sleep(delay)
            return response
        with self._lock:
            response = self._dispatch(request)
        self._deliver(request.outbox)
        return response

    def _dispatch(self, request: _Request) -> Response:
        try:
            api = self._api.get(request.path) if request.method == "POST" else None
            if api is not None:
                return self._call_api(request, api)
            return self._call_page(request)
        except PlaidApiError as error:
            request.outbox.clear()
            return _json_response(error.status, error.body(self._state.next_request_id()))

    def _call_api(self, request: _Request, handler: ApiHandler) -> Response:
        data = request.json()
        self._authenticate(request, data)
        body = handler(request, data)
        return _json_response(200, {**body, "request_id": self._state.next_request_id()})

    def _call_page(self, request: _Request) -> Response:
        for method, pattern, handler in self._pages:
            match = pattern.fullmatch(request.path)
            if match is not None and method == request.method:
                return handler(request, *match.groups())
        raise PlaidApiError("NOT_FOUND")

    def _api_routes(self) -> dict[str, ApiHandler]:
        return {
            "/link/token/create": self._link_token_create,
            "/institutions/search": self._institutions_search,
            "/institutions/get_by_id": self._institutions_get_by_id,
            "/item/public_token/exchange": self._public_token_exchange,
            "/item/get": self._item_get,
            "/item/remove": self._item_remove,
            "/item/webhook/update": self._item_webhook_update,
            "/accounts/get": self._accounts_get,
            "/accounts/balance/get": self._accounts_get,
            "/transactions/sync": self._transactions_sync,
            "/webhook_verification_key/get": self._verification_key_get,
            "/sandbox/public_token/create": self._sandbox_public_token_create,
            "/sandbox/item/fire_webhook": self._sandbox_fire_webhook,
            "/sandbox/item/reset_login": self._sandbox_reset_login,
        }

    def _page_routes(self) -> list[tuple[str, re.Pattern[str], PageHandler]]:
        table: list[tuple[str, str, PageHandler]] = [
            ("GET", re.escape(LINK_SCRIPT_PATH), _link_script),
            ("GET", r"/link/([^/]+)", self._link_page),
            ("GET", r"/link/([^/]+)/connect", self._link_connect),
            ("GET", r"/link/([^/]+)/cancel", self._link_cancel),
            ("GET", r"/link-complete", self._link_complete),
            ("POST", r"/_control/failures", self._control_failures),
            ("POST", r"/_control/reset", self._control_reset),
            ("GET", r"/_control/state", self._control_state),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    def _authenticate(self, request: _Request, data: dict[str, Any]) -> None:
        client_id = data.get("client_id") or request.header("PLAID-CLIENT-ID")
        secret = data.get("secret") or request.header("PLAID-SECRET")
        missing = [name for name, value in (("client_id", client_id), ("secret", secret)) if not value]
        if missing:
            raise _missing(*missing)
        given = (str(client_id).encode(), str(secret).encode())
        matches = [hmac.compare_digest(a, b) for a, b in zip(given, self._credentials, strict=True)]
        if not all(matches):
            raise PlaidApiError("INVALID_API_KEYS")

    def _base_url(self, request: _Request) -> str:
        if self._public_base_url:
            return self._public_base_url
        return f"http://{request.header('Host') or '127.0.0.1'}{DEFAULT_MOUNT}"

    def _deliver(self, webhooks: list[_Webhook]) -> None:
        if self._deliver_webhook is None:
            return
        for webhook in webhooks:
            try:
                self._deliver_webhook(webhook.url, dict(webhook.headers), webhook.body)
            except Exception:
                log.exception("Plaid sandbox: handing a webhook for %s over failed", webhook.url)

    # ------------------------------------------------------------------ link tokens

    def _link_token_create(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        user: dict[str, Any] = data["user"] if isinstance(data.get("user"), dict) else {}
        required = {
            "client_name": data.get("client_name"),
            "language": data.get("language"),
            "country_codes": data.get("country_codes"),
            "user.client_user_id": user.get("client_user_id"),
        }
        access_token = _optional_str(data, "access_token")
        if access_token is None:
            required["products"] = data.get("products")
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise _missing(*missing)
        if access_token is not None:
            self._item_for(access_token)
        token = _LinkToken(
            token=f"link-{ENVIRONMENT}-{self._state.next_uuid('link')}",
            expires=request.now + (UPDATE_LINK_TOKEN_LIFETIME if access_token else LINK_TOKEN_LIFETIME),
            client_user_id=_string(user, "user.client_user_id", "client_user_id"),
            products=_strings(data, "products") if access_token is None else [],
            country_codes=_country_codes(data),
            webhook=_optional_str(data, "webhook"),
            redirect_uri=_optional_str(data, "redirect_uri"),
            institution_id=_optional_str(data, "institution_id"),
            days_requested=_days_requested(data.get("transactions"), "transactions.days_requested"),
            access_token=access_token,
        )
        self._state.link_tokens[token.token] = token
        return {"expiration": _timestamp(token.expires), "link_token": token.token}

    # ------------------------------------------------------------------ institutions

    def _institutions_search(self, _request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        _require(data, "query", "country_codes")
        query = _string(data, "query")
        country_codes = _country_codes(data)
        products = _strings(data, "products") if data.get("products") is not None else []
        with_metadata = _include_optional_metadata(data)
        found = search_institutions(query, country_codes, products)
        return {"institutions": [i.to_json(include_optional_metadata=with_metadata) for i in found]}

    def _institutions_get_by_id(self, _request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        _require(data, "institution_id", "country_codes")
        institution = find_institution(_string(data, "institution_id"))
        if institution is None or not set(_country_codes(data)) & set(institution.country_codes):
            raise PlaidApiError("INVALID_INSTITUTION")
        return {
            "institution": institution.to_json(include_optional_metadata=_include_optional_metadata(data))
        }

    # ------------------------------------------------------------------ items and tokens

    def _new_item(
        self,
        request: _Request,
        institution: Institution,
        products: list[str],
        webhook: str | None,
        days_requested: int,
    ) -> _Item:
        """An Item whose initial and historical pulls are ready at once: SYNC_UPDATES_AVAILABLE."""
        seed = self._state.next_seed("item")
        consent_days = institution.consent_days
        item = _Item(
            item_id=plaid_id(seed),
            access_token=f"access-{ENVIRONMENT}-{uuid.uuid5(_NAMESPACE, seed)}",
            institution=institution,
            created=request.now,
            products=products,
            days_requested=days_requested,
            webhook=webhook,
            account_count=institution.account_count,
            offered_accounts=institution.account_count,
            consent_expiration=request.now + timedelta(days=consent_days) if consent_days else None,
        )
        self._state.items[item.item_id] = item
        self._state.items_by_token[item.access_token] = item.item_id
        if "transactions" in products:
            self._send_webhook(request, item, "TRANSACTIONS", "SYNC_UPDATES_AVAILABLE", **_SYNC_READY)
        return item

    def _new_public_token(self, item: _Item, now: datetime) -> str:
        token = f"public-{ENVIRONMENT}-{self._state.next_uuid('public')}"
        self._state.public_tokens[token] = _PublicToken(item.item_id, now + PUBLIC_TOKEN_LIFETIME)
        return token

    def _public_token_exchange(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        _require(data, "public_token")
        token = _string(data, "public_token")
        if not token.startswith("public-"):
            raise PlaidApiError(
                "INVALID_PUBLIC_TOKEN",
                "provided public token is in an invalid format. "
                "expected format: public-<environment>-<identifier>",
            )
        public = self._state.public_tokens.pop(token, None)
        if public is None:
            raise PlaidApiError("INVALID_PUBLIC_TOKEN")
        if public.expires <= request.now:
            raise PlaidApiError(
                "INVALID_PUBLIC_TOKEN",
                "provided public token is expired. Public tokens expire 30 minutes after creation at which "
                "point they can no longer be exchanged",
            )
        item = self._item_for(self._state.items[public.item_id].access_token)
        return {"access_token": item.access_token, "item_id": item.item_id}

    def _item_for(self, access_token: str) -> _Item:
        item = self._state.item_with_token(access_token)
        if item is None:
            raise PlaidApiError("INVALID_ACCESS_TOKEN")
        if item.removed:
            raise PlaidApiError("ITEM_NOT_FOUND")
        return item

    def _item(self, data: dict[str, Any]) -> _Item:
        _require(data, "access_token")
        return self._item_for(_string(data, "access_token"))

    def _healthy_item(self, request: _Request, data: dict[str, Any]) -> _Item:
        item = self._item(data)
        error = item.current_error(request.now)
        if error is not None:
            raise error
        return item

    def _item_json(self, item: _Item, now: datetime) -> dict[str, Any]:
        error = item.current_error(now)
        return {
            "available_products": sorted(set(item.institution.products) - set(item.products)),
            "billed_products": sorted(item.products),
            "consent_expiration_time": _timestamp(item.consent_expiration)
            if item.consent_expiration
            else None,
            "consented_products": sorted(item.products),
            "error": error.body(self._state.next_request_id()) if error else None,
            "institution_id": item.institution.institution_id,
            "institution_name": item.institution.name,
            "item_id": item.item_id,
            "products": sorted(item.products),
            "update_type": "background",
            "webhook": item.webhook,
        }

    def _item_get(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        item = self._item(data)
        failed = item.current_error(request.now) is not None
        last_webhook = (
            {"code_sent": item.last_webhook[1], "sent_at": _timestamp(item.last_webhook[0])}
            if item.last_webhook
            else None
        )
        return {
            "item": self._item_json(item, request.now),
            "status": {
                "last_webhook": last_webhook,
                "transactions": {
                    "last_failed_update": _timestamp(request.now) if failed else None,
                    "last_successful_update": None if failed else _timestamp(request.now),
                },
            },
        }

    def _item_remove(self, _request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        item = self._item(data)
        item.removed = True
        self._state.sync_cache.pop(item.item_id, None)
        return {}

    def _item_webhook_update(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        item = self._item(data)
        item.webhook = _optional_str(data, "webhook")
        if item.webhook is not None:
            self._send_webhook(
                request, item, "ITEM", "WEBHOOK_UPDATE_ACKNOWLEDGED", error=None, new_webhook_url=item.webhook
            )
        return {"item": self._item_json(item, request.now)}

    # ------------------------------------------------------------------ accounts

    def _accounts_get(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        item = self._healthy_item(request, data)
        return {
            "accounts": self._accounts_json(item, request.now),
            "item": self._item_json(item, request.now),
        }

    def _accounts_json(self, item: _Item, now: datetime) -> list[dict[str, Any]]:
        return [self._account_json(item, index, now.date()) for index in range(item.account_count)]

    def _account_json(self, item: _Item, index: int, today: date) -> dict[str, Any]:
        account_id = account_id_for(item.item_id, index)
        profile = account_profile(index)
        current, available = balances(account_id, profile.subtype, item.balance_since, today)
        return {
            "account_id": account_id,
            "balances": {
                "available": available,
                "current": current,
                "iso_currency_code": item.institution.currency,
                "limit": None,
                "unofficial_currency_code": None,
            },
            "mask": mask_for(account_id),
            "name": profile.name,
            "official_name": f"{item.institution.name} {profile.official_name}",
            "subtype": profile.subtype,
            "type": profile.type,
        }

    # ------------------------------------------------------------------ transactions

    def _transactions_sync(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        item = self._healthy_item(request, data)
        count = _sync_count(data)
        original_description = bool(_options(data).get("include_original_description"))
        cursor = _Cursor.decode(_optional_str(data, "cursor") or "", item.item_id)
        current = item.snapshot(request.now)
        if cursor.target is not None and cursor.target != current:
            raise PlaidApiError("TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION")
        target = cursor.target or current
        key = (cursor.base, target, original_description)
        updates = self._updates(item, key)
        page = updates[cursor.offset : cursor.offset + count]
        has_more = cursor.offset + len(page) < len(updates)
        if has_more:
            self._state.sync_cache[item.item_id] = (key, updates)
            next_cursor = _Cursor(item.item_id, cursor.base, target, cursor.offset + len(page))
        else:
            self._state.sync_cache.pop(item.item_id, None)
            next_cursor = _Cursor(item.item_id, target, None, 0)
        return {
            "accounts": self._accounts_json(item, request.now),
            "added": [update.body for update in page if update.kind == "added"],
            "has_more": has_more,
            "modified": [update.body for update in page if update.kind == "modified"],
            "next_cursor": next_cursor.encode(),
            "removed": [update.body for update in page if update.kind == "removed"],
            "transactions_update_status": "HISTORICAL_UPDATE_COMPLETE",
        }

    def _updates(self, item: _Item, key: _SyncKey) -> list[_Update]:
        """The changes from the cursor's base to its target, in the order Plaid gives them;
        kept while a client pages through them (see `_transactions_sync`)."""
        cached = self._state.sync_cache.get(item.item_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        base, target, original_description = key
        before = _transactions_at(item, base, original_description) if base else {}
        return _diff(before, _transactions_at(item, target, original_description))

    # ------------------------------------------------------------------ webhooks

    def _verification_key_get(self, _request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        _require(data, "key_id")
        key = _KEYS.get(_string(data, "key_id"))
        if key is None:
            raise PlaidApiError("INVALID_WEBHOOK_VERIFICATION_KEY_ID")
        return {"key": key.jwk()}

    def _send_webhook(
        self, request: _Request, item: _Item, webhook_type: str, code: str, **fields: Any
    ) -> None:
        """Queue a signed webhook to the Item's URL; `handle` delivers it once the lock is released."""
        if item.webhook is None:
            return
        payload = {"webhook_type": webhook_type, "webhook_code": code, "item_id": item.item_id, **fields}
        body = json.dumps({**payload, "environment": ENVIRONMENT}, indent=2).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Plaid-Verification": _CURRENT_KEY.sign(body, request.now),
        }
        request.outbox.append(_Webhook(item.webhook, headers, body))
        item.last_webhook = (request.now, code)
        self._state.webhooks.append(
            {"url": item.webhook, "sent_at": _timestamp(request.now), **payload, "environment": ENVIRONMENT}
        )

    # ------------------------------------------------------------------ sandbox endpoints

    def _sandbox_public_token_create(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        _require(data, "institution_id", "initial_products")
        institution = find_institution(_string(data, "institution_id"))
        if institution is None:
            raise PlaidApiError("INVALID_INSTITUTION")
        products = _strings(data, "initial_products")
        options = _options(data)
        webhook = _optional_str(options, "webhook", "options.webhook")
        days = _days_requested(options.get("transactions"), "options.transactions.days_requested")
        item = self._new_item(request, institution, products, webhook, days)
        return {"public_token": self._new_public_token(item, request.now)}

    def _sandbox_reset_login(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        self._fire_error(request, self._item(data))
        return {"reset_login": True}

    def _item_error(self, request: _Request, item: _Item, code: str, webhook_code: str) -> None:
        """The Item enters an error state; its webhook (ITEM `webhook_code`) carries the error."""
        item.error_code = code
        self._send_webhook(request, item, "ITEM", webhook_code, error=PlaidApiError(code).body(None))

    def _sandbox_fire_webhook(self, request: _Request, data: dict[str, Any]) -> dict[str, Any]:
        item = self._item(data)
        _require(data, "webhook_code")
        code = _string(data, "webhook_code")
        if code not in self._fireable:
            raise _invalid(f"webhook_code must be one of {', '.join(self._fireable)}")
        webhook_type, fire = self._fireable[code]
        if data.get("webhook_type") not in (None, webhook_type):
            raise _invalid(f"webhook_type for {code} must be {webhook_type}")
        if item.webhook is None:
            raise PlaidApiError("SANDBOX_WEBHOOK_INVALID")
        fire(request, item)
        return {"webhook_fired": True}

    def _fireable_webhooks(self) -> dict[str, tuple[str, FireHandler]]:
        """What `/sandbox/item/fire_webhook` fires: code -> (webhook_type, what it does)."""
        return {
            "SYNC_UPDATES_AVAILABLE": ("TRANSACTIONS", self._fire_sync_updates_available),
            "DEFAULT_UPDATE": ("TRANSACTIONS", self._fire_default_update),
            "NEW_ACCOUNTS_AVAILABLE": ("ITEM", self._fire_new_accounts_available),
            "ERROR": ("ITEM", self._fire_error),
            "LOGIN_REPAIRED": ("ITEM", self._fire_login_repaired),
            "PENDING_EXPIRATION": ("ITEM", self._fire_pending_expiration),
            "PENDING_DISCONNECT": ("ITEM", self._fire_pending_disconnect),
            "USER_PERMISSION_REVOKED": ("ITEM", self._fire_user_permission_revoked),
        }

    def _fire_sync_updates_available(self, request: _Request, item: _Item) -> None:
        self._send_webhook(request, item, "TRANSACTIONS", "SYNC_UPDATES_AVAILABLE", **_SYNC_READY)

    def _fire_default_update(self, request: _Request, item: _Item) -> None:
        yesterday = request.now.date() - timedelta(days=1)
        new = sum(
            len(transactions_on(account_id_for(item.item_id, i), account_profile(i).subtype, yesterday))
            for i in range(item.account_count)
        )
        self._send_webhook(request, item, "TRANSACTIONS", "DEFAULT_UPDATE", error=None, new_transactions=new)

    def _fire_new_accounts_available(self, request: _Request, item: _Item) -> None:
        """One more account at the bank; the user shares it through Link's update mode."""
        item.offered_accounts += 1
        self._send_webhook(request, item, "ITEM", "NEW_ACCOUNTS_AVAILABLE", error=None)

    def _fire_error(self, request: _Request, item: _Item) -> None:
        self._item_error(request, item, "ITEM_LOGIN_REQUIRED", "ERROR")

    def _fire_user_permission_revoked(self, request: _Request, item: _Item) -> None:
        self._item_error(request, item, "USER_PERMISSION_REVOKED", "USER_PERMISSION_REVOKED")

    def _fire_login_repaired(self, request: _Request, item: _Item) -> None:
        item.error_code = None
        self._send_webhook(request, item, "ITEM", "LOGIN_REPAIRED")

    def _fire_pending_expiration(self, request: _Request, item: _Item) -> None:
        """The consent now ends in 7 days (sooner if it already did)."""
        notice = request.now + PENDING_EXPIRATION_NOTICE
        item.consent_expiration = min(item.consent_expiration or notice, notice)
        expiry = _timestamp(item.consent_expiration)
        self._send_webhook(request, item, "ITEM", "PENDING_EXPIRATION", consent_expiration_time=expiry)

    def _fire_pending_disconnect(self, request: _Request, item: _Item) -> None:
        self._send_webhook(request, item, "ITEM", "PENDING_DISCONNECT", reason="INSTITUTION_TOKEN_EXPIRATION")

    # ------------------------------------------------------------------ Link (pages)

    def _live_link_token(self, token: str, now: datetime) -> _LinkToken | Response:
        """The link token, or the page Link shows when it cannot start."""
        link = self._state.link_tokens.get(token)
        problem = None
        if link is None:
            problem = "This link token is not valid."
        elif link.expires <= now:
            problem = "This link token has expired."
        elif link.access_token is not None and self._updated_item(link).removed:
            problem = "This Item has been removed."
        if link is None or problem is not None:
            return _html_response(400, "Link could not start", f"<p>{problem}</p>")
        return link

    def _updated_item(self, link: _LinkToken) -> _Item:
        """The Item an update-mode link token was created for (checked when it was)."""
        item = self._state.item_with_token(link.access_token or "")
        assert item is not None
        return item

    def _link_page(self, request: _Request, token: str) -> Response:
        link = self._live_link_token(token, request.now)
        if not isinstance(link, _LinkToken):
            return link
        base = f"{self._base_url(request)}/link/{token}"
        institutions = self._link_institutions(link)
        choices = "".join(
            f"<li><a href='{html.escape(f'{base}/connect?institution_id={i.institution_id}')}'>"
            f"Connect {html.escape(i.name)}</a> <small>{html.escape(i.url)}</small></li>"
            for i in institutions
        )
        cancel = f"<p><a href='{html.escape(f'{base}/cancel')}'>Cancel</a></p>"
        title = "Reconnect your account" if link.access_token else "Connect a bank account"
        return _html_response(200, f"{title} \u2014 Plaid sandbox", f"<ul>{choices}</ul>{cancel}")

    def _link_institutions(self, link: _LinkToken) -> list[Institution]:
        if link.access_token is not None:
            return [self._updated_item(link).institution]
        if link.institution_id is not None:
            chosen = find_institution(link.institution_id)
            return [chosen] if chosen else []
        return [i for i in INSTITUTIONS if set(link.country_codes) & set(i.country_codes)]

    def _link_connect(self, request: _Request, token: str) -> Response:
        link = self._live_link_token(token, request.now)
        if not isinstance(link, _LinkToken):
            return link
        offered = self._link_institutions(link)
        wanted = request.param("institution_id")
        institution = next((i for i in offered if wanted in (None, i.institution_id)), None)
        if institution is None:
            return _html_response(
                400, "Link could not connect", "<p>This institution is not offered here.</p>"
            )
        if link.access_token is None:
            item = self._new_item(request, institution, link.products, link.webhook, link.days_requested)
        else:
            item = self._repair(self._updated_item(link), request.now)
        params = {
            "public_token": self._new_public_token(item, request.now),
            "link_token": token,
            "link_session_id": self._state.next_uuid("link-session"),
            "institution_id": institution.institution_id,
        }
        return _redirect(link.redirect_uri or f"{self._base_url(request)}/link-complete", params)

    def _repair(self, item: _Item, now: datetime) -> _Item:
        """Update mode: the user logs in again and shares the accounts the bank now offers."""
        item.error_code = None
        item.account_count = item.offered_accounts
        consent_days = item.institution.consent_days
        item.consent_expiration = now + timedelta(days=consent_days) if consent_days else None
        return item

    def _link_cancel(self, request: _Request, token: str) -> Response:
        link = self._live_link_token(token, request.now)
        if not isinstance(link, _LinkToken):
            return link
        params = {
            "link_token": token,
            "link_session_id": self._state.next_uuid("link-session"),
            "status": "exited",
        }
        return _redirect(link.redirect_uri or f"{self._base_url(request)}/link-complete", params)

    def _link_complete(self, request: _Request) -> Response:
        rows = "".join(
            f"<tr><th>{html.escape(name)}</th><td><code>{html.escape(values[0])}</code></td></tr>"
            for name, values in sorted(request.query.items())
        )
        return _html_response(200, "Link finished", f"<table>{rows}</table>")

    # ------------------------------------------------------------------ failures on demand

    def _take_failure(self, request: _Request) -> tuple[float, Response] | None:
        if request.path.startswith("/_control/"):
            return None
        rule = next((r for r in self._state.failures if request.path.startswith(r.path_prefix)), None)
        if rule is None:
            return None
        if rule.after > 0:
            rule.after -= 1
            return None
        rule.remaining -= 1
        if rule.remaining == 0:
            self._state.failures.remove(rule)
        error = PlaidApiError(rule.error_code)
        return rule.delay_seconds, _json_response(error.status, error.body(self._state.next_request_id()))

    # ------------------------------------------------------------------ control API

    def _control_failures(self, request: _Request) -> Response:
        data = request.json()
        prefix = data.get("path_prefix")
        code = data.get("error_code")
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            return _control_error("path_prefix must be a path starting with '/'")
        if code not in INJECTABLE_ERRORS:
            return _control_error(f"error_code must be one of {list(INJECTABLE_ERRORS)}")
        kind = ERRORS[code]
        if data.get("status", kind.status) != kind.status:
            return _control_error(f"{code} is answered with status {kind.status}")
        if data.get("error_type", kind.error_type) != kind.error_type:
            return _control_error(f"{code} has error_type {kind.error_type}")
        times, after = _int_within(data.get("times"), 1), _int_within(data.get("after", 0), 0)
        delay = data.get("delay_seconds", 0)
        if times is None:
            return _control_error("times must be an integer >= 1")
        if after is None:
            return _control_error("after must be an integer >= 0")
        if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
            return _control_error("delay_seconds must be a number >= 0")
        rule = _FailureRule(prefix, code, times, after, float(delay))
        self._state.failures.append(rule)
        return _json_response(201, rule.to_json())

    def _control_reset(self, _request: _Request) -> Response:
        self._state = _State()
        return _json_response(200, {"reset": True})

    def _control_state(self, request: _Request) -> Response:
        state = self._state
        return _json_response(
            200,
            {
                "now": _timestamp(request.now),
                "signing_key_id": _CURRENT_KEY.kid,
                "items": [self._item_state(item, request.now) for item in state.items.values()],
                "link_tokens": [
                    {
                        "link_token": link.token,
                        "client_user_id": link.client_user_id,
                        "expiration": _timestamp(link.expires),
                        "update_mode": link.access_token is not None,
                    }
                    for link in state.link_tokens.values()
                ],
                "public_tokens": len(state.public_tokens),
                "failures": [rule.to_json() for rule in state.failures],
                "webhooks": list(state.webhooks),
            },
        )

    def _item_state(self, item: _Item, now: datetime) -> dict[str, Any]:
        error = item.current_error(now)
        return {
            "item_id": item.item_id,
            "access_token": item.access_token,
            "institution_id": item.institution.institution_id,
            "webhook": item.webhook,
            "accounts": item.account_count,
            "offered_accounts": item.offered_accounts,
            "error_code": error.code if error else None,
            "consent_expiration_time": _timestamp(item.consent_expiration)
            if item.consent_expiration
            else None,
            "removed": item.removed,
        }


# --------------------------------------------------------------------------- Link's script


@cache
def _link_script_body() -> bytes:
    return _LINK_SCRIPT_FILE.read_bytes()


def _link_script(_request: _Request) -> Response:
    """The stand-in for Plaid's link-initialize.js: `Plaid.create({token, onSuccess, onExit}).open()`."""
    headers = {"Content-Type": "text/javascript; charset=utf-8", "X-Content-Type-Options": "nosniff"}
    return 200, headers, _link_script_body()


# --------------------------------------------------------------------------- sync helpers


def _transactions_at(
    item: _Item, snapshot: _Snapshot, original_description: bool
) -> dict[str, dict[str, Any]]:
    """Every transaction the Item shows on `snapshot.day`, by transaction id."""
    today = snapshot.day
    last_day = today - timedelta(days=1)
    shown: dict[str, dict[str, Any]] = {}
    for index in range(snapshot.accounts):
        account_id = account_id_for(item.item_id, index)
        subtype = account_profile(index).subtype
        for tx in transactions_between(account_id, subtype, item.history_start, last_day):
            body = tx.to_json(today, item.institution.currency, original_description=original_description)
            shown[body["transaction_id"]] = body
    return shown


_RANK = {"removed": 0, "added": 1, "modified": 2}


def _diff(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[_Update]:
    """added / modified / removed from `before` to `after`, oldest first."""
    updates = [
        _update("removed", {"account_id": body["account_id"], "transaction_id": tid}, body)
        for tid, body in before.items()
        if tid not in after
    ]
    for tid, body in after.items():
        if tid not in before:
            updates.append(_update("added", body, body))
        elif before[tid] != body:
            updates.append(_update("modified", body, body))
    return sorted(updates, key=lambda update: update.order)


def _update(kind: str, body: dict[str, Any], dated: dict[str, Any]) -> _Update:
    return _Update(kind, body, (dated["date"], _RANK[kind], dated["transaction_id"]))


# --------------------------------------------------------------------------- field helpers


def _require(data: Mapping[str, Any], *names: str) -> None:
    missing = [name for name in names if data.get(name) in (None, "", [])]
    if missing:
        raise _missing(*missing)


def _string(data: Mapping[str, Any], label: str, key: str | None = None) -> str:
    value = data.get(key or label)
    if not isinstance(value, str):
        raise _invalid(f"{label} must be a properly formatted, non-empty string")
    return value


def _optional_str(data: Mapping[str, Any], name: str, label: str | None = None) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    return _string(data, label or name, name)


def _strings(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _invalid(f"{name} must be a list of non-empty strings")
    return list(value)


def _country_codes(data: Mapping[str, Any]) -> list[str]:
    codes = _strings(data, "country_codes")
    if not codes or not all(re.fullmatch(r"[A-Z]{2}", code) for code in codes):
        raise _invalid("country_codes must be a non-empty list of ISO-3166-1 alpha-2 codes")
    return codes


def _options(data: Mapping[str, Any]) -> dict[str, Any]:
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise _invalid("options must be an object")
    return options


def _include_optional_metadata(data: Mapping[str, Any]) -> bool:
    return _options(data).get("include_optional_metadata") is True


def _days_requested(transactions: Any, label: str) -> int:
    """`transactions.days_requested` of a request: how much history the Item pulls."""
    settings = {} if transactions is None else transactions
    raw = settings.get("days_requested", DEFAULT_DAYS_REQUESTED) if isinstance(settings, dict) else None
    days = _int_within(raw, 1, MAX_DAYS_REQUESTED)
    if days is None:
        raise _invalid(f"{label} must be an integer between 1 and {MAX_DAYS_REQUESTED}")
    return days


def _sync_count(data: Mapping[str, Any]) -> int:
    count = _int_within(data.get("count", DEFAULT_SYNC_COUNT), 1, MAX_SYNC_COUNT)
    if count is None:
        raise _invalid(f"count must be an integer between 1 and {MAX_SYNC_COUNT}")
    return count


def _int_within(value: Any, low: int, high: int | None = None) -> int | None:
    """`value` if it is an integer (not a bool) in [low, high], else None."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        return None
    return value if high is None or value <= high else None


def _control_error(message: str) -> Response:
    return _json_response(400, {"error": "invalid failure rule", "detail": message})
