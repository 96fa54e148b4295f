from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.refresh_api.routes.models import EulaDocumentOut, EulaIn, EulaOut
from shared import bootstrap
from shared.api.caller import current_principal
from shared.domain.identity import Principal
from shared.services import refresh

router = Router()


@router.get(
    "/eula",
    tags=["data refresh"],
    summary="The current Data Refresh EULA: its version, its text, and whether you accepted it (R-REF-5)",
)
def read_eula(principal: Annotated[Principal, Depends(current_principal)]) -> EulaDocumentOut:
    return EulaDocumentOut.of(refresh.current_eula(bootstrap.refresh(), principal))


@router.post(
    "/me/eula",
    tags=["data refresh"],
    summary="Accept the current Data Refresh EULA (the customer, R-REF-5)",
    responses={
        200: {"description": "Accepted (the first acceptance's time and version are kept)"},
        409: {"description": "Not the current version (eula_version_outdated)"},
    },
)
def accept_eula(body: EulaIn, principal: Annotated[Principal, Depends(current_principal)]) -> EulaOut:
    return EulaOut.of(refresh.accept_eula(bootstrap.refresh(), principal, body.version))
