"""API Gateway HTTP API payload format 2.0: the event a Lambda integration receives and the
response it returns, translated from and to HTTP."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local.fake_aws import ACCOUNT_ID
from local.http_types import HttpRequest, HttpResponse
from local.routing import RouteMatch

API_ID = "local"
API_STAGE = "$default"
# Measured on AWS: HTTP APIs pass these bodies as text and base64-encode every other one,
# including application/x-www-form-urlencoded and a body without a Content-Type.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_request_id() -> str:
    """Shaped like API Gateway's (base64, 16 characters)."""
    return base64.b64encode(secrets.token_bytes(11)).decode()


def http_api_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    request_id: str,
    now: datetime,
    jwt_claims: Mapping[str, str] | None = None,
    scopes: list[str] | None = None,
) -> dict[str, Any]:
    """The event for `request` on the matched route; `jwt_claims` for a route with the JWT authorizer."""
    headers = {name: value for name, value in request.headers.items() if name != "cookie"}
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    host = request.headers.get("host", "")
    headers.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    route_key = match.route_key
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": API_STAGE,
        "time": _clf_time(now),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if jwt_claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": dict(jwt_claims), "scopes": scopes}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
    }
    if "cookie" in request.headers:
        event["cookies"] = [c.strip() for c in request.headers["cookie"].split(";") if c.strip()]
    query = query_string_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    event["requestContext"] = request_context
    event.update(_body_fields(request.body, request.headers.get("content-type", "")))
    return event


def query_string_parameters(raw_query: str) -> dict[str, str]:
    """Decoded parameters; a repeated name's values are comma-joined, as payload 2.0 does."""
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def claims_as_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as the JWT authorizer passes them on: every value a string (`true`, `1700000000`,
    lists as `[a b]`)."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "[" + " ".join(text(item) for item in value) + "]"
        if isinstance(value, dict):
            return json.dumps(value, separators=(",", ":"))
        return str(value)

    return {name: text(value) for name, value in claims.items()}


def http_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a Lambda result (payload format 2.0).

    A result without `statusCode` is sent as a 200 JSON body. Raises ValueError for a
    malformed response, which API Gateway answers with a 500.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, [("content-type", "application/json")], json.dumps(result).encode())
    status = result["statusCode"]
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"invalid statusCode {status!r}")
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise ValueError("body must be a string")
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return HttpResponse(status, headers, payload)


def _body_fields(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {"isBase64Encoded": False}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES:
        try:
            return {"body": body.decode(), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def _clf_time(now: datetime) -> str:
    """`22/Nov/2026:09:00:00 +0000`, in English whatever the process locale."""
    now = now.astimezone(UTC)
    return f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000"
