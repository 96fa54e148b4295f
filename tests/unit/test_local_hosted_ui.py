"""The hosted sign-in pages' stand-in (local/hosted_ui.py, issue 18) on a fake pool: the rules of the
authorization code grant with PKCE as Cognito applies them, without moto or sockets (the same flow
on the pool of the running local system is tests/integration/test_hosted_ui.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from local.hosted_ui import (
    CHALLENGE_LIFETIME,
    CODE_LIFETIME,
    MAX_CODE_ATTEMPTS,
    PREFIX,
    HostedUi,
    web_config,
)
from local.hosted_ui_pages import TEXT
from local.http_types import Headers, HttpRequest, HttpResponse
from local.user_pool import AppClient, PoolTokens, SignInRefused, TotpChallenge, UnansweredChallenge

BASE = "http://127.0.0.1:3000"
CLIENT = "web-client"
CALLBACK = f"{BASE}/app/auth/callback"
SIGNED_OUT = f"{BASE}/app/auth/signed-out"
PASSWORD = "Right-Passw0rd!"
CUSTOMER, STAFF, NEW_PASSWORD = "ann@example.org", "sam@example.org", "new@example.org"
TOTP = "123456"
VERIFIER = "a-verifier-of-at-least-43-characters-0123456789abcdef"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
STATE = "opaque state/with+signs&=and é"


@dataclass
class FakePool:
    """The pool's answers, counting the calls the stand-in makes."""

    user_pool_id: str = "eu-west-2_pool"
    region: str = "eu-west-2"
    client_id: str = CLIENT
    issued: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def app_client(self, client_id: str) -> AppClient | None:
        self._count("app_client")
        if client_id != self.client_id:
            return None
        return AppClient(CLIENT, (CALLBACK,), (SIGNED_OUT,), ("openid", "email", "profile"), True)

    def start_sign_in(self, email: str, password: str) -> PoolTokens | TotpChallenge:
        self._count("start_sign_in")
        if password != PASSWORD or email.strip().lower() not in (CUSTOMER, STAFF, NEW_PASSWORD):
            raise SignInRefused("Incorrect username or password.")
        if email == NEW_PASSWORD:
            raise UnansweredChallenge("NEW_PASSWORD_REQUIRED")
        return TotpChallenge(STAFF, "pool-session") if email == STAFF else self._tokens(refresh=True)

    def answer_totp(self, challenge: TotpChallenge, code: str) -> PoolTokens:
        self._count("answer_totp")
        if (challenge.session, code) != ("pool-session", TOTP):
            raise SignInRefused("Invalid code received for user")
        return self._tokens(refresh=True)

    def refresh(self, refresh_token: str) -> PoolTokens:
        self._count("refresh")
        if refresh_token not in self.refresh_tokens:
            raise SignInRefused("Invalid refresh token")
        return self._tokens(refresh=False)

    def user_info(self, access_token: str) -> dict[str, str]:
        if access_token not in self.access_tokens:
            raise SignInRefused("Invalid token")
        return {"username": "u-1", "sub": "u-1", "email": CUSTOMER, "email_verified": "true"}

    def _tokens(self, refresh: bool) -> PoolTokens:
        self.issued += 1
        tokens = PoolTokens(f"id-{self.issued}", f"access-{self.issued}", f"refresh-{self.issued}", 3600)
        self.access_tokens.add(tokens.access_token)
        if not refresh:
            return PoolTokens(tokens.id_token, tokens.access_token, "", 3600)
        self.refresh_tokens.add(tokens.refresh_token)
        return tokens


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def pool() -> FakePool:
    return FakePool()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ui(pool: FakePool, clock: Clock) -> HostedUi:
    return HostedUi(pool, BASE, clock=clock)


def authorize_query(**changes: str | None) -> str:
    values: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": CALLBACK,
        "state": STATE,
        "scope": "openid email profile",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    } | changes
    return urlencode({name: value for name, value in values.items() if value is not None})


def get(ui: HostedUi, path: str, query: str = "", headers: dict[str, str] | None = None) -> HttpResponse:
    target = f"{PREFIX}{path}" + (f"?{query}" if query else "")
    return ui.handle(HttpRequest("GET", target, Headers((headers or {}).items())))


def post(
    ui: HostedUi, target: str, form: dict[str, str], content_type: str = "application/x-www-form-urlencoded"
) -> HttpResponse:
    headers = Headers([("content-type", content_type)])
    return ui.handle(HttpRequest("POST", target, headers, urlencode(form).encode()))


def header(response: HttpResponse, name: str) -> str | None:
    return next((value for key, value in response.headers if key.lower() == name), None)


def form_action(response: HttpResponse) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', response.body.decode())
    assert found, response.body
    return unescape(found.group(1))


def sign_in(
    ui: HostedUi, email: str = CUSTOMER, password: str = PASSWORD, **changes: str | None
) -> HttpResponse:
    page = get(ui, "/oauth2/authorize", authorize_query(**changes))
    assert page.status == 200, page.body
    return post(ui, form_action(page), {"username": email, "password": password})


def code_of(response: HttpResponse) -> str:
    assert response.status == 302, response.body
    location = header(response, "location") or ""
    assert location.startswith(CALLBACK + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


def redeem(ui: HostedUi, code: str, **changes: str) -> tuple[int, dict[str, object]]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": CLIENT,
        "code_verifier": VERIFIER,
    } | changes
    response = post(ui, f"{PREFIX}/oauth2/token", form)
    return response.status, json.loads(response.body)


def test_the_code_grant_with_pkce_gives_the_pools_tokens_once(ui, pool):
    redirect = sign_in(ui)
    query = parse_qs(urlsplit(header(redirect, "location") or "").query)
    assert query["state"] == [STATE]  # echoed unchanged
    status, tokens = redeem(ui, code_of(redirect))
    assert status == 200
    assert tokens == {
        "id_token": "id-1",
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "expires_in": 3600,
        "token_type": "Bearer",
    }
    assert redeem(ui, query["code"][0]) == (400, {"error": "invalid_grant"})  # a code works once
    assert pool.calls["start_sign_in"] == 1


def test_the_sign_in_page_is_accessible_and_runs_no_script(ui):
    page = get(ui, "/oauth2/authorize", authorize_query())
    body = page.body.decode()
    assert header(page, "content-security-policy") == "default-src 'self'; frame-ancestors 'none'"
    assert header(page, "cache-control") == "no-store" and header(page, "x-frame-options") == "DENY"
    assert '<html lang="en">' in body and "<script" not in body and "style=" not in body
    assert '<label for="email">Email address</label>' in body and 'id="email"' in body
    assert '<label for="password">Password</label>' in body and 'type="password"' in body
    assert '<button type="submit">Sign in</button>' in body
    assert 'role="alert"' not in body


def test_the_pages_speak_french_when_asked(ui):
    body = get(ui, "/oauth2/authorize", authorize_query(lang="fr")).body.decode()
    assert '<html lang="fr">' in body and TEXT["fr"]["password"] in body
    action = form_action(get(ui, "/oauth2/authorize", authorize_query(lang="fr")))
    wrong = post(ui, action, {"username": CUSTOMER, "password": "nope"}).body.decode()
    assert unescape(wrong).count(TEXT["fr"]["wrong_password"]) == 1


def test_a_wrong_password_shows_the_form_again_with_words_and_no_code(ui):
    for email, password in ((CUSTOMER, "Wrong-Passw0rd!"), ("nobody@example.org", PASSWORD), (CUSTOMER, "")):
        response = sign_in(ui, email, password)
        body = unescape(response.body.decode())
        assert response.status == 400 and header(response, "location") is None
        expected = TEXT["en"]["missing_fields" if not password else "wrong_password"]
        assert f'<p role="alert" id="error">{expected}</p>' in body
        assert 'aria-invalid="true"' in body and f'value="{email}"' in body  # the email is kept
        assert password not in body or not password


def test_an_account_the_pool_asks_more_of_cannot_sign_in_here(ui):
    response = sign_in(ui, NEW_PASSWORD)
    assert response.status == 400 and TEXT["en"]["cannot_sign_in"] in unescape(response.body.decode())


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"client_id": "another-client"}, "unknown_client"),
        ({"client_id": None}, "unknown_client"),
        ({"redirect_uri": "https://evil.example/steal"}, "unknown_redirect"),
        ({"redirect_uri": CALLBACK + "/"}, "unknown_redirect"),  # exactly, not a prefix
        ({"redirect_uri": CALLBACK + "?next=https://evil.example"}, "unknown_redirect"),
        ({"redirect_uri": None}, "unknown_redirect"),
    ],
)
def test_an_unknown_client_or_redirect_uri_is_an_error_page_never_a_redirect(ui, pool, changes, reason):
    for path in ("/oauth2/authorize", "/login"):
        page = get(ui, path, authorize_query(**changes))
        assert page.status == 400 and header(page, "location") is None
        assert TEXT["en"][reason] in unescape(page.body.decode())
        assert "evil" not in page.body.decode()
    posted = post(
        ui, f"{PREFIX}/login?{authorize_query(**changes)}", {"username": CUSTOMER, "password": PASSWORD}
    )
    assert posted.status == 400 and header(posted, "location") is None
    assert "start_sign_in" not in pool.calls


def test_a_repeated_redirect_uri_is_refused_whichever_comes_first(ui):
    query = authorize_query() + "&" + urlencode({"redirect_uri": "https://evil.example/"})
    page = get(ui, "/oauth2/authorize", query)
    assert page.status == 400 and header(page, "location") is None


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"scope": "openid aws.cognito.signin.user.admin"}, "invalid_scope"),
    ],
)
def test_other_errors_go_back_to_the_registered_redirect_uri_with_the_state(ui, changes, error):
    response = get(ui, "/oauth2/authorize", authorize_query(**changes))
    assert response.status == 302
    location = header(response, "location") or ""
    assert location.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == [error] and query["state"] == [STATE] and "code" not in query


def test_staff_answer_the_authenticator_step_a_wrong_code_can_be_retried(ui, pool):
    page = sign_in(ui, STAFF)
    body = page.body.decode()
    assert page.status == 200 and '<label for="code">6-digit code from your authenticator app</label>' in body
    assert (
        'autocomplete="one-time-code"' in body and "pool-session" not in body
    )  # the pool's session stays here
    action, handle = form_action(page), re.search(r'name="session" value="([^"]+)"', body).group(1)
    wrong = post(ui, action, {"session": handle, "code": "654321"})
    assert wrong.status == 400 and TEXT["en"]["wrong_code"] in unescape(wrong.body.decode())
    malformed = post(ui, action, {"session": handle, "code": "12 34"})
    assert malformed.status == 400 and TEXT["en"]["code_format"] in unescape(malformed.body.decode())
    assert pool.calls["answer_totp"] == 1  # a code that is not 6 digits never reaches the pool
    status, tokens = redeem(ui, code_of(post(ui, action, {"session": handle, "code": TOTP})))
    assert status == 200 and tokens["id_token"] == "id-1"
    replay = post(ui, action, {"session": handle, "code": TOTP})
    assert replay.status == 400 and TEXT["en"]["session_expired"] in unescape(replay.body.decode())


def test_three_wrong_codes_end_the_sign_in(ui):
    page = sign_in(ui, STAFF)
    action, handle = (
        form_action(page),
        re.search(r'name="session" value="([^"]+)"', page.body.decode()).group(1),
    )
    for attempt in range(1, MAX_CODE_ATTEMPTS + 1):
        response = post(ui, action, {"session": handle, "code": "000000"})
        expected = "too_many_codes" if attempt == MAX_CODE_ATTEMPTS else "wrong_code"
        assert response.status == 400 and TEXT["en"][expected] in unescape(response.body.decode())
    assert TEXT["en"]["session_expired"] in unescape(
        post(ui, action, {"session": handle, "code": TOTP}).body.decode()
    )


def test_the_authenticator_step_expires(ui, clock):
    page = sign_in(ui, STAFF)
    action, handle = (
        form_action(page),
        re.search(r'name="session" value="([^"]+)"', page.body.decode()).group(1),
    )
    clock.now += CHALLENGE_LIFETIME
    response = post(ui, action, {"session": handle, "code": TOTP})
    assert response.status == 400 and header(response, "location") is None


@pytest.mark.parametrize(
    "changes",
    [
        {"code_verifier": "another-verifier-of-at-least-43-characters-0123456"},
        {"redirect_uri": SIGNED_OUT},
        {"code": "made-up"},
    ],
)
def test_a_wrong_verifier_redirect_uri_or_code_is_invalid_grant_and_spends_the_code(ui, changes):
    code = code_of(sign_in(ui))
    assert redeem(ui, **({"code": code} | changes)) == (400, {"error": "invalid_grant"})
    if "code" not in changes:
        assert redeem(ui, code) == (400, {"error": "invalid_grant"})  # no second try against the same code


def test_another_client_id_is_invalid_client(ui):
    code = code_of(sign_in(ui))
    assert redeem(ui, code, client_id="another-client") == (400, {"error": "invalid_client"})


def test_a_code_is_valid_five_minutes(ui, clock):
    fresh, stale = code_of(sign_in(ui)), code_of(sign_in(ui))
    clock.now += CODE_LIFETIME - timedelta(seconds=1)
    assert redeem(ui, fresh)[0] == 200
    clock.now += timedelta(seconds=1)
    assert redeem(ui, stale) == (400, {"error": "invalid_grant"})


@pytest.mark.parametrize(
    "form, content_type, error",
    [
        ({"grant_type": "password", "username": CUSTOMER}, None, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, None, "unsupported_grant_type"),
        ({"code": "x"}, None, "invalid_request"),
        ({"grant_type": "authorization_code", "client_id": CLIENT}, None, "invalid_request"),
        ({"grant_type": "refresh_token", "client_id": CLIENT}, None, "invalid_request"),
        ({"grant_type": "refresh_token", "client_id": "x", "refresh_token": "r"}, None, "invalid_client"),
        ({"grant_type": "authorization_code"}, "application/json", "invalid_request"),
    ],
)
def test_the_token_endpoint_answers_cognitos_errors(ui, form, content_type, error):
    response = post(ui, f"{PREFIX}/oauth2/token", form, content_type or "application/x-www-form-urlencoded")
    assert (response.status, json.loads(response.body)) == (400, {"error": error})
    assert header(response, "cache-control") == "no-store"


def test_a_repeated_token_parameter_is_invalid_request(ui):
    code = code_of(sign_in(ui))
    body = urlencode({"grant_type": "authorization_code", "code": code, "client_id": CLIENT}) + "&code=other"
    request = HttpRequest(
        "POST",
        f"{PREFIX}/oauth2/token",
        Headers([("content-type", "application/x-www-form-urlencoded")]),
        body.encode(),
    )
    assert json.loads(ui.handle(request).body) == {"error": "invalid_request"}


def test_a_refresh_token_gives_new_id_and_access_tokens(ui, pool):
    _, tokens = redeem(ui, code_of(sign_in(ui)))
    form = {"grant_type": "refresh_token", "client_id": CLIENT, "refresh_token": str(tokens["refresh_token"])}
    response = post(ui, f"{PREFIX}/oauth2/token", form)
    refreshed = json.loads(response.body)
    assert response.status == 200
    assert refreshed == {
        "id_token": "id-2",
        "access_token": "access-2",
        "expires_in": 3600,
        "token_type": "Bearer",
    }
    made_up = post(ui, f"{PREFIX}/oauth2/token", form | {"refresh_token": "made-up"})
    assert (made_up.status, json.loads(made_up.body)) == (400, {"error": "invalid_grant"})


def test_user_info_needs_the_pools_access_token(ui):
    _, tokens = redeem(ui, code_of(sign_in(ui)))
    response = get(ui, "/oauth2/userInfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert response.status == 200 and json.loads(response.body)["email"] == CUSTOMER
    for authorization in ("Bearer made-up", f"Basic {tokens['access_token']}", "Bearer ", ""):
        refused = get(
            ui, "/oauth2/userInfo", headers={"authorization": authorization} if authorization else {}
        )
        assert (refused.status, json.loads(refused.body)) == (401, {"error": "invalid_token"})
        assert 'error="invalid_token"' in (header(refused, "www-authenticate") or "")


def test_logout_goes_only_to_a_registered_sign_out_url(ui):
    response = get(ui, "/logout", urlencode({"client_id": CLIENT, "logout_uri": SIGNED_OUT}))
    assert response.status == 302 and header(response, "location") == SIGNED_OUT
    for query in (
        {"client_id": CLIENT, "logout_uri": "https://evil.example/"},
        {"client_id": CLIENT, "logout_uri": CALLBACK},  # a callback URL is not a sign-out URL
        {"client_id": CLIENT, "post_logout_redirect_uri": SIGNED_OUT},  # not Cognito's parameter
        {"client_id": "another-client", "logout_uri": SIGNED_OUT},
    ):
        refused = get(ui, "/logout", urlencode(query))
        assert refused.status == 400 and header(refused, "location") is None
        assert "evil" not in refused.body.decode()


def test_outstanding_codes_are_bounded_and_expired_ones_make_room(pool, clock):
    ui = HostedUi(pool, BASE, clock=clock, max_outstanding=2)
    held = [code_of(sign_in(ui)), code_of(sign_in(ui))]
    full = sign_in(ui)
    assert full.status == 503 and header(full, "location") is None
    assert TEXT["en"]["busy"] in unescape(full.body.decode())
    assert redeem(ui, held[0])[0] == 200  # a redeemed code frees its place
    code_of(sign_in(ui))
    clock.now += CODE_LIFETIME
    code_of(sign_in(ui))  # the expired ones were dropped


def test_the_metadata_and_the_web_config_name_the_local_endpoints(ui, pool):
    metadata = json.loads(get(ui, "/.well-known/openid-configuration").body)
    assert metadata["issuer"] == pool.issuer
    assert metadata["authorization_endpoint"] == f"{BASE}{PREFIX}/oauth2/authorize"
    assert metadata["token_endpoint"] == f"{BASE}{PREFIX}/oauth2/token"
    assert metadata["end_session_endpoint"] == f"{BASE}{PREFIX}/logout"
    assert metadata["userinfo_endpoint"] == f"{BASE}{PREFIX}/oauth2/userInfo"
    assert metadata["jwks_uri"] == f"{BASE}/_local/.well-known/jwks.json"
    assert metadata["code_challenge_methods_supported"] == ["S256"]

    @dataclass
    class System:
        base_url: str
        hosted_ui: HostedUi | None

    config = web_config(System(BASE, ui))
    assert config == {
        "apiBaseUrl": BASE,
        "authority": pool.issuer,
        "issuer": pool.issuer,
        "clientId": CLIENT,
        "userPoolId": pool.user_pool_id,
        "region": pool.region,
        "authorizationEndpoint": metadata["authorization_endpoint"],
        "tokenEndpoint": metadata["token_endpoint"],
        "endSessionEndpoint": metadata["end_session_endpoint"],
        "userInfoEndpoint": metadata["userinfo_endpoint"],
        "redirectUri": CALLBACK,
        "postLogoutRedirectUri": SIGNED_OUT,
        "jwksUri": metadata["jwks_uri"],
        "identityEndpoint": f"{BASE}/_local/cognito-idp/",
        "plaidLinkScript": f"{BASE}/sandbox/plaid/link/v2/stable/link-initialize.js",
    }
    with pytest.raises(RuntimeError):
        web_config(System(BASE, None))


def test_other_paths_and_methods(ui):
    assert get(ui, "/oauth2/authorise").status == 404
    assert get(ui, "/oauth2/token").status == 405
    assert ui.handle(HttpRequest("DELETE", f"{PREFIX}/logout")).status == 405
    assert ui.handle(HttpRequest("HEAD", f"{PREFIX}/oauth2/authorize?{authorize_query()}")).status == 200
