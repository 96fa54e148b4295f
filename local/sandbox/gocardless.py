"""A local sandbox of the GoCardless Bank Account Data API v2 (formerly Nordigen).

It speaks the subset our adapter uses, with the real field names, status codes and error
bodies, plus the bank's consent page and a `/_control` API to steer tests and demos:

    POST /api/v2/token/new/ | /api/v2/token/refresh/
    GET  /api/v2/institutions/?country=gb | /api/v2/institutions/{id}/
    POST /api/v2/agreements/enduser/      | GET, DELETE /api/v2/agreements/enduser/{id}/
    POST /api/v2/requisitions/            | GET, DELETE /api/v2/requisitions/{id}/
    GET  /api/v2/accounts/{id}/[details/|balances/|transactions/]
    GET  /consent/{requisition_id}[/approve|/reject|/pending]         (the bank's page)
    POST /_control/failures | /_control/reset | /_control/agreements/{id}/expire
    GET  /_control/state

Paths are relative to the mount point (the local server mounts this at /sandbox/gocardless).
Time comes from the injected clock; ids are uuid5 of a per-kind sequence, so a run is
reproducible. One lock guards all state: the local server is threaded.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from local.sandbox.kept_state import KeptState
from shared.clock import now as business_now

from .gocardless_data import (
    ACCOUNT_PROFILES,
    BOOKING_LAG_DAYS,
    HISTORY_DAYS,
    Institution,
    find_institution,
    iban_for,
    institutions_in,
    opening_balance,
    owner_name_for,
    resource_id_for,
    transactions_between,
)

Response = tuple[int, dict[str, str], bytes]

# The local secret's value (infra/spec.py): sandbox-only, not a credential of anything real.
SANDBOX_SECRET_ID = "sandbox-secret-id"  # noqa: S105
SANDBOX_SECRET_KEY = "sandbox-secret-key"  # noqa: S105
DEFAULT_MOUNT = "/sandbox/gocardless"

ACCESS_EXPIRES_SECONDS = 86_400
REFRESH_EXPIRES_SECONDS = 2_592_000
DEFAULT_ACCOUNT_DAILY_LIMIT = 4
ACCOUNTS_PER_MINUTE_LIMIT = 100
ACCESS_SCOPES = ("balances", "details", "transactions")
DEFAULT_DAYS = 90
INJECTABLE_STATUSES = (401, 429, 500, 503)

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sandbox.local/gocardless")
_JSON = {"Content-Type": "application/json"}
_HTML = {"Content-Type": "text/html; charset=utf-8"}
_FINAL_STATUSES = ("LN", "RJ", "EX")
_LINK_REUSED = "This link has already been used for authorization and is no longer valid."
_NO_VALID_EUA = "Account exists but there is no valid End User Agreement permitting you to access it"
_EUA_MISMATCH = (
    "Provided Institution ID: '{given}' for requisition does not match EUA institution ID '{expected}'. "
    "Please provide correct institution ID or create new EUA."
)
_EUA_EXPIRED = (
    "EUA was valid for {days} days and it expired at {expiry}. "
    "The end user must connect the account once more with new EUA and Requisition"
)


class ApiError(Exception):
    """An error answer: raised anywhere in a handler, rendered by `handle`."""

    def __init__(self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _error(
    status: int, summary: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> ApiError:
    """The API's error body: {summary, detail, [type,] status_code}."""
    return ApiError(status, {"summary": summary, "detail": detail, **extra, "status_code": status}, headers)


def _not_found() -> ApiError:
    return _error(404, "Not found.", "Not found.")


def _field_error(summary: str, detail: str | None = None) -> dict[str, str]:
    return {"summary": summary, "detail": detail or summary}


def _field_errors(errors: dict[str, dict[str, str]]) -> ApiError:
    return ApiError(400, {**errors, "status_code": 400})


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return status, {**_JSON, **(headers or {})}, json.dumps(body, ensure_ascii=False).encode("utf-8")


def _html_response(status: int, title: str, body_html: str) -> Response:
    page = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body_html}</body></html>"
    )
    return status, dict(_HTML), page.encode("utf-8")


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(int((moment - now).total_seconds()), 0)


def _seconds_until_tomorrow(now: datetime) -> int:
    """Seconds to the next UTC midnight: when daily limits reset."""
    return _seconds_until(datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC), now)


def _account_success_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT": str(limit),
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": str(remaining),
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": str(reset),
    }


# --------------------------------------------------------------------------- state


@dataclass
class _Agreement:
    id: str
    created: datetime
    institution_id: str
    max_historical_days: int
    access_valid_for_days: int
    access_scope: list[str]
    accepted: datetime | None = None
    forced_expiry: datetime | None = None

    def expires_at(self) -> datetime | None:
        if self.forced_expiry is not None:
            return self.forced_expiry
        if self.accepted is None:
            return None
        return self.accepted + timedelta(days=self.access_valid_for_days)

    def is_expired(self, now: datetime) -> bool:
        expiry = self.expires_at()
        return expiry is not None and expiry <= now

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": _timestamp(self.created),
            "institution_id": self.institution_id,
            "max_historical_days": self.max_historical_days,
            "access_valid_for_days": self.access_valid_for_days,
            "access_scope": list(self.access_scope),
            "accepted": _timestamp(self.accepted) if self.accepted else None,
        }


@dataclass
class _Requisition:
    id: str
    created: datetime
    redirect: str
    institution: Institution
    agreement_id: str
    reference: str
    user_language: str
    ssn: str | None
    account_selection: bool
    redirect_immediate: bool
    link: str
    status: str = "CR"
    accounts: list[str] = field(default_factory=list)

    def to_json(self, status: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": _timestamp(self.created),
            "redirect": self.redirect,
            "status": status,
            "institution_id": self.institution.id,
            "agreement": self.agreement_id,
            "reference": self.reference,
            "accounts": list(self.accounts),
            "user_language": self.user_language,
            "link": self.link,
            "ssn": self.ssn,
            "account_selection": self.account_selection,
            "redirect_immediate": self.redirect_immediate,
        }


@dataclass
class _Account:
    id: str
    created: datetime
    requisition_id: str
    agreement_id: str
    institution: Institution
    index: int
    owner_name: str
    last_accessed: datetime

    @property
    def bank_key(self) -> str:
        """The bank account behind this API account: every consent at the same bank sees the
        same accounts (same IBAN, same transactions) under new account ids, as real banks do."""
        return f"{self.institution.id}:{self.index}"

    @property
    def iban(self) -> str:
        return iban_for(self.institution, self.bank_key)

    @property
    def history_start(self) -> date:
        return self.created.date() - timedelta(days=HISTORY_DAYS)


@dataclass
class _FailureRule:
    path_prefix: str
    status: int
    remaining: int
    delay_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "path_prefix": self.path_prefix,
            "status": self.status,
            "times": self.remaining,
            "delay_seconds": self.delay_seconds,
        }


@dataclass
class _State:
    sequences: Counter[str] = field(default_factory=Counter)
    access_tokens: dict[str, datetime] = field(default_factory=dict)
    refresh_tokens: dict[str, datetime] = field(default_factory=dict)
    agreements: dict[str, _Agreement] = field(default_factory=dict)
    requisitions: dict[str, _Requisition] = field(default_factory=dict)
    accounts: dict[str, _Account] = field(default_factory=dict)
    failures: list[_FailureRule] = field(default_factory=list)
    daily_usage: Counter[tuple[str, str, date]] = field(default_factory=Counter)
    minute_usage: Counter[datetime] = field(default_factory=Counter)

    def next_id(self, kind: str) -> str:
        self.sequences[kind] += 1
        return str(uuid.uuid5(_NAMESPACE, f"{kind}:{self.sequences[kind]}"))


# --------------------------------------------------------------------------- request


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    now: datetime

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _error(400, "JSON parse error", f"JSON parse error - {exc}") from exc
        if not isinstance(data, dict):
            raise _error(400, "Invalid data", "Invalid data. Expected a dictionary.")
        return data


Handler = Callable[..., Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    authenticated: bool


# --------------------------------------------------------------------------- sandbox


class GoCardlessSandbox(KeptState[_State]):
    """In-memory, thread-safe fake of the GoCardless Bank Account Data API."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        public_base_url: str | None = None,
        *,
        secret_id: str = SANDBOX_SECRET_ID,
        secret_key: str = SANDBOX_SECRET_KEY,
        account_daily_limit: int = DEFAULT_ACCOUNT_DAILY_LIMIT,
    ) -> None:
        self._clock = clock or business_now
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._secret = (secret_id, secret_key)
        self._account_daily_limit = account_daily_limit
        self._lock = threading.Lock()
        self._state = _State()
        self._routes = self._build_routes()

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
            return self._dispatch(request)

    def _dispatch(self, request: _Request) -> Response:
        try:
            route, groups = self._route_for(request)
            if route.authenticated:
                self._authenticate(request)
            return route.handler(request, *groups)
        except ApiError as error:
            return _json_response(error.status, error.body, error.headers)

    def _route_for(self, request: _Request) -> tuple[_Route, tuple[str, ...]]:
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            if route.method == request.method:
                return route, match.groups()
            allowed.append(route.method)
        if allowed:
            raise _error(405, "Method Not Allowed", f'Method "{request.method}" not allowed.')
        raise _not_found()

    def _build_routes(self) -> list[_Route]:
        api = r"/api/v2"
        segment = r"([^/]+)"
        table: list[tuple[str, str, Handler, bool]] = [
            ("POST", rf"{api}/token/new/", self._token_new, False),
            ("POST", rf"{api}/token/refresh/", self._token_refresh, False),
            ("GET", rf"{api}/institutions/", self._list_institutions, True),
            ("GET", rf"{api}/institutions/{segment}/", self._get_institution, True),
            ("POST", rf"{api}/agreements/enduser/", self._create_agreement, True),
            ("GET", rf"{api}/agreements/enduser/{segment}/", self._get_agreement, True),
            ("DELETE", rf"{api}/agreements/enduser/{segment}/", self._delete_agreement, True),
            ("POST", rf"{api}/requisitions/", self._create_requisition, True),
            ("GET", rf"{api}/requisitions/{segment}/", self._get_requisition, True),
            ("DELETE", rf"{api}/requisitions/{segment}/", self._delete_requisition, True),
            ("GET", rf"{api}/accounts/{segment}/", self._get_account, True),
            ("GET", rf"{api}/accounts/{segment}/(details|balances|transactions)/", self._account_data, True),
            ("GET", rf"/consent/{segment}", self._consent_page, False),
            ("GET", rf"/consent/{segment}/(approve|reject|pending)", self._consent_action, False),
            ("POST", r"/_control/failures", self._control_failures, False),
            ("POST", r"/_control/reset", self._control_reset, False),
            ("GET", r"/_control/state", self._control_state, False),
            ("POST", rf"/_control/agreements/{segment}/expire", self._control_expire, False),
        ]
        return [
            _Route(method, re.compile(pattern), handler, auth) for method, pattern, handler, auth in table
        ]

    def _base_url(self, request: _Request) -> str:
        if self._public_base_url:
            return self._public_base_url
        return f"http://{request.header('Host') or '127.0.0.1'}{DEFAULT_MOUNT}"

    # ------------------------------------------------------------------ tokens

    def _issue_token(self, kind: str, lifetime_seconds: int, now: datetime) -> str:
        seed = self._state.next_id(kind)
        token = (
            uuid.uuid5(_NAMESPACE, f"{kind}-a:{seed}").hex + uuid.uuid5(_NAMESPACE, f"{kind}-b:{seed}").hex
        )
        store = self._state.access_tokens if kind == "access" else self._state.refresh_tokens
        store[token] = now + timedelta(seconds=lifetime_seconds)
        return token

    def _token_new(self, request: _Request) -> Response:
        data = request.json()
        missing = {
            name: _field_error("This field is required.")
            for name in ("secret_id", "secret_key")
            if not data.get(name)
        }
        if missing:
            raise _field_errors(missing)
        if (data["secret_id"], data["secret_key"]) != self._secret:
            raise _error(401, "Authentication failed", "No active account found with the given credentials")
        return _json_response(
            200,
            {
                "access": self._issue_token("access", ACCESS_EXPIRES_SECONDS, request.now),
                "access_expires": ACCESS_EXPIRES_SECONDS,
                "refresh": self._issue_token("refresh", REFRESH_EXPIRES_SECONDS, request.now),
                "refresh_expires": REFRESH_EXPIRES_SECONDS,
            },
        )

    def _token_refresh(self, request: _Request) -> Response:
        refresh = request.json().get("refresh")
        if not refresh:
            raise _field_errors({"refresh": _field_error("This field is required.")})
        expiry = self._state.refresh_tokens.get(refresh) if isinstance(refresh, str) else None
        if expiry is None or expiry <= request.now:
            raise _error(401, "Invalid token", "Token is invalid or expired")
        return _json_response(
            200,
            {
                "access": self._issue_token("access", ACCESS_EXPIRES_SECONDS, request.now),
                "access_expires": ACCESS_EXPIRES_SECONDS,
            },
        )

    def _authenticate(self, request: _Request) -> None:
        authorization = request.header("Authorization")
        if not authorization:
            raise _error(
                401,
                "Authentication credentials were not provided.",
                "Authentication credentials were not provided.",
            )
        scheme, _, token = authorization.partition(" ")
        expiry = self._state.access_tokens.get(token) if scheme == "Bearer" else None
        if expiry is None or expiry <= request.now:
            raise _error(401, "Invalid token", "Token is invalid or expired")

    # ------------------------------------------------------------------ institutions

    def _list_institutions(self, request: _Request) -> Response:
        country = request.param("country")
        if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
            raise _field_errors(
                {"country": _field_error("Invalid country choice.", f"{country} is not a valid choice.")}
            )
        return _json_response(200, [institution.to_json() for institution in institutions_in(country)])

    def _get_institution(self, _request: _Request, institution_id: str) -> Response:
        institution = find_institution(institution_id)
        if institution is None:
            raise _not_found()
        return _json_response(
            200, {**institution.to_json(), "supported_features": [], "identification_codes": []}
        )

    # ------------------------------------------------------------------ agreements

    def _create_agreement(self, request: _Request) -> Response:
        data = request.json()
        errors: dict[str, dict[str, str]] = {}
        institution = _institution_field(data, errors)
        max_historical_days = _int_field(data, "max_historical_days", errors)
        access_valid_for_days = _int_field(data, "access_valid_for_days", errors)
        access_scope = _scope_field(data, errors)
        if institution is not None:
            _check_agreement_limits(institution, max_historical_days, access_valid_for_days, errors)
        if errors or institution is None or max_historical_days is None or access_valid_for_days is None:
            raise _field_errors(errors)
        agreement = self._new_agreement(
            institution, max_historical_days, access_valid_for_days, access_scope, request.now
        )
        return _json_response(201, agreement.to_json())

    def _new_agreement(
        self,
        institution: Institution,
        max_historical_days: int,
        access_valid_for_days: int,
        access_scope: list[str],
        now: datetime,
    ) -> _Agreement:
        agreement = _Agreement(
            id=self._state.next_id("agreement"),
            created=now,
            institution_id=institution.id,
            max_historical_days=max_historical_days,
            access_valid_for_days=access_valid_for_days,
            access_scope=access_scope,
        )
        self._state.agreements[agreement.id] = agreement
        return agreement

    def _agreement(self, agreement_id: str) -> _Agreement:
        if not _is_uuid(agreement_id):
            raise _error(
                400, "Invalid EndUserAgreement ID", f"{agreement_id} is not a valid EndUserAgreement UUID. "
            )
        agreement = self._state.agreements.get(agreement_id)
        if agreement is None:
            raise _not_found()
        return agreement

    def _get_agreement(self, _request: _Request, agreement_id: str) -> Response:
        return _json_response(200, self._agreement(agreement_id).to_json())

    def _delete_agreement(self, _request: _Request, agreement_id: str) -> Response:
        agreement = self._agreement(agreement_id)
        if agreement.accepted is not None:
            raise _error(
                400,
                "Cannot delete End User Agreement",
                f"Cannot delete accepted End User Agreement: {agreement_id}. "
                "Only non-accepted agreements can be deleted.",
            )
        del self._state.agreements[agreement_id]
        return _json_response(
            200,
            {
                "summary": "End User Agreement deleted",
                "detail": f"End User Agreement {agreement_id} deleted",
            },
        )

    # ------------------------------------------------------------------ requisitions

    def _create_requisition(self, request: _Request) -> Response:
        data = request.json()
        errors: dict[str, dict[str, str]] = {}
        redirect = _redirect_field(data, errors)
        institution = _institution_field(data, errors)
        user_language = _language_field(data, errors)
        reference = data.get("reference")
        if reference is not None and any(r.reference == reference for r in self._state.requisitions.values()):
            errors["reference"] = _field_error(
                "Client reference must be unique", f"Client reference '{reference}' already exists"
            )
        agreement = self._requisition_agreement(data, institution, errors, request.now)
        if errors or institution is None or agreement is None:
            raise _field_errors(errors)
        requisition_id = self._state.next_id("requisition")
        requisition = _Requisition(
            id=requisition_id,
            created=request.now,
            redirect=redirect,
            institution=institution,
            agreement_id=agreement.id,
            reference=str(reference) if reference is not None else requisition_id,
            user_language=user_language,
            ssn=data.get("ssn"),
            account_selection=bool(data.get("account_selection", False)),
            redirect_immediate=bool(data.get("redirect_immediate", False)),
            link=f"{self._base_url(request)}/consent/{requisition_id}",
        )
        self._state.requisitions[requisition.id] = requisition
        return _json_response(201, requisition.to_json(requisition.status))

    def _requisition_agreement(
        self,
        data: dict[str, Any],
        institution: Institution | None,
        errors: dict[str, dict[str, str]],
        now: datetime,
    ) -> _Agreement | None:
        """The agreement named in the body, or a default one (90 days) when none is given."""
        agreement_id = data.get("agreement")
        if agreement_id is None:
            if institution is None:
                return None
            days = min(DEFAULT_DAYS, institution.transaction_total_days)
            return self._new_agreement(institution, days, DEFAULT_DAYS, list(ACCESS_SCOPES), now)
        agreement = self._state.agreements.get(agreement_id) if isinstance(agreement_id, str) else None
        if agreement is None:
            raise _error(
                400,
                "Invalid EUA",
                f"{agreement_id} is not a valid UUID. Please specify a valid agreement from "
                "/api/agreements/enduser/ or create a new one.",
            )
        if institution is not None and agreement.institution_id != institution.id:
            errors["institution_id"] = _field_error(
                f"Incorrect Institution ID {institution.id}",
                _EUA_MISMATCH.format(given=institution.id, expected=agreement.institution_id),
            )
        return agreement

    def _requisition(self, requisition_id: str) -> _Requisition:
        requisition = self._state.requisitions.get(requisition_id)
        if requisition is None:
            raise _not_found()
        return requisition

    def _requisition_status(self, requisition: _Requisition, now: datetime) -> str:
        agreement = self._state.agreements.get(requisition.agreement_id)
        if requisition.status == "LN" and agreement is not None and agreement.is_expired(now):
            return "EX"
        return requisition.status

    def _get_requisition(self, request: _Request, requisition_id: str) -> Response:
        requisition = self._requisition(requisition_id)
        return _json_response(200, requisition.to_json(self._requisition_status(requisition, request.now)))

    def _delete_requisition(self, _request: _Request, requisition_id: str) -> Response:
        requisition = self._requisition(requisition_id)
        del self._state.requisitions[requisition_id]
        self._state.agreements.pop(requisition.agreement_id, None)
        return _json_response(
            200,
            {
                "summary": "Requisition deleted",
                "detail": f"Requisition {requisition_id} deleted with all its End User Agreements",
            },
        )

    # ------------------------------------------------------------------ consent (the bank's page)

    def _consentable(self, requisition_id: str) -> _Requisition:
        requisition = self._requisition(requisition_id)
        if requisition.agreement_id not in self._state.agreements:
            raise _not_found()  # its (unaccepted) agreement was deleted: nothing left to consent to
        if requisition.status in _FINAL_STATUSES:
            raise _error(400, "RequisitionLinkReused", _LINK_REUSED)
        return requisition

    def _consent_page(self, request: _Request, requisition_id: str) -> Response:
        requisition = self._consentable(requisition_id)
        requisition.status = "UA"
        name = requisition.institution.name
        base = f"{self._base_url(request)}/consent/{requisition.id}"
        links = "".join(
            f"<li><a href='{html.escape(f'{base}/{action}')}'>{label}</a></li>"
            for action, label in (("approve", "Approve"), ("reject", "Reject"), ("pending", "Leave pending"))
        )
        question = f"<p>Share your {html.escape(name)} accounts with the requesting service?</p>"
        return _html_response(200, f"{name} \u2014 sandbox consent", f"{question}<ul>{links}</ul>")

    def _consent_action(self, request: _Request, requisition_id: str, action: str) -> Response:
        requisition = self._consentable(requisition_id)
        if action == "pending":
            requisition.status = "UA"
            return _html_response(200, "Consent pending", "<p>The consent is left pending at the bank.</p>")
        if action == "reject":
            requisition.status = "RJ"
            return self._redirect_back(
                requisition, {"error": "UserCancelledSession", "details": "User cancelled the session."}
            )
        self._link_accounts(requisition, request.now)
        return self._redirect_back(requisition, {})

    def _redirect_back(self, requisition: _Requisition, params: Mapping[str, str]) -> Response:
        location = _with_query(requisition.redirect, {"ref": requisition.reference, **params})
        return 302, {"Location": location, "Content-Type": "text/plain; charset=utf-8"}, b""

    def _link_accounts(self, requisition: _Requisition, now: datetime) -> None:
        self._state.agreements[requisition.agreement_id].accepted = now
        requisition.status = "LN"
        for index in range(requisition.institution.account_count):
            account = _Account(
                id=str(uuid.uuid5(_NAMESPACE, f"account:{requisition.id}:{index}")),
                created=now,
                requisition_id=requisition.id,
                agreement_id=requisition.agreement_id,
                institution=requisition.institution,
                index=index,
                owner_name=owner_name_for(requisition.id),
                last_accessed=now,
            )
            self._state.accounts[account.id] = account
            requisition.accounts.append(account.id)

    # ------------------------------------------------------------------ accounts

    def _account(self, account_id: str) -> _Account:
        if not _is_uuid(account_id):
            raise _error(400, "Invalid Account ID", f"{account_id} is not a valid UUID")
        account = self._state.accounts.get(account_id)
        if account is None:
            raise _not_found()
        return account

    def _get_account(self, request: _Request, account_id: str) -> Response:
        account = self._account(account_id)
        headers = self._count_general(request.now)
        agreement = self._state.agreements.get(account.agreement_id)
        expired = agreement is None or agreement.is_expired(request.now)
        return _json_response(
            200,
            {
                "id": account.id,
                "created": _timestamp(account.created),
                "last_accessed": _timestamp(account.last_accessed),
                "iban": account.iban,
                "institution_id": account.institution.id,
                "status": "EXPIRED" if expired else "READY",
                "owner_name": account.owner_name,
            },
            headers,
        )

    def _account_data(self, request: _Request, account_id: str, kind: str) -> Response:
        account = self._account(account_id)
        headers = self._count_general(request.now)
        agreement = self._valid_agreement(account, request.now, headers)
        builders = {"details": self._details, "balances": self._balances, "transactions": self._transactions}
        body = builders[kind](request, account, agreement)
        headers |= self._spend_daily_quota(account, kind, request.now, headers)
        account.last_accessed = request.now
        return _json_response(200, body, headers)

    def _valid_agreement(self, account: _Account, now: datetime, headers: Mapping[str, str]) -> _Agreement:
        agreement = self._state.agreements.get(account.agreement_id)
        if agreement is None:
            raise _error(403, "No valid End User Agreement", _NO_VALID_EUA, headers)
        expiry = agreement.expires_at()
        if expiry is not None and expiry <= now:
            detail = _EUA_EXPIRED.format(days=agreement.access_valid_for_days, expiry=expiry)
            raise _error(401, f"End User Agreement (EUA) {agreement.id} has expired", detail, headers)
        return agreement

    def _count_general(self, now: datetime) -> dict[str, str]:
        """The company-wide accounts limit (100/minute): counts every call, refuses past it."""
        window = now.replace(second=0, microsecond=0)
        self._state.minute_usage[window] += 1
        used = self._state.minute_usage[window]
        reset = _seconds_until(window + timedelta(minutes=1), now)
        headers = {
            "HTTP_X_RATELIMIT_LIMIT": str(ACCOUNTS_PER_MINUTE_LIMIT),
            "HTTP_X_RATELIMIT_REMAINING": str(max(ACCOUNTS_PER_MINUTE_LIMIT - used, 0)),
            "HTTP_X_RATELIMIT_RESET": str(reset),
        }
        if used > ACCOUNTS_PER_MINUTE_LIMIT:
            raise _rate_limited(f"{ACCOUNTS_PER_MINUTE_LIMIT}/minute", reset, headers)
        return headers

    def _spend_daily_quota(
        self, account: _Account, kind: str, now: datetime, headers: Mapping[str, str]
    ) -> dict[str, str]:
        """The per-account, per-endpoint daily limit: only successful calls spend it."""
        key = (account.id, kind, now.date())
        used = self._state.daily_usage[key]
        reset = _seconds_until_tomorrow(now)
        limit = self._account_daily_limit
        if used >= limit:
            raise _rate_limited(
                f"{limit}/day", reset, {**headers, **_account_success_headers(limit, 0, reset)}
            )
        self._state.daily_usage[key] = used + 1
        return _account_success_headers(limit, limit - used - 1, reset)

    def _details(self, _request: _Request, account: _Account, _agreement: _Agreement) -> dict[str, Any]:
        profile = ACCOUNT_PROFILES[account.index % len(ACCOUNT_PROFILES)]
        return {
            "account": {
                "resourceId": resource_id_for(account.bank_key),
                "iban": account.iban,
                "currency": account.institution.currency,
                "ownerName": account.owner_name,
                "name": profile.name,
                "product": profile.product,
                "cashAccountType": profile.cash_account_type,
            }
        }

    def _balances(self, request: _Request, account: _Account, _agreement: _Agreement) -> dict[str, Any]:
        today = request.now.date()
        history = transactions_between(account.bank_key, account.history_start, today)
        booked = opening_balance(account.bank_key) + sum(
            (tx.amount for tx in history if tx.is_booked(today)), Decimal(0)
        )
        available = booked + sum((tx.amount for tx in history if not tx.is_booked(today)), Decimal(0))
        currency = account.institution.currency
        return {
            "balances": [
                _balance(booked, currency, "closingBooked", today - timedelta(days=1)),
                _balance(available, currency, "interimAvailable", today),
            ]
        }

    def _transactions(self, request: _Request, account: _Account, agreement: _Agreement) -> dict[str, Any]:
        today = request.now.date()
        earliest = max(account.history_start, today - timedelta(days=agreement.max_historical_days))
        date_from, date_to = _date_window(request, earliest, today)
        institution = account.institution
        lookback = timedelta(days=BOOKING_LAG_DAYS)
        history = transactions_between(
            account.bank_key, max(date_from - lookback, account.history_start), date_to
        )
        booked = [tx for tx in history if tx.is_booked(today) and date_from <= tx.booking_date <= date_to]
        pending = [tx for tx in history if not tx.is_booked(today) and date_from <= tx.value_date]
        return {
            "transactions": {
                "booked": [
                    tx.to_json(
                        institution.currency, booked=True, with_transaction_id=institution.has_transaction_ids
                    )
                    for tx in reversed(booked)
                ],
                "pending": [
                    tx.to_json(institution.currency, booked=False, with_transaction_id=False)
                    for tx in reversed(pending)
                ],
            }
        }

    # ------------------------------------------------------------------ failures on demand

    def _take_failure(self, request: _Request) -> tuple[float, Response] | None:
        if request.path.startswith("/_control/"):
            return None
        rule = next((r for r in self._state.failures if request.path.startswith(r.path_prefix)), None)
        if rule is None:
            return None
        rule.remaining -= 1
        if rule.remaining == 0:
            self._state.failures.remove(rule)
        error = _injected_error(rule.status, request, self._account_daily_limit)
        return rule.delay_seconds, _json_response(error.status, error.body, error.headers)

    # ------------------------------------------------------------------ control API

    def _control_failures(self, request: _Request) -> Response:
        data = request.json()
        prefix, status, times, delay = (
            data.get(k) for k in ("path_prefix", "status", "times", "delay_seconds")
        )
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise _error(400, "Invalid failure rule", "path_prefix must be a path starting with '/'")
        if status not in INJECTABLE_STATUSES:
            raise _error(400, "Invalid failure rule", f"status must be one of {list(INJECTABLE_STATUSES)}")
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise _error(400, "Invalid failure rule", "times must be an integer >= 1")
        if delay is not None and (not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0):
            raise _error(400, "Invalid failure rule", "delay_seconds must be a number >= 0")
        rule = _FailureRule(prefix, status, times, float(delay or 0))
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
                "tokens": {"access": len(state.access_tokens), "refresh": len(state.refresh_tokens)},
                "agreements": [
                    {**a.to_json(), "expires_at": _timestamp(e) if (e := a.expires_at()) else None}
                    for a in state.agreements.values()
                ],
                "requisitions": [
                    r.to_json(self._requisition_status(r, request.now)) for r in state.requisitions.values()
                ],
                "accounts": [
                    {
                        "id": a.id,
                        "requisition": a.requisition_id,
                        "institution_id": a.institution.id,
                        "iban": a.iban,
                    }
                    for a in state.accounts.values()
                ],
                "failures": [rule.to_json() for rule in state.failures],
                "daily_usage": [
                    {"account": account, "endpoint": kind, "day": day.isoformat(), "calls": calls}
                    for (account, kind, day), calls in state.daily_usage.items()
                ],
            },
        )

    def _control_expire(self, request: _Request, agreement_id: str) -> Response:
        agreement = self._state.agreements.get(agreement_id)
        if agreement is None:
            raise _not_found()
        agreement.forced_expiry = request.now
        return _json_response(200, {**agreement.to_json(), "expires_at": _timestamp(request.now)})


# --------------------------------------------------------------------------- validation helpers


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _institution_field(data: dict[str, Any], errors: dict[str, dict[str, str]]) -> Institution | None:
    institution_id = data.get("institution_id")
    if not institution_id:
        errors["institution_id"] = _field_error("This field is required.")
        return None
    institution = find_institution(institution_id) if isinstance(institution_id, str) else None
    if institution is None:
        errors["institution_id"] = _field_error(
            f"Unknown Institution ID {institution_id}",
            "Get Institution IDs from /institutions/?country={$COUNTRY_CODE}",
        )
    return institution


def _int_field(data: dict[str, Any], name: str, errors: dict[str, dict[str, str]]) -> int | None:
    value = data.get(name, DEFAULT_DAYS)
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = _field_error("A valid integer is required.")
        return None
    return value


def _scope_field(data: dict[str, Any], errors: dict[str, dict[str, str]]) -> list[str]:
    scope = data.get("access_scope", list(ACCESS_SCOPES))
    if not isinstance(scope, list) or not scope or any(item not in ACCESS_SCOPES for item in scope):
        errors["access_scope"] = _field_error(
            "Unknown value in access_scope", f"Choose one or several from {list(ACCESS_SCOPES)}"
        )
        return []
    return scope


def _check_agreement_limits(
    institution: Institution,
    max_historical_days: int | None,
    access_valid_for_days: int | None,
    errors: dict[str, dict[str, str]],
) -> None:
    total = institution.transaction_total_days
    if max_historical_days is not None and not 0 < max_historical_days <= total:
        errors["max_historical_days"] = _field_error(
            "Incorrect max_historical_days",
            f"max_historical_days must be > 0 and <= {institution.id} transaction_total_days ({total})",
        )
    limit = institution.max_access_valid_for_days
    if access_valid_for_days is not None and not 0 < access_valid_for_days <= limit:
        errors["access_valid_for_days"] = _field_error(
            "Incorrect access_valid_for_days", f"access_valid_for_days must be > 0 and <= {limit}"
        )


def _redirect_field(data: dict[str, Any], errors: dict[str, dict[str, str]]) -> str:
    redirect = data.get("redirect")
    if not redirect:
        errors["redirect"] = _field_error("This field is required.")
        return ""
    if not isinstance(redirect, str) or not (parts := urlsplit(redirect)).scheme or not parts.netloc:
        errors["redirect"] = _field_error(
            "Invalid redirect URI", "Redirect URI must have a valid URI structure"
        )
        return ""
    return redirect


def _language_field(data: dict[str, Any], errors: dict[str, dict[str, str]]) -> str:
    language = data.get("user_language", "EN")
    if not isinstance(language, str) or not re.fullmatch(r"[A-Za-z]{2}", language):
        errors["user_language"] = _field_error(
            "Provided user_language is invalid or not supported", f"{language} is invalid or not supported"
        )
        return ""
    return language.upper()


def _date_window(request: _Request, earliest: date, today: date) -> tuple[date, date]:
    """The [date_from, date_to] window, clamped to what the agreement gives access to."""
    errors: dict[str, dict[str, Any]] = {}
    parsed = {name: _date_param(request, name, errors) for name in ("date_from", "date_to")}
    if errors:
        raise ApiError(400, errors)
    date_from = max(parsed["date_from"] or earliest, earliest)
    date_to = min(parsed["date_to"] or today, today)
    if date_from > date_to:
        detail = (
            f"Starting date '{date_from}' is greater than end date '{date_to}'. "
            "When specifying date range, starting date must precede the end date"
        )
        problem = {"summary": "Incorrect date range", "detail": detail, "status_code": 400}
        raise ApiError(400, {"date_from": problem, "date_to": problem})
    return date_from, date_to


def _date_param(request: _Request, name: str, errors: dict[str, dict[str, Any]]) -> date | None:
    raw = request.param(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = {
            "summary": "Invalid date format",
            "detail": "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
            "status_code": 400,
        }
        return None


def _balance(amount: Decimal, currency: str, balance_type: str, reference_date: date) -> dict[str, Any]:
    return {
        "balanceAmount": {"amount": str(amount), "currency": currency},
        "balanceType": balance_type,
        "referenceDate": reference_date.isoformat(),
    }


def _rate_limited(rate: str, reset: int, headers: Mapping[str, str]) -> ApiError:
    detail = f"The rate limit for this resource is {rate}. Please try again in {reset} seconds"
    return _error(429, "Rate limit exceeded", detail, headers)


_INJECTED_BODIES = {
    401: (
        "AccessExpiredError",
        "Access has expired or it has been revoked. To restore access reconnect the account.",
    ),
    429: ("RateLimitError", "Daily request limit set by the Institution has been exceeded."),
    500: ("UnknownRequestError", "Request to Institution returned an error"),
    503: ("ServiceError", "Institution service unavailable"),
}


def _injected_error(status: int, request: _Request, daily_limit: int) -> ApiError:
    """The institution-side error the real API relays, typed like the real one."""
    error_type, detail = _INJECTED_BODIES[status]
    match = re.fullmatch(r"/api/v2/accounts/[^/]+/(?:(details|balances|transactions)/)?", request.path)
    what = f"account {match.group(1)}" if match and match.group(1) else "account"
    headers = {}
    if status == 429:
        headers = _account_success_headers(daily_limit, 0, _seconds_until_tomorrow(request.now))
    return _error(status, f"Couldn't update {what}", detail, headers, type=error_type)
