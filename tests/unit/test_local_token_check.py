"""The pool's pre token generation trigger on `make run` (issue 17, R-ID-4): moto runs no trigger, so the
local gateway runs the same function once per token issue, before its first request reaches a route, with
the event Cognito documents (events/cognito/pre_token_generation_v1.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.spec import SIGN_IN_CHECK, Route
from local.authorizer import JwtAuthorizer
from local.gateway import ApiGateway
from local.http_types import Headers, HttpRequest
from local.routing import RouteTable
from local.token_check import TokenIssueChecks, pre_token_event
from tests.token_issuer import CLIENT_ID, ISSUER, KeyIssuer

POOL_ISSUER = "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_abcDEF123"
DOCUMENTED = Path(__file__).parents[2] / "events" / "cognito" / "pre_token_generation_v1.json"
SAM = {"sub": "sam-sub", "email": "sam@example.org", "name": "Sam"}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    return KeyIssuer.load_or_create(tmp_path_factory.mktemp("issuer") / "key.pem")


class Functions:
    """Every invocation, by function; the trigger fails when told to."""

    def __init__(self, trigger_fails: bool = False) -> None:
        self.invoked: list[tuple[str, dict[str, Any]]] = []
        self._trigger_fails = trigger_fails

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        self.invoked.append((name, event))
        if name == SIGN_IN_CHECK:
            if self._trigger_fails:
                raise RuntimeError("the trigger failed")
            return event
        return {"statusCode": 200, "body": "ok"}

    def triggers(self) -> list[dict[str, Any]]:
        return [event for name, event in self.invoked if name == SIGN_IN_CHECK]


def gateway(issuer: KeyIssuer, functions: Functions) -> ApiGateway:
    routes = RouteTable([Route("GET", "/health", "platform", public=True), Route("GET", "/me", "platform")])
    authorizer = JwtAuthorizer(ISSUER, [CLIENT_ID], issuer.jwks())
    return ApiGateway(routes, authorizer, functions.invoke, on_token=TokenIssueChecks(functions.invoke).check)


def get(path: str, token: str | None = None) -> HttpRequest:
    headers = [("Host", "127.0.0.1:3000"), *([("Authorization", f"Bearer {token}")] if token else [])]
    return HttpRequest("GET", path, Headers(headers))


def shape(value: Any) -> Any:
    """The keys of a JSON document, all the way down (values aside)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__ if value is not None else None


def test_the_event_is_the_documented_v1_event_for_the_token_s_pool_client_and_person():
    claims = {
        "iss": POOL_ISSUER,
        "aud": "client-1",
        "sub": "sam-sub",
        "cognito:username": "sam-sub",
        "email": "sam@example.org",
        "origin_jti": "o-1",
        "iat": 1,
    }
    event = pre_token_event(claims)
    assert shape(event) == shape(json.loads(DOCUMENTED.read_text(encoding="utf-8")))
    assert (event["region"], event["userPoolId"], event["userName"]) == (
        "eu-west-2",
        "eu-west-2_abcDEF123",
        "sam-sub",
    )
    assert event["callerContext"]["clientId"] == "client-1"
    assert event["request"]["userAttributes"]["sub"] == "sam-sub"


def test_each_token_issue_is_checked_once_before_its_first_request_reaches_a_route(issuer):
    functions = Functions()
    api = gateway(issuer, functions)
    first = issuer.id_token(**SAM, origin_jti="sign-in-1", iat=1_700_000_000)
    refreshed = issuer.id_token(**SAM, origin_jti="sign-in-1", iat=1_700_003_600)

    for token in (first, first, refreshed, refreshed):
        assert api.handle(get("/me", token)).status == 200

    names = [name for name, _ in functions.invoked]
    assert names == [SIGN_IN_CHECK, "platform", "platform", SIGN_IN_CHECK, "platform", "platform"]
    assert [e["request"]["userAttributes"]["sub"] for e in functions.triggers()] == ["sam-sub", "sam-sub"]


def test_a_public_route_runs_no_check(issuer):
    functions = Functions()
    assert gateway(issuer, functions).handle(get("/health")).status == 200
    assert functions.triggers() == []


def test_a_failed_check_refuses_the_token_as_cognito_would_issue_none(issuer):
    functions = Functions(trigger_fails=True)
    api = gateway(issuer, functions)
    token = issuer.id_token(**SAM, origin_jti="sign-in-2")
    assert api.handle(get("/me", token)).status == 401
    assert api.handle(get("/me", token)).status == 401  # not remembered as checked: tried again
    assert [name for name, _ in functions.invoked] == [SIGN_IN_CHECK, SIGN_IN_CHECK]
