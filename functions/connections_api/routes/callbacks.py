"""The bank's redirect back to us (no JWT): trust nothing in it but our reference."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from shared import bootstrap
from shared.services import connection_consents

router = Router()


@router.get(
    "/callbacks/gocardless",
    tags=["connections"],
    summary="Where the bank sends the customer back (no authentication)",
    responses={302: {"description": "To the web app's page for the outcome"}},
)
def gocardless_callback(
    ref: Annotated[str, Query(max_length=128)] = "",
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response[None]:
    # `error` is informational only: the requisition read server-side decides the outcome.
    target = connection_consents.callback_redirect(bootstrap.connections(), ref)
    return Response(status_code=302, headers={"Location": target, "Cache-Control": "no-store"})
