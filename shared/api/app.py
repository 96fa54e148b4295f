"""One way to build an API function's resolver, with one error body shape.

Errors are `{"code": <stable code>, "message": <human text>}` (+ `details` for invalid
input), mapped from domain errors here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import DependencyResolutionError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from shared.domain.errors import DomainError, RateLimited
from shared.domain.input_rules import parse_json_body
from shared.observability import logger


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    headers: dict[str, str] = {}
    retry_after = extra.pop("retry_after_seconds", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(
        status_code=status,
        content_type="application/json",
        body={"code": code, "message": message, **extra},
        headers=headers,
    )


def _domain_error(error: DomainError) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(error, RateLimited):
        extra["retry_after_seconds"] = error.retry_after_seconds
        reset_at = getattr(error, "reset_at", None)  # a provider's reset, when known
        if isinstance(reset_at, datetime):
            extra["reset_at"] = reset_at.isoformat()  # the body says when the next call is possible
    return error_response(error.status, error.code, error.message, **extra)


def _invalid_body(reason: str) -> Response:
    return error_response(
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        "The request is not valid.",
        details=[{"location": ["body"], "reason": reason}],
    )


def create_app(*routers: Router) -> APIGatewayHttpResolver:
    # Every JSON body is read within the size and depth limits (400 body_too_large / body_too_deep).
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json_body)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(DomainError)
    def on_domain_error(error: DomainError) -> Response:
        return _domain_error(error)

    @app.exception_handler(DependencyResolutionError)
    def on_dependency_error(error: DependencyResolutionError) -> Response:
        # Dependencies (the caller, their firm) raise domain errors; Powertools wraps them.
        if isinstance(error.__cause__, DomainError):
            return _domain_error(error.__cause__)
        logger.exception("Dependency failed")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong.")

    @app.exception_handler(RequestValidationError)
    def on_invalid_request(error: RequestValidationError) -> Response:
        # Location and reason only: never echo the submitted values (they may be personal data).
        details = [{"location": list(e.get("loc", ())), "reason": e.get("msg", "")} for e in error.errors()]
        return error_response(
            HTTPStatus.BAD_REQUEST, "invalid_request", "The request is not valid.", details=details
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def on_unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
        return _invalid_body("The request body must be JSON (Content-Type: application/json).")

    @app.exception_handler(ValueError)
    def on_value_error(error: ValueError) -> Response:
        # Powertools reads the body before any route runs: bytes that are not UTF-8 or a multipart
        # body without a boundary are the caller's invalid input. Any other ValueError is ours.
        if isinstance(error, UnicodeDecodeError):
            return _invalid_body("The request body must be UTF-8 encoded JSON.")
        content_type = (app.current_event.headers.get("content-type") or "").strip().lower()
        if content_type.startswith("multipart/"):
            return _invalid_body("The request body must be JSON (Content-Type: application/json).")
        return on_unexpected(error)

    @app.not_found
    def on_not_found(_: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "No such route.")

    @app.exception_handler(Exception)
    def on_unexpected(_: Exception) -> Response:
        logger.exception("Unhandled error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong.")

    return app
