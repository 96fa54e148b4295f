"""Issue 18: the web app's sign-in on the running local system, through the hosted pages' stand-in
(`/_local/cognito`, local/hosted_ui.py) and the user pool on moto, as a browser and `oidc-client-ts`
make it: the authorize page, the form, the authenticator step, the code for tokens with the PKCE
verifier, and the API accepting what the pool issued.

One `python -m local` for the module (tests/local_system_support.py), spoken to only over HTTP.
The unit tests (tests/unit/test_local_hosted_ui.py) cover each rule on a fake pool; here the pool is
moto's: its passwords, its authenticator codes, its app client's CallbackURLs and LogoutURLs, its
refresh tokens and its GetUser.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from local.demo_data import DEMO_USERS
from local.hosted_ui import PREFIX
from local.user_pool import DEMO_PASSWORD, LocalPool, running_pool, totp_code
from tests.local_system_support import LocalProcess, running_local_system

pytestmark = pytest.mark.slow

ADMIN = next(user.email for user in DEMO_USERS if user.role == "admin")
CUSTOMER = next(user.email for user in DEMO_USERS if user.role == "customer")
STATE = "af0ifjsldkj/+=é&next=https://evil.example"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    with running_local_system(tmp_path_factory.mktemp("hosted-ui")) as running:
        yield running


@pytest.fixture(scope="module")
def pool(local: LocalProcess) -> LocalPool:
    return running_pool(local.port)


@pytest.fixture(scope="module")
def web(local: LocalProcess) -> Iterator[httpx.Client]:
    """A browser's view: no redirect followed, so each 302 is seen."""
    with httpx.Client(base_url=local.base_url, follow_redirects=False, timeout=15) as client:
        yield client


@pytest.fixture(scope="module")
def config(web: httpx.Client) -> dict[str, str]:
    """What the app is configured with: the stand-in's metadata (its local URLs)."""
    response = web.get(f"{PREFIX}/.well-known/openid-configuration")
    assert response.status_code == 200
    return dict(response.json())


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def callback(local: LocalProcess) -> str:
    return f"{local.base_url}/app/auth/callback"


def authorize(
    web: httpx.Client, local: LocalProcess, pool: LocalPool, challenge: str, **changes: str
) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": pool.client_id,
        "redirect_uri": callback(local),
        "state": STATE,
        "scope": "openid email profile",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    } | changes
    return web.get(f"{PREFIX}/oauth2/authorize", params=params)


def action_of(page: httpx.Response) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert found, page.text
    return unescape(found.group(1))


def submit_password(web: httpx.Client, page: httpx.Response, email: str, password: str) -> httpx.Response:
    assert page.status_code == 200, page.text
    return web.post(action_of(page), data={"username": email, "password": password})


def code_from(local: LocalProcess, redirect: httpx.Response) -> str:
    assert redirect.status_code == 302, redirect.text
    location = redirect.headers["location"]
    assert location.startswith(callback(local) + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [STATE]  # unchanged
    return query["code"][0]


def exchange(
    web: httpx.Client, local: LocalProcess, pool: LocalPool, code: str, verifier: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": callback(local),
        "client_id": pool.client_id,
        "code_verifier": verifier,
    }
    return web.post(f"{PREFIX}/oauth2/token", data=form)


def signed_in_code(web: httpx.Client, local: LocalProcess, pool: LocalPool, challenge: str) -> str:
    page = authorize(web, local, pool, challenge)
    return code_from(local, submit_password(web, page, CUSTOMER, DEMO_PASSWORD))


def test_the_pkce_dance_gives_tokens_the_api_accepts(web, local, pool, config):
    assert config["authorization_endpoint"] == f"{local.base_url}{PREFIX}/oauth2/authorize"
    assert config["issuer"] == pool.issuer
    verifier, challenge = pkce()
    page = authorize(web, local, pool, challenge)
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert '<label for="email">' in page.text and '<label for="password">' in page.text
    code = code_from(local, submit_password(web, page, CUSTOMER, DEMO_PASSWORD))
    response = exchange(web, local, pool, code, verifier)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    for kind in ("access_token", "id_token"):  # the gateway's JWT authorizer accepts both
        me = web.get("/me", headers={"authorization": f"Bearer {tokens[kind]}"})
        assert me.status_code == 200, (kind, me.text)
    me = web.get("/me", headers={"authorization": f"Bearer {tokens['id_token']}"}).json()
    assert me["customer_of"]  # the demo customer
    info = web.get(f"{PREFIX}/oauth2/userInfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.json()["email"] == CUSTOMER and info.json()["sub"] == me["user_id"]
    assert exchange(web, local, pool, code, verifier).json() == {"error": "invalid_grant"}  # once only


def test_staff_answer_their_authenticator_code(web, local, pool):
    verifier, challenge = pkce()
    page = submit_password(web, authorize(web, local, pool, challenge), ADMIN, DEMO_PASSWORD)
    assert page.status_code == 200 and '<label for="code">' in page.text
    handle = re.search(r'name="session" value="([^"]+)"', page.text).group(1)
    current = totp_code(pool.totp_secret)
    wrong = web.post(action_of(page), data={"session": handle, "code": f"{(int(current) + 1) % 10**6:06d}"})
    assert wrong.status_code == 400 and "location" not in wrong.headers
    assert "That code is not right" in unescape(wrong.text)
    answered = web.post(action_of(wrong), data={"session": handle, "code": totp_code(pool.totp_secret)})
    if answered.status_code == 400:  # computed at the end of its 30 s, checked in the next
        answered = web.post(
            action_of(answered), data={"session": handle, "code": totp_code(pool.totp_secret)}
        )
    tokens = exchange(web, local, pool, code_from(local, answered), verifier).json()
    me = web.get("/me", headers={"authorization": f"Bearer {tokens['id_token']}"}).json()
    assert me["staff_of"] and me["mfa_enrolled"] is True


def test_a_wrong_password_gets_the_form_again_and_no_code(web, local, pool):
    _, challenge = pkce()
    response = submit_password(web, authorize(web, local, pool, challenge), CUSTOMER, "Wrong-Passw0rd!")
    assert response.status_code == 400 and "location" not in response.headers
    assert 'role="alert"' in response.text and "Incorrect email address or password." in response.text
    assert "Wrong-Passw0rd!" not in response.text


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "not-the-pools-client"},
        {"redirect_uri": "https://evil.example/app/auth/callback"},
        {"redirect_uri": "http://127.0.0.1:1/app/auth/callback"},  # another port: another origin
    ],
)
def test_an_unknown_client_or_unregistered_redirect_is_a_page_not_a_redirect(web, local, pool, changes):
    _, challenge = pkce()
    response = authorize(web, local, pool, challenge, **changes)
    assert response.status_code == 400 and "location" not in response.headers
    assert "evil" not in response.text and "This sign-in link is not valid" in response.text


def test_a_wrong_verifier_spends_the_code(web, local, pool):
    verifier, challenge = pkce()
    code = signed_in_code(web, local, pool, challenge)
    wrong = exchange(web, local, pool, code, pkce()[0])
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant"})
    assert exchange(web, local, pool, code, verifier).json() == {"error": "invalid_grant"}


def test_a_refresh_token_gets_new_tokens_from_the_pool(web, local, pool):
    verifier, challenge = pkce()
    tokens = exchange(web, local, pool, signed_in_code(web, local, pool, challenge), verifier).json()
    form = {
        "grant_type": "refresh_token",
        "client_id": pool.client_id,
        "refresh_token": tokens["refresh_token"],
    }
    refreshed = web.post(f"{PREFIX}/oauth2/token", data=form)
    assert refreshed.status_code == 200 and "refresh_token" not in refreshed.json()
    assert refreshed.json()["id_token"] != tokens["id_token"]
    assert (
        web.get("/me", headers={"authorization": f"Bearer {refreshed.json()['id_token']}"}).status_code == 200
    )
    made_up = web.post(f"{PREFIX}/oauth2/token", data=form | {"refresh_token": "made-up"})
    assert (made_up.status_code, made_up.json()) == (400, {"error": "invalid_grant"})


def test_logout_goes_back_only_to_a_registered_sign_out_url(web, local, pool):
    signed_out = f"{local.base_url}/app/auth/signed-out"
    done = web.get(f"{PREFIX}/logout", params={"client_id": pool.client_id, "logout_uri": signed_out})
    assert done.status_code == 302 and done.headers["location"] == signed_out
    refused = web.get(
        f"{PREFIX}/logout", params={"client_id": pool.client_id, "logout_uri": "https://evil.example/"}
    )
    assert refused.status_code == 400 and "location" not in refused.headers


def test_a_code_older_than_five_minutes_is_refused(web, local, pool):
    """The stand-in's codes age on the local system's business clock, moved here (forward only:
    nothing else in this module depends on the clock)."""
    verifier, challenge = pkce()
    code = signed_in_code(web, local, pool, challenge)
    assert web.post("/_local/clock", json={"advance": "PT5M1S"}).status_code == 200
    expired = exchange(web, local, pool, code, verifier)
    assert (expired.status_code, expired.json()) == (400, {"error": "invalid_grant"})
    fresh_verifier, fresh_challenge = pkce()
    fresh = exchange(web, local, pool, signed_in_code(web, local, pool, fresh_challenge), fresh_verifier)
    assert fresh.status_code == 200


def test_no_password_code_state_or_token_reaches_the_log(web, local, pool):
    verifier, challenge = pkce()
    code = signed_in_code(web, local, pool, challenge)
    tokens = exchange(web, local, pool, code, verifier).json()
    output = local.output()
    assert f"POST {PREFIX}/oauth2/token -> 200" in output  # the requests are logged, by path only
    # (not the demo password: the start banner prints it on purpose)
    for secret in (
        code,
        verifier,
        challenge,
        tokens["access_token"],
        urlencode({"s": STATE})[2:],
    ):
        assert secret not in output
