"""The grantee's side: check and accept a file invitation, list my files (R-ACC-3, R-INV-2)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.access_api.routes.models import FileInvitationCheckOut, FileTokenIn, MyFileOut, MyFilesOut
from shared import bootstrap
from shared.api.caller import current_principal
from shared.domain.identity import Principal
from shared.services import file_access

router = Router()
TAGS = ["client file access"]
Me = Annotated[Principal, Depends(current_principal)]
INVALID: dict[int, OpenAPIResponse] = {
    404: {"description": "Wrong, used or expired token: one answer (invitation_invalid)"}
}


@router.post(
    "/file-invitations/verify",
    tags=TAGS,
    summary="Check a file invitation token before signing in (no authentication)",
    responses={200: {"description": "The token is valid: what it grants"}, **INVALID},
)
def verify(body: FileTokenIn) -> FileInvitationCheckOut:
    return FileInvitationCheckOut.of(file_access.verify_file_invitation(bootstrap.file_access(), body.token))


@router.post(
    "/file-invitations/accept",
    tags=TAGS,
    summary="Accept a file invitation as the signed-in person",
    responses={
        200: {"description": "Accepted: the file and my level"},
        **INVALID,
        409: {"description": "You already have access to this file (already_has_access)"},
    },
)
def accept(body: FileTokenIn, principal: Me) -> MyFileOut:
    return MyFileOut.of(file_access.accept_file_invitation(bootstrap.file_access(), principal, body.token))


@router.get("/me/files", tags=TAGS, summary="The client files I was granted, with my level")
def my_files(principal: Me) -> MyFilesOut:
    return MyFilesOut(
        items=[MyFileOut.of(f) for f in file_access.list_my_files(bootstrap.file_access(), principal)]
    )
