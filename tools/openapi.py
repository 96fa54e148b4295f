"""Generate the whole API's OpenAPI document from the code of every API function.

`python -m tools.openapi` writes functions/platform_api/openapi.json (served at /openapi.json);
`--check` exits 1 when the committed document differs from the code (a test runs it).
Security comes from infra/spec.py's routes: public routes need nothing, others the JWT.
"""

from __future__ import annotations

import importlib
import json
import sys
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from functions.platform_api.routes.docs import OPENAPI_FILE
from infra.spec import FUNCTIONS, ROUTE_LIMITS, ROUTES
from shared.domain.limits import ACTIONS, DAY, Action

TITLE = "Client data sharing API"
VERSION = "1.0.0"
SCHEME = "cognitoJwt"


def build_document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description="Invite customers, connect bank accounts with consent, import and refresh bank data, "
        "and grant access to client files. Errors are {code, message}.",
        security_schemes={SCHEME: HTTPBearer(bearerFormat="JWT", description="Cognito ID token")},
        on_conflict="error",
    )
    for spec in FUNCTIONS.values():
        if spec.kind == "api":
            module = importlib.import_module(spec.handler.rsplit(".", 1)[0])
            merge.add_schema(module.app.get_openapi_schema(title=TITLE, version=VERSION))
    document = json.loads(merge.get_openapi_json_schema())
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    public = {(r.method.lower(), r.path) for r in ROUTES if r.public}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            is_public = (method, path) in public
            operation["security"] = [] if is_public else [{SCHEME: []}]
            _document_errors(operation["responses"], is_public)
            limits = ROUTE_LIMITS.get(f"{method.upper()} {path}")
            if limits and not is_public:  # a redirect (the callback) says it in its outcome instead
                operation["responses"]["429"] = {"description": _limited(limits), **ERROR_CONTENT}
            if any(
                p["in"] == "header" and p["name"] == "idempotency-key"
                for p in operation.get("parameters", [])
            ):
                operation["responses"].setdefault(
                    "409", {"description": IDEMPOTENCY_CONFLICT, **ERROR_CONTENT}
                )
            if method != "get" and path.startswith(RETAINED_PATHS):
                known = operation["responses"].get("409", {}).get("description")
                described = f"{known}; or: {RELATIONSHIP_ENDED}" if known else RELATIONSHIP_ENDED
                operation["responses"]["409"] = {"description": described, **ERROR_CONTENT}
    return document


# A change under these paths names a customer (its accounts, lines, connections, file): refused with
# 409 once the relationship ended (shared/domain/customers.py `Customer.check_open`, R-PRIV-2).
RETAINED_PATHS = ("/customers/{customer_id}/", "/files/{file_id}", "/firm/connections/{connection_id}/")
RELATIONSHIP_ENDED = (
    "The relationship with the customer has ended (relationship_ended): its records are read-only"
)


IDEMPOTENCY_CONFLICT = (
    "The Idempotency-Key was used with another request (idempotency_key_reused), or its first request is "
    "still in progress (request_in_progress)"
)
ERROR_CONTENT = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "Stable machine-readable code"},
        "message": {"type": "string", "description": "Human-readable explanation"},
        "details": {"type": "array", "items": {"type": "object"}, "description": "Invalid fields, if any"},
        "reset_at": {
            "type": "string",
            "format": "date-time",
            "description": "With a 429 from a provider's limit: when the next call is possible "
            "(Retry-After gives the seconds until then)",
        },
    },
}


def _limited(actions: tuple[str, ...]) -> str:
    """The 429 of a route whose use case spends abuse limits (shared/domain/limits.py)."""
    limits = [limit for action in actions for limit in ACTIONS[Action(action)]]
    each = "; ".join(
        f"{limit.what}: {limit.count} per {limit.subject.value} per {_window(limit.window)}"
        for limit in limits
    )
    held = (
        " Also while the provider's own limit holds the connection (reset_at)."
        if "connection_call" in actions
        else ""
    )
    return (
        f"Beyond an abuse limit (rate_limited; Retry-After: the seconds until it resets; nothing was done). "
        f"Limits: {each}.{held}"
    )


def _window(window: timedelta) -> str:
    return "day" if window == DAY else "hour"


def _document_errors(responses: dict[str, Any], is_public: bool) -> None:
    """Our error body replaces Powertools' default 422: invalid input is a 400 {code, message}.

    Every error we answer has the Error body (Powertools would give a route's own error responses its
    return model), except the JWT authorizer's 401; a 204 or a redirect has no body at all.
    """
    responses.pop("422", None)
    error = ERROR_CONTENT
    for status, response in responses.items():
        if int(status) >= 400:
            response.update(error)
        elif int(status) == 204 or 300 <= int(status) < 400:
            response.pop("content", None)
    responses["400"] = {"description": "Invalid request", **error}
    if not is_public:
        responses["401"] = {"description": "Missing or invalid token (from the JWT authorizer)"}
        responses["403"] = {"description": "Not allowed for your role", **error}
        responses["404"] = {"description": "Not found (or another tenant's)", **error}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render(build_document())
    if "--check" in argv:
        if not OPENAPI_FILE.exists() or OPENAPI_FILE.read_text(encoding="utf-8") != text:
            print(f"{OPENAPI_FILE} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OPENAPI_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
