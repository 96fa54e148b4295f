"""The grantee's side: check and accept a file invitation (signed in, or creating my account), list my
files (R-ACC-3, R-INV-2)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.access_api.routes.models import (
    FileInvitationCheckOut,
    FileNewAccountIn,
    FileTokenIn,
    MyFileOut,
    MyFilesOut,
)
from shared import bootstrap
from shared.api.caller import current_principal
from shared.api.invitation_answers import INVALID, NEW_ACCOUNT, SIGNED_IN
from shared.domain.identity import Principal
from shared.services import file_access

router = Router()
TAGS = ["client file access"]
Me = Annotated[Principal, Depends(current_principal)]


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
    summary="Accept a file invitation as the signed-in person (signed in with the invited email)",
    responses={
        200: {"description": "Accepted: the file and my level"},
        **SIGNED_IN,
        409: {"description": "You already have access to this file (already_has_access)"},
    },
)
def accept(body: FileTokenIn, principal: Me) -> MyFileOut:
    return MyFileOut.of(file_access.accept_file_invitation(bootstrap.file_access(), principal, body.token))


@router.post(
    "/file-invitations/create-account",
    tags=TAGS,
    summary="Accept a file invitation by creating my account with a password (no authentication)",
    responses={200: {"description": "Account created, access accepted"}, **NEW_ACCOUNT},
)
def create_account(body: FileNewAccountIn) -> MyFileOut:
    password = body.password.get_secret_value()
    ports = bootstrap.file_access()
    return MyFileOut.of(file_access.accept_file_invitation_with_new_account(ports, body.token, password))


@router.get("/me/files", tags=TAGS, summary="The client files I was granted, with my level")
def my_files(principal: Me) -> MyFilesOut:
    return MyFilesOut(
        items=[MyFileOut.of(f) for f in file_access.list_my_files(bootstrap.file_access(), principal)]
    )
