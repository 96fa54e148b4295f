"""The local stand-in of the user pool's hosted sign-in pages (Cognito's managed login), mounted at
`/_local/cognito` on the local system's own port.

moto has the user pool but no hosted pages, so the web app's sign-in (the OAuth 2.0 authorization code
grant with PKCE, `oidc-client-ts`) runs here against the same pool, with Cognito's paths and
parameters, and the tokens it gets are the pool's own (the local gateway checks them as API Gateway
does):

- `GET /oauth2/authorize` (and `/login`, where Cognito's form lives): `response_type=code`, `client_id`,
  `redirect_uri`, `state`, `scope`, `code_challenge`, `code_challenge_method=S256`, `lang` (en, fr) ->
  the email and password page. An unknown `client_id` or a `redirect_uri` that is not exactly one of
  the app client's CallbackURLs *as the pool stores them* is a 400 page and never a redirect; the other
  errors go back to the redirect_uri with `error` and `state`, as RFC 6749 §4.1.2.1 says.
- `POST /login`: the password is checked by the pool (AdminInitiateAuth); a person with an
  authenticator gets the code page (`POST /mfa`, AdminRespondToAuthChallenge, 3 tries); then a 302 to
  `redirect_uri?code=…&state=…` (the state unchanged). The code is single-use, valid 5 minutes (as
  Cognito's) and bound to the client, the redirect_uri and the code challenge.
- `POST /oauth2/token` (form-encoded): `authorization_code` (code, redirect_uri, client_id,
  code_verifier) -> id_token, access_token, refresh_token, expires_in, token_type; `refresh_token` ->
  REFRESH_TOKEN_AUTH on the pool. Errors are Cognito's: 400 `{"error": "invalid_grant"}` etc. A code is
  spent by its first redemption, right or wrong (a wrong verifier cannot be retried against it).
- `GET /logout` (`client_id`, `logout_uri` one of the LogoutURLs) -> 302 there, else a 400 page.
- `GET|POST /oauth2/userInfo` (Bearer access token) -> the user's attributes (GetUser).
- `GET /.well-known/openid-configuration`: these endpoints' local URLs; `web_config` gives the web app
  its runtime configuration with the same keys the stack writes on AWS.

No CORS: locally the app calls the token endpoint from the same origin (127.0.0.1 on the same port).
Stricter than Cognito: PKCE (S256) is required. Not here: sign-up, forgot password, the session cookie
that lets a second `authorize` skip the form (every sign-in shows it), `nonce` in the ID token.
State is in memory and bounded: codes and pending authenticator steps expire and are dropped, and at
most MAX_OUTSTANDING are held (beyond, the page says to try again later). Nothing is logged here; the
server logs a request's path, never its query or body (no password, code or token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Protocol
from urllib.parse import parse_qsl, urlencode

from infra.spec_user_pool import OAUTH_CALLBACK_PATH, OAUTH_SCOPES, OAUTH_SIGNED_OUT_PATH
from local.environment import PLAID_SANDBOX_MOUNT, app_base_url
from local.hosted_ui_pages import Language, code_page, language, message_page, sign_in_page
from local.hosted_ui_state import Authorization, Grant, Outstanding, Pending
from local.http_types import HttpRequest, HttpResponse, json_response
from local.identity_api import PREFIX as IDENTITY_API_PREFIX
from local.sandbox.plaid import LINK_SCRIPT_PATH as PLAID_LINK_SCRIPT_PATH
from local.user_pool import AppClient, PoolTokens, SignInRefused, TotpChallenge, UnansweredChallenge
from shared.clock import Now
from shared.clock import now as business_now

PREFIX = "/_local/cognito"
AUTHORIZE, LOGIN, MFA = "/oauth2/authorize", "/login", "/mfa"
TOKEN, USER_INFO, LOGOUT = "/oauth2/token", "/oauth2/userInfo", "/logout"
METADATA = "/.well-known/openid-configuration"
JWKS_PATH = "/_local/.well-known/jwks.json"  # the pool's keys, served by the local console
CODE_LIFETIME = timedelta(minutes=5)  # Cognito's authorization codes
CHALLENGE_LIFETIME = timedelta(minutes=3)  # Cognito's sign-in session for the authenticator step
MAX_CODE_ATTEMPTS = 3
MAX_OUTSTANDING = 1000  # codes and pending authenticator steps held at once
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256, unpadded
_SIX_DIGITS = re.compile(r"[0-9]{6}")
_AUTHORIZE_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "lang",
)
_FORM = "application/x-www-form-urlencoded"


class UserPool(Protocol):
    """What the stand-in asks the pool (local.user_pool.LocalPool on moto)."""

    @property
    def user_pool_id(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    def app_client(self, client_id: str) -> AppClient | None: ...
    def start_sign_in(self, email: str, password: str) -> PoolTokens | TotpChallenge: ...
    def answer_totp(self, challenge: TotpChallenge, code: str) -> PoolTokens: ...
    def refresh(self, refresh_token: str) -> PoolTokens: ...
    def user_info(self, access_token: str) -> dict[str, str]: ...


class HostedUi:
    def __init__(
        self, pool: UserPool, base_url: str, clock: Now = business_now, max_outstanding: int = MAX_OUTSTANDING
    ):
        self._pool = pool
        self._base = base_url + PREFIX
        self._clock = clock
        self._held = Outstanding(max_outstanding)

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.raw_path[len(PREFIX) :] or "/"
        method = "GET" if request.method == "HEAD" else request.method
        routes: dict[str, dict[str, Callable[[HttpRequest], HttpResponse]]] = {
            AUTHORIZE: {"GET": self._show_sign_in},
            LOGIN: {"GET": self._show_sign_in, "POST": self._sign_in},
            MFA: {"POST": self._verify_code},
            TOKEN: {"POST": self._token},
            USER_INFO: {"GET": self._user_info, "POST": self._user_info},
            LOGOUT: {"GET": self._logout},
            METADATA: {"GET": lambda _: json_response(200, self.metadata())},
        }
        if path not in routes:
            return message_page(404, "en", "not_found_title", "not_found")
        if method not in routes[path]:
            return message_page(405, "en", "method_title", "method")
        return routes[path][method](request)

    def metadata(self) -> dict[str, object]:
        """The OpenID Provider metadata of the stand-in, with its local URLs."""
        return {
            "issuer": self._pool.issuer,
            "authorization_endpoint": self._base + AUTHORIZE,
            "token_endpoint": self._base + TOKEN,
            "end_session_endpoint": self._base + LOGOUT,
            "userinfo_endpoint": self._base + USER_INFO,
            "jwks_uri": self._base.removesuffix(PREFIX) + JWKS_PATH,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": list(OAUTH_SCOPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def web_config(self, api_base_url: str) -> dict[str, str]:
        """The web app's runtime configuration (see `web_config`)."""
        endpoints, app, pool = self.metadata(), app_base_url(api_base_url), self._pool
        return {
            "apiBaseUrl": api_base_url,
            "authority": pool.issuer,
            "issuer": pool.issuer,
            "clientId": pool.client_id,
            "userPoolId": pool.user_pool_id,
            "region": pool.region,
            "authorizationEndpoint": str(endpoints["authorization_endpoint"]),
            "tokenEndpoint": str(endpoints["token_endpoint"]),
            "endSessionEndpoint": str(endpoints["end_session_endpoint"]),
            "userInfoEndpoint": str(endpoints["userinfo_endpoint"]),
            "redirectUri": app + OAUTH_CALLBACK_PATH,
            "postLogoutRedirectUri": app + OAUTH_SIGNED_OUT_PATH,
            "jwksUri": str(endpoints["jwks_uri"]),
            "identityEndpoint": api_base_url + IDENTITY_API_PREFIX + "/",
            # The Plaid sandbox's stand-in for Link's script, on this origin (the CSP stays 'self').
            "plaidLinkScript": api_base_url + PLAID_SANDBOX_MOUNT + PLAID_LINK_SCRIPT_PATH,
        }

    # The pages.

    def _show_sign_in(self, request: HttpRequest) -> HttpResponse:
        checked = self._authorization(request.raw_query)
        if isinstance(checked, HttpResponse):
            return checked
        return sign_in_page(200, checked.lang, self._login_action(checked))

    def _sign_in(self, request: HttpRequest) -> HttpResponse:
        checked = self._authorization(request.raw_query)
        if isinstance(checked, HttpResponse):
            return checked
        form, _ = _single_values(request.body.decode("utf-8", "replace"))
        email, password, action = (
            form.get("username", ""),
            form.get("password", ""),
            self._login_action(checked),
        )
        if not email.strip() or not password:
            return sign_in_page(400, checked.lang, action, email, "missing_fields")
        try:
            step = self._pool.start_sign_in(email, password)
        except UnansweredChallenge:
            return sign_in_page(400, checked.lang, action, email, "cannot_sign_in")
        except SignInRefused:  # a wrong password, an unknown or disabled user: one and the same answer
            return sign_in_page(400, checked.lang, action, email, "wrong_password")
        if isinstance(step, PoolTokens):
            return self._code_for(checked, step)
        pending = Pending(checked, step, self._clock() + CHALLENGE_LIFETIME)
        handle = self._held.hold(self._held.pending, pending, self._clock())
        if handle is None:
            return message_page(503, checked.lang, "error_title", "busy")
        return code_page(200, checked.lang, self._mfa_action(checked.lang), handle)

    def _verify_code(self, request: HttpRequest) -> HttpResponse:
        form, _ = _single_values(request.body.decode("utf-8", "replace"))
        handle, code = form.get("session", ""), form.get("code", "").strip()
        pending = self._held.take_pending(handle, self._clock())
        if pending is None:
            lang = language(_single_values(request.raw_query)[0].get("lang", ""))
            return message_page(400, lang, "error_title", "session_expired")
        lang, action = pending.authorization.lang, self._mfa_action(pending.authorization.lang)
        if not _SIX_DIGITS.fullmatch(code):
            self._held.put_back(handle, pending)
            return code_page(400, lang, action, handle, "code_format")
        try:
            tokens = self._pool.answer_totp(pending.challenge, code)
        except SignInRefused:
            pending.attempts += 1
            if pending.attempts >= MAX_CODE_ATTEMPTS:
                return message_page(400, lang, "error_title", "too_many_codes")
            self._held.put_back(handle, pending)
            return code_page(400, lang, action, handle, "wrong_code")
        return self._code_for(pending.authorization, tokens)

    def _code_for(self, checked: Authorization, tokens: PoolTokens) -> HttpResponse:
        grant = Grant(checked, tokens, self._clock() + CODE_LIFETIME)
        code = self._held.hold(self._held.codes, grant, self._clock())
        if code is None:
            return message_page(503, checked.lang, "error_title", "busy")
        return checked.redirect(code=code)

    def _authorization(self, query: str) -> Authorization | HttpResponse:
        """The request checked: a 400 page for what must never redirect, a redirect with `error` for
        the rest (RFC 6749 §4.1.2.1)."""
        registered = self._registered(query, "redirect_uri", "error_title", _AUTHORIZE_PARAMETERS)
        if isinstance(registered, HttpResponse):
            return registered
        values, client, lang = registered
        scope = values.get("scope") or " ".join(client.scopes)
        checked = Authorization(
            client.client_id,
            values["redirect_uri"],
            values.get("state"),
            scope,
            values.get("code_challenge", ""),
            lang,
        )
        if values.get("response_type") != "code":
            return checked.redirect(error="unsupported_response_type")
        if not client.code_grant:
            return checked.redirect(error="unauthorized_client")
        if values.get("code_challenge_method") != "S256" or not _PKCE_CHALLENGE.fullmatch(
            checked.code_challenge
        ):
            return checked.redirect(error="invalid_request", error_description="PKCE with S256 is required")
        if not set(scope.split()) <= set(client.scopes):
            return checked.redirect(error="invalid_scope")
        return checked

    def _registered(
        self, query: str, target: str, title: str, single: tuple[str, ...]
    ) -> tuple[dict[str, str], AppClient, Language] | HttpResponse:
        """The query's values, its app client and language when the client is the pool's and `target`
        (redirect_uri or logout_uri) is exactly one of that client's URLs as the pool stores them; a 400
        page otherwise, and for a repeated parameter among `single`: never a redirect."""
        values, repeated = _single_values(query)
        lang = language(values.get("lang", ""))
        if repeated & set(single):
            return message_page(400, lang, title, "repeated_parameter")
        client = self._pool.app_client(values["client_id"]) if values.get("client_id") else None
        if client is None:
            return message_page(400, lang, title, "unknown_client")
        allowed = client.callback_urls if target == "redirect_uri" else client.logout_urls
        if values.get(target) not in allowed:
            return message_page(
                400, lang, title, "unknown_redirect" if target == "redirect_uri" else "unknown_logout"
            )
        return values, client, lang

    def _login_action(self, checked: Authorization) -> str:
        return f"{PREFIX}{LOGIN}?{checked.query()}"

    def _mfa_action(self, lang: Language) -> str:
        return f"{PREFIX}{MFA}?{urlencode({'lang': lang})}"

    # The endpoints the app calls.

    def _token(self, request: HttpRequest) -> HttpResponse:
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        form, repeated = _single_values(request.body.decode("utf-8", "replace"))
        if content_type != _FORM or repeated:
            return _oauth_error("invalid_request")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem(form)
        if grant_type == "refresh_token":
            return self._refresh(form)
        return _oauth_error("unsupported_grant_type" if grant_type else "invalid_request")

    def _redeem(self, form: Mapping[str, str]) -> HttpResponse:
        needed = ("code", "redirect_uri", "client_id", "code_verifier")
        if not all(form.get(name) for name in needed):
            return _oauth_error("invalid_request")
        if self._pool.app_client(form["client_id"]) is None:
            return _oauth_error("invalid_client")
        grant = self._held.take_code(form["code"], self._clock())  # spent, whatever follows
        if (
            grant is None
            or grant.authorization.client_id != form["client_id"]
            or grant.authorization.redirect_uri != form["redirect_uri"]
            or not _verifier_matches(form["code_verifier"], grant.authorization.code_challenge)
        ):
            return _oauth_error("invalid_grant")
        return _token_response(grant.tokens)

    def _refresh(self, form: Mapping[str, str]) -> HttpResponse:
        if not form.get("refresh_token") or not form.get("client_id"):
            return _oauth_error("invalid_request")
        if self._pool.app_client(form["client_id"]) is None:
            return _oauth_error("invalid_client")
        try:
            return _token_response(self._pool.refresh(form["refresh_token"]))
        except SignInRefused:
            return _oauth_error("invalid_grant")

    def _user_info(self, request: HttpRequest) -> HttpResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            try:
                return json_response(200, self._pool.user_info(token.strip()), _NO_STORE)
            except SignInRefused:
                pass
        challenge = 'Bearer error="invalid_token", error_description="Access token is not valid"'
        return json_response(401, {"error": "invalid_token"}, [("www-authenticate", challenge), *_NO_STORE])

    def _logout(self, request: HttpRequest) -> HttpResponse:
        registered = self._registered(
            request.raw_query, "logout_uri", "sign_out_title", ("client_id", "logout_uri")
        )
        if isinstance(registered, HttpResponse):
            return registered
        values, _, _ = registered
        return HttpResponse(302, [("location", values["logout_uri"]), *_NO_STORE])


_NO_STORE = (("cache-control", "no-store"), ("pragma", "no-cache"))


def _single_values(encoded: str) -> tuple[dict[str, str], set[str]]:
    """A form or query string's values, the first of each name, and the names given more than once."""
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in parse_qsl(encoded, keep_blank_values=True):
        if name in values:
            repeated.add(name)
        else:
            values[name] = value
    return values, repeated


def _verifier_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding equals the challenge."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def _token_response(tokens: PoolTokens) -> HttpResponse:
    body = {"id_token": tokens.id_token, "access_token": tokens.access_token}
    if tokens.refresh_token:
        body["refresh_token"] = tokens.refresh_token
    payload = {**body, "expires_in": tokens.expires_in, "token_type": "Bearer"}
    return json_response(200, payload, _NO_STORE)


def _oauth_error(error: str) -> HttpResponse:
    return json_response(400, {"error": error}, _NO_STORE)


class RunningSystem(Protocol):
    """What `web_config` needs of the local system (local.system.LocalSystem)."""

    @property
    def base_url(self) -> str: ...
    @property
    def hosted_ui(self) -> HostedUi | None: ...


def web_config(system: RunningSystem) -> dict[str, str]:
    """The web app's runtime configuration locally (served as /app/config.json); the stack writes the
    same keys on AWS. `authority` and `issuer` are the pool's issuer, as on AWS: the app is given the
    endpoints explicitly (metadata), so nothing is discovered from that address locally."""
    if system.hosted_ui is None:
        raise RuntimeError("the local system is not wired yet")
    return system.hosted_ui.web_config(system.base_url)
