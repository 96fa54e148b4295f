"""The HTTP API payload 2.0 event the local gateway builds, and the response it makes of a
handler's result; checked against Powertools' own parsing and resolver."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from infra.spec import Route
from local.api_events import claims_as_strings, http_api_event, http_response, query_string_parameters
from local.http_types import Headers, HttpRequest
from local.routing import RouteTable

NOW = datetime(2026, 11, 22, 9, 5, 7, 123000, tzinfo=UTC)
ROUTES = RouteTable([Route("POST", "/customers/{customer_id}/notes", "notes")])


def request(body=b"", content_type="application/json", target="/customers/c%201/notes?tag=a&tag=b&q=x%20y"):
    headers = [
        ("Host", "127.0.0.1:3000"),
        ("User-Agent", "curl/8.5.0"),
        ("Cookie", "a=1; b=2"),
        ("X-Multi", "one"),
        ("X-Multi", "two"),
        ("Content-Type", content_type),
    ]
    return HttpRequest("POST", target, Headers(headers), body, source_ip="127.0.0.9")


def event_for(http_request, claims=None):
    match = ROUTES.match(http_request.method, http_request.raw_path)
    assert match is not None
    return http_api_event(http_request, match, request_id="req-1", now=NOW, jwt_claims=claims)


def test_the_event_has_the_payload_2_shape():
    event = event_for(request(b'{"text": "hi"}'), claims={"sub": "u-1", "email_verified": "true"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /customers/{customer_id}/notes"
    assert event["rawPath"] == "/customers/c%201/notes"
    assert event["rawQueryString"] == "tag=a&tag=b&q=x%20y"
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y"}
    assert event["pathParameters"] == {"customer_id": "c 1"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["user-agent"] == "curl/8.5.0"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.9"
    assert (event["body"], event["isBase64Encoded"]) == ('{"text": "hi"}', False)
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/customers/c%201/notes",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.9",
        "userAgent": "curl/8.5.0",
    }
    assert (context["stage"], context["routeKey"], context["requestId"]) == (
        "$default",
        event["routeKey"],
        "req-1",
    )
    assert context["time"] == "22/Nov/2026:09:05:07 +0000"
    assert context["timeEpoch"] == 1795338307123
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["accountId"] == "123456789012"
    assert context["authorizer"] == {
        "jwt": {"claims": {"sub": "u-1", "email_verified": "true"}, "scopes": None}
    }


def test_powertools_reads_the_event():
    event = APIGatewayProxyEventV2(event_for(request(b"{}"), claims={"sub": "u-1"}))
    assert event.request_context.authorizer.jwt_claim == {"sub": "u-1"}
    assert event.path_parameters == {"customer_id": "c 1"}
    assert event.headers.get("X-MULTI") == "one,two"
    assert event.cookies == ["a=1", "b=2"]


def test_a_public_route_has_no_authorizer_and_an_empty_request_has_no_optional_fields():
    event = event_for(request(target="/customers/c/notes", content_type=""))
    assert "authorizer" not in event["requestContext"]
    assert "body" not in event and event["isBase64Encoded"] is False
    assert "queryStringParameters" not in event


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("application/json; charset=utf-8", False),
        ("text/csv", False),
        ("application/xml", False),
        ("application/x-www-form-urlencoded", True),  # as HTTP APIs do
        ("application/octet-stream", True),
        ("", True),
    ],
)
def test_bodies_are_base64_encoded_unless_text(content_type, encoded):
    event = event_for(request(b"a=1", content_type=content_type))
    assert event["isBase64Encoded"] is encoded
    assert event["body"] == (base64.b64encode(b"a=1").decode() if encoded else "a=1")


def test_invalid_utf8_in_a_text_body_is_base64_encoded():
    event = event_for(request(b"\xff\xfe"))
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xfe"


def test_repeated_query_parameters_are_comma_joined_and_blank_values_kept():
    assert query_string_parameters("a=1&a=2&b=&c=%2C") == {"a": "1,2", "b": "", "c": ","}


def test_claims_are_passed_as_strings():
    claims = {"exp": 1700000000, "email_verified": True, "cognito:groups": ["a", "b"], "sub": "u"}
    assert claims_as_strings(claims) == {
        "exp": "1700000000",
        "email_verified": "true",
        "cognito:groups": "[a b]",
        "sub": "u",
    }


def test_a_full_response_is_translated():
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-A": "1"},
            "cookies": ["s=1; HttpOnly", "t=2"],
            "body": '{"ok":true}',
            "isBase64Encoded": False,
        }
    )
    assert response.status == 201
    assert ("Content-Type", "application/json") in response.headers
    assert [v for n, v in response.headers if n == "set-cookie"] == ["s=1; HttpOnly", "t=2"]
    assert response.body == b'{"ok":true}'


def test_a_base64_response_body_is_decoded():
    body = base64.b64encode(b"\x00\x01").decode()
    assert http_response({"statusCode": 200, "body": body, "isBase64Encoded": True}).body == b"\x00\x01"


def test_a_result_without_status_code_is_a_200_json_body():
    response = http_response({"hello": "world"})
    assert response.status == 200
    assert response.headers == [("content-type", "application/json")]
    assert json.loads(response.body) == {"hello": "world"}


@pytest.mark.parametrize(
    "result", [{"statusCode": "200"}, {"statusCode": 99}, {"statusCode": 200, "body": {"a": 1}}]
)
def test_a_malformed_response_is_refused(result):
    with pytest.raises(ValueError):
        http_response(result)


def test_a_powertools_http_api_app_answers_through_the_event_and_response():
    app = APIGatewayHttpResolver()

    @app.post("/customers/<customer_id>/notes")
    def add_note(customer_id: str) -> dict[str, str]:
        claims = app.current_event.request_context.authorizer.jwt_claim
        return {"customer": customer_id, "sub": claims["sub"], "text": app.current_event.json_body["text"]}

    event = event_for(request(b'{"text": "hi"}', target="/customers/c-1/notes"), claims={"sub": "u-1"})
    response = http_response(app.resolve(event, None))
    assert response.status == 200
    assert json.loads(response.body) == {"customer": "c-1", "sub": "u-1", "text": "hi"}
