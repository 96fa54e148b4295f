"""The local API gateway: routes, the JWT authorizer's decisions, the handler's result."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from infra.spec import Route
from local.authorizer import JwtAuthorizer
from local.gateway import ApiGateway
from local.http_types import Headers, HttpRequest
from local.routing import RouteTable
from tests.token_issuer import CLIENT_ID, ISSUER, KeyIssuer

USER = {"sub": "user-1", "email": "someone@example.com", "name": "Someone"}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    return KeyIssuer.load_or_create(tmp_path_factory.mktemp("issuer") / "key.pem")


@pytest.fixture(scope="module")
def other_issuer(tmp_path_factory):
    return KeyIssuer.load_or_create(tmp_path_factory.mktemp("other") / "key.pem")


class FakeFunctions:
    def __init__(self, result=None, error=None):
        self.events: list[tuple[str, dict]] = []
        self._result = result if result is not None else {"statusCode": 200, "body": "ok"}
        self._error = error

    def invoke(self, name, event):
        self.events.append((name, event))
        if self._error:
            raise self._error
        return self._result


def gateway(issuer, functions):
    routes = RouteTable([Route("GET", "/health", "platform", public=True), Route("GET", "/me", "platform")])
    return ApiGateway(routes, JwtAuthorizer(ISSUER, [CLIENT_ID], issuer.jwks()), functions.invoke)


def get(path, token=None, authorization=None):
    headers = [("Host", "127.0.0.1:3000")]
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    if authorization is not None:
        headers.append(("Authorization", authorization))
    return HttpRequest("GET", path, Headers(headers))


def test_a_valid_token_reaches_the_handler_with_its_claims_as_strings(issuer):
    functions = FakeFunctions()
    response = gateway(issuer, functions).handle(get("/me", issuer.id_token(**USER)))
    assert response.status == 200 and response.body == b"ok"
    name, event = functions.events[0]
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert name == "platform"
    assert claims["sub"] == "user-1" and claims["email"] == "someone@example.com"
    assert claims["email_verified"] == "true" and claims["token_use"] == "id"
    assert claims["iss"] == ISSUER and claims["aud"] == CLIENT_ID
    assert isinstance(claims["exp"], str)
    assert dict(response.headers)["apigw-requestid"] == event["requestContext"]["requestId"]


def test_the_token_is_accepted_without_the_bearer_prefix(issuer):
    response = gateway(issuer, FakeFunctions()).handle(get("/me", authorization=issuer.id_token(**USER)))
    assert response.status == 200


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda i, o: None, id="missing header"),
        pytest.param(lambda i, o: i.id_token(**USER, now=time.time() - 7200), id="expired"),
        pytest.param(lambda i, o: i.id_token(**USER, iss="https://elsewhere.example"), id="wrong issuer"),
        pytest.param(lambda i, o: i.id_token(**USER, aud="another-client"), id="wrong audience"),
        pytest.param(lambda i, o: i.id_token(**USER, nbf=int(time.time()) + 600), id="not yet valid"),
        pytest.param(lambda i, o: i.id_token(**USER, iat=int(time.time()) + 600), id="issued in the future"),
        pytest.param(lambda i, o: o.id_token(**USER), id="unknown kid"),
        pytest.param(lambda i, o: _with_kid(o.id_token(**USER), i.kid), id="bad signature"),
        pytest.param(lambda i, o: _tamper(i.id_token(**USER)), id="tampered payload"),
        pytest.param(
            lambda i, o: jwt.encode(USER, "k" * 32, algorithm="HS256", headers={"kid": i.kid}), id="HMAC"
        ),
        pytest.param(lambda i, o: "not-a-jwt", id="garbage"),
    ],
)
def test_an_invalid_or_missing_token_is_401_and_never_reaches_the_handler(issuer, other_issuer, make_token):
    functions = FakeFunctions()
    response = gateway(issuer, functions).handle(get("/me", make_token(issuer, other_issuer)))
    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}
    assert functions.events == []


def _with_kid(token: str, kid: str) -> str:
    """The token under another key id: its signature no longer matches."""
    _, payload, signature = token.split(".")
    header = jwt.utils.base64url_encode(
        json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode()
    ).decode()
    return f"{header}.{payload}.{signature}"


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["sub"] = "someone-else"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{forged_payload}.{signature}"


def test_client_id_counts_when_there_is_no_aud(issuer):
    now = int(time.time())
    access_token = issuer.sign(
        {"sub": "user-1", "iss": ISSUER, "client_id": CLIENT_ID, "iat": now, "exp": now + 60}
    )
    assert gateway(issuer, FakeFunctions()).handle(get("/me", access_token)).status == 200


def test_a_token_without_exp_is_refused(issuer):
    token = issuer.sign({"sub": "user-1", "iss": ISSUER, "aud": CLIENT_ID})
    assert gateway(issuer, FakeFunctions()).handle(get("/me", token)).status == 401


def test_a_rejected_token_gets_the_reason_in_www_authenticate(issuer):
    response = gateway(issuer, FakeFunctions()).handle(get("/me", issuer.id_token(**USER, aud="x")))
    assert 'error="invalid_token"' in dict(response.headers)["www-authenticate"]


def test_a_public_route_needs_no_token_and_gets_no_authorizer(issuer):
    functions = FakeFunctions()
    assert gateway(issuer, functions).handle(get("/health")).status == 200
    assert "authorizer" not in functions.events[0][1]["requestContext"]


def test_an_unknown_route_is_404_like_api_gateway(issuer):
    response = gateway(issuer, FakeFunctions()).handle(get("/nope"))
    assert response.status == 404 and json.loads(response.body) == {"message": "Not Found"}


def test_a_handler_error_is_a_500_like_api_gateway(issuer):
    response = gateway(issuer, FakeFunctions(error=RuntimeError("boom"))).handle(get("/health"))
    assert response.status == 500 and json.loads(response.body) == {"message": "Internal Server Error"}


def test_a_malformed_handler_response_is_a_500(issuer):
    response = gateway(issuer, FakeFunctions(result={"statusCode": "ok"})).handle(get("/health"))
    assert response.status == 500
