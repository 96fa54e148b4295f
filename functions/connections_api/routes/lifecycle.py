"""The data lifecycle (issue 17, R-PRIV-2, R-PRIV-3): the firm's retention, the end of a
relationship (by the firm or the customer), erasure requests and their approval."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.connections_api.routes.lifecycle_models import (
    FirmSettingsIn,
    FirmSettingsOut,
    LeaveIn,
    RelationshipOut,
)
from shared import bootstrap
from shared.api.caller import current_principal, current_staff
from shared.domain.identity import Principal, StaffContext
from shared.services import lifecycle

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

router = Router()
TAGS = ["lifecycle"]
Me = Annotated[Principal, Depends(current_principal)]
Staff = Annotated[StaffContext, Depends(current_staff)]
NOT_REQUESTED: dict[int, OpenAPIResponse] = {
    200: {"description": "The relationship, ended, its erasure due today and queued"},
    409: {"description": "Nobody asked for this erasure (no_erasure_request)"},
}
CustomerId = Annotated[str, Path(min_length=1, max_length=40)]
FirmId = Annotated[str, Path(min_length=1, max_length=40)]
ENDED: dict[int, OpenAPIResponse] = {
    200: {"description": "The relationship, ended"},
    409: {"description": "The relationship has already ended (relationship_ended)"},
}


@router.get("/firm/settings", tags=TAGS, summary="The firm's retention period (admins)")
def get_settings(staff: Staff) -> FirmSettingsOut:
    return FirmSettingsOut.of(lifecycle.firm_settings(bootstrap.lifecycle_for(staff), staff))


@router.put("/firm/settings", tags=TAGS, summary="Change the firm's retention period (admins, audited)")
def put_settings(body: FirmSettingsIn, staff: Staff) -> FirmSettingsOut:
    changed = lifecycle.change_firm_settings(bootstrap.lifecycle_for(staff), staff, body.retention_years)
    return FirmSettingsOut.of(changed)


@router.post(
    "/customers/<customer_id>/end-relationship",
    tags=TAGS,
    summary="Remove the customer from the firm: staff reads stop, admins keep what is retained",
    responses=ENDED,
)
def end_relationship(customer_id: CustomerId, staff: Staff) -> RelationshipOut:
    ended = lifecycle.end_relationship(bootstrap.lifecycle_for(staff), staff, customer_id)
    return RelationshipOut.of(ended)


@router.post(
    "/me/firms/<firm_id>/leave",
    tags=TAGS,
    summary="Leave the firm (the customer): the firm's staff stop reading my data",
    responses=ENDED,
)
def leave(firm_id: FirmId, body: LeaveIn, principal: Me) -> RelationshipOut:
    return RelationshipOut.of(
        lifecycle.leave_firm(bootstrap.lifecycle(), principal, firm_id, erase=body.erase)
    )


@router.post(
    "/customers/<customer_id>/erasure-request",
    tags=TAGS,
    summary="Ask for the customer's erasure before its retention ends (an admin approves)",
)
def request_erasure(customer_id: CustomerId, staff: Staff) -> RelationshipOut:
    requested = lifecycle.request_erasure(bootstrap.lifecycle_for(staff), staff, customer_id)
    return RelationshipOut.of(requested)


@router.post(
    "/customers/<customer_id>/erasure-request/approve",
    tags=TAGS,
    summary="Approve the erasure (admins, audited): every personal item of the customer is deleted",
    responses=NOT_REQUESTED,
)
def approve_erasure(customer_id: CustomerId, staff: Staff) -> RelationshipOut:
    approved = lifecycle.approve_erasure(bootstrap.lifecycle_for(staff), staff, customer_id)
    return RelationshipOut.of(approved)
