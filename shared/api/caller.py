"""Route dependencies that say who is calling (use with Annotated[..., Depends(...)])."""

from __future__ import annotations

from typing import Annotated, cast

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shared import bootstrap
from shared.auth import principal_from_claims, staff_context
from shared.domain.identity import Principal, StaffContext

FIRM_HEADER = "x-firm-id"


def current_principal(request: Request) -> Principal:
    event = cast(APIGatewayProxyEventV2, request.resolved_event)
    return principal_from_claims(event.request_context.authorizer.jwt_claim)


def named_firm(request: Request) -> str | None:
    """The firm the caller names in X-Firm-Id (staff of several firms), or None: the only reader
    of the header; whether the caller belongs to that firm is decided by the policies."""
    return request.headers.get(FIRM_HEADER) or None


def current_staff(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> StaffContext:
    return staff_context(principal, bootstrap.identity_repository(), named_firm(request))
