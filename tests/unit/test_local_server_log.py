"""The local server's request line names a refusal's stable code, and nothing else of the body."""

from __future__ import annotations

import json

import pytest

from local.http_types import HttpResponse, json_response
from local.server import error_code


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (json_response(403, {"code": "mfa_required", "message": "Set up an app"}), "mfa_required"),
        (json_response(404, {"code": "not_found", "message": "No such customer."}), "not_found"),
        (json_response(401, {"message": "Unauthorized"}), ""),  # API Gateway's body has no code
        (json_response(200, {"code": "ok"}), ""),  # only refusals
        (json_response(500, {"code": "internal_error"}), ""),  # 5xx are logged with their traceback
        (json_response(400, {"code": "Jane.Doe@example.org"}), ""),  # not an identifier: not logged
        (json_response(400, {"code": 7}), ""),
        (json_response(400, ["code"]), ""),
        (HttpResponse(400, [], b"{not json"), ""),
        (HttpResponse(400, [], b"plain text"), ""),
    ],
)
def test_only_an_identifier_code_of_a_4xx_json_body_is_read(response: HttpResponse, expected: str) -> None:
    assert error_code(response) == expected


def test_a_long_code_is_not_logged() -> None:
    body = json.dumps({"code": "a" * 65}).encode()
    assert error_code(HttpResponse(409, [], body)) == ""
