"""The local API Gateway HTTP API: route, authorize, build the event, invoke, respond."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from local.api_events import claims_as_strings, http_api_event, http_response, new_request_id
from local.authorizer import JwtAuthorizer, Unauthorized
from local.http_types import HttpRequest, HttpResponse, json_response
from local.routing import RouteTable
from shared.clock import Now
from shared.clock import now as business_now

log = logging.getLogger("local.gateway")

Invoke = Callable[[str, Any], Any]  # (function name, event) -> result
OnToken = Callable[[dict[str, Any]], None]  # a valid token's claims; raises to refuse it


class ApiGateway:
    def __init__(
        self,
        routes: RouteTable,
        authorizer: JwtAuthorizer,
        invoke: Invoke,
        clock: Now = business_now,
        on_token: OnToken | None = None,
    ):
        """`on_token`: what the user pool runs before it issues a token (its trigger,
        `local/token_check.py`), which moto does not run."""
        self._routes = routes
        self._authorizer = authorizer
        self._invoke = invoke
        self._clock = clock
        self._on_token = on_token

    def handle(self, request: HttpRequest) -> HttpResponse:
        match = self._routes.match(request.method, request.raw_path)
        if match is None:
            return json_response(404, {"message": "Not Found"})
        request_id = new_request_id()
        trace = [("apigw-requestid", request_id)]
        claims = None
        if not match.route.public:
            try:
                claims = self._authorizer.claims(request.headers.get("authorization"))
            except Unauthorized as refusal:
                challenge = [] if "authorization" not in request.headers else [_challenge(str(refusal))]
                return json_response(401, {"message": "Unauthorized"}, [*challenge, *trace])
            if self._on_token is not None:
                try:
                    self._on_token(claims)
                except Exception:
                    log.exception("the token's issue failed its check (request %s)", request_id)
                    return json_response(401, {"message": "Unauthorized"}, trace)
        event = http_api_event(
            request,
            match,
            request_id=request_id,
            now=self._clock(),
            jwt_claims=None if claims is None else claims_as_strings(claims),
            scopes=None if claims is None else _scopes(claims),
        )
        try:
            response = http_response(self._invoke(match.route.function, event))
        except Exception:
            log.exception("%s failed on %s (request %s)", match.route.function, match.route_key, request_id)
            return json_response(500, {"message": "Internal Server Error"}, trace)
        return HttpResponse(response.status, [*response.headers, *trace], response.body)


def _challenge(description: str) -> tuple[str, str]:
    return ("www-authenticate", f'Bearer scope="" error="invalid_token" error_description="{description}"')


def _scopes(claims: dict[str, Any]) -> list[str] | None:
    scope = claims.get("scope", claims.get("scp"))
    if scope is None:
        return None
    return scope.split() if isinstance(scope, str) else [str(item) for item in scope]
