"""One error body shape for every failure, whatever raised it."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from shared.api.app import create_app
from shared.domain.errors import Conflict, RateLimited
from tests.conftest import load_event

router = Router()


class Thing(BaseModel):
    name: str = Field(max_length=5)


@router.post("/things")
def create_thing(thing: Thing) -> dict:
    return {"name": thing.name}


@router.get("/conflict")
def conflict() -> dict:
    raise Conflict("Already a customer.", code="already_customer")


@router.get("/busy")
def busy() -> dict:
    raise RateLimited(retry_after_seconds=30)


@router.get("/boom")
def boom() -> dict:
    raise RuntimeError("secret detail that must not leak")


@router.get("/bug")
def bug() -> dict:
    raise ValueError("a bug of ours, whatever the request's content type")


app = create_app(router)


def call(
    method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict, dict]:
    event = load_event("api/get_health.json")
    event.update(rawPath=path, routeKey=f"{method} {path}", body=body)
    event["headers"].update(headers or {})
    event["requestContext"]["http"].update(method=method, path=path)
    response = app.resolve(event, {})
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_domain_error_keeps_its_code_and_status():
    assert call("GET", "/conflict")[:2] == (
        409,
        {"code": "already_customer", "message": "Already a customer."},
    )


def test_rate_limited_says_when_to_retry():
    status, body, headers = call("GET", "/busy")
    assert status == 429 and body["code"] == "rate_limited"
    assert headers["Retry-After"] == "30"


def test_invalid_body_is_400_and_does_not_echo_input():
    status, body, _ = call("POST", "/things", json.dumps({"name": "far-too-long-value"}))
    assert status == 400 and body["code"] == "invalid_request"
    assert body["details"][0]["location"] == ["body", "name"]
    assert "far-too-long-value" not in json.dumps(body)


def test_malformed_json_is_400():
    status, body, _ = call("POST", "/things", "{not json")
    assert (status, body["code"]) == (400, "invalid_request")


def test_unexpected_error_is_500_without_details():
    status, body, _ = call("GET", "/boom")
    assert (status, body) == (500, {"code": "internal_error", "message": "Something went wrong."})


def test_unknown_route_is_404_json():
    status, body, _ = call("GET", "/nope")
    assert (status, body["code"]) == (404, "route_not_found")


def test_unreadable_bodies_are_400_but_our_own_value_errors_stay_500():
    status, body, _ = call("POST", "/things", "--x--", {"content-type": "multipart/form-data"})
    assert (status, body["code"]) == (400, "invalid_request")
    for content_type in ("application/json", "text/plain"):
        status, body, _ = call("GET", "/bug", None, {"content-type": content_type})
        assert (status, body["code"]) == (500, "internal_error"), content_type
