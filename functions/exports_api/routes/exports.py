"""CSV exports (issue 16 item 8): request one (202; export_worker writes it), then read its status
and, once done, a download URL valid 15 minutes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.exports_api.routes.models import AuditExportIn, ExportOut, TransactionsExportIn
from shared import bootstrap
from shared.api.caller import current_staff
from shared.api.idempotency import IdempotentCommand, idempotent_command, key_scope
from shared.domain.exports import Export
from shared.domain.identity import StaffContext
from shared.services import exports
from shared.services.exports import ExportView

router = Router()
TAGS = ["exports"]
Staff = Annotated[StaffContext, Depends(current_staff)]
IdempotencyKey = Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=255)]
QUEUED: dict[int, OpenAPIResponse] = {202: {"description": "Queued: follow it with GET /exports/{export_id}"}}


@router.post(
    "/customers/<customer_id>/exports",
    tags=TAGS,
    summary="Export a customer's transactions as CSV (staff who see the customer)",
    responses=QUEUED,
)
def export_transactions(
    customer_id: Annotated[str, Path(min_length=1, max_length=40)],
    body: TransactionsExportIn,
    staff: Staff,
    idempotency_key: IdempotencyKey = None,
) -> Response[ExportOut]:
    ports = bootstrap.exports_for(staff)
    return _queued(
        staff,
        idempotency_key,
        {"export": "transactions", "customer_id": customer_id, **body.model_dump(mode="json", by_alias=True)},
        lambda: exports.request_transactions_export(ports, staff, customer_id, body.to_filter()),
    )


@router.post(
    "/audit/exports", tags=TAGS, summary="Export the firm's audit log as CSV (admins)", responses=QUEUED
)
def export_audit_log(
    body: AuditExportIn, staff: Staff, idempotency_key: IdempotencyKey = None
) -> Response[ExportOut]:
    ports = bootstrap.exports_for(staff)
    return _queued(
        staff,
        idempotency_key,
        {"export": "audit", **body.model_dump(mode="json", by_alias=True)},
        lambda: exports.request_audit_export(ports, staff, body.customer_id, body.to_filter()),
    )


@router.get("/exports/<export_id>", tags=TAGS, summary="An export's status; once done, its download URL")
def get_export(export_id: Annotated[str, Path(min_length=1, max_length=40)], staff: Staff) -> ExportOut:
    return ExportOut.of(exports.view_export(bootstrap.exports_for(staff), staff, export_id))


def _queued(
    staff: StaffContext, key: str | None, payload: dict[str, Any], request: Callable[[], Export]
) -> Response[ExportOut]:
    """The request run once per Idempotency-Key (a replay answers the first export); 202."""

    @idempotent_command
    def request_export(command: IdempotentCommand) -> dict[str, Any]:
        export = request()
        return ExportOut.of(ExportView(export, export.status, None)).model_dump(mode="json", by_alias=True)

    command = IdempotentCommand(
        actor_id=key_scope(staff.firm_id, staff.principal.user_id), idempotency_key=key, payload=payload
    )
    body = ExportOut.model_validate(request_export(command))
    return Response(status_code=202, content_type="application/json", body=body)
