"""The whole API's OpenAPI document (merged from every API function by `make openapi`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"


@cache
def _openapi_json() -> str:
    return OPENAPI_FILE.read_text(encoding="utf-8")


@cache
def _swagger_page() -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        spec=_openapi_json(),
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )


@router.get(
    "/openapi.json",
    tags=["platform"],
    summary="This OpenAPI document",
    responses={
        200: {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
def get_openapi() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=_openapi_json())


@router.get(
    "/docs",
    tags=["platform"],
    summary="Swagger UI for this API",
    responses={
        200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    },
)
def get_docs() -> Response[str]:
    return Response(status_code=200, content_type="text/html", body=_swagger_page())
