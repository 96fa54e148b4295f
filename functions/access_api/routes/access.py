"""Access to a client file: members' and external advisers' grants, and the access log (R-ACC-1..6)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.access_api.routes.common import Actor, EntryId, FileId, IdempotencyKey, created
from functions.access_api.routes.models import (
    AccessEventOut,
    AccessLogOut,
    AdviserAccessIn,
    AdviserIn,
    AdviserOut,
    FileAccessOut,
    GrantOut,
    MemberAccessIn,
)
from shared import bootstrap
from shared.services import file_access

router = Router()
TAGS = ["client file access"]


@router.get("/files/<file_id>/access", tags=TAGS, summary="Who has access to the file, at which level")
def list_access(file_id: FileId, actor: Actor) -> FileAccessOut:
    return FileAccessOut.of(file_access.list_access(bootstrap.file_access(), actor, file_id))


@router.put(
    "/files/<file_id>/members/<member_id>/access",
    tags=TAGS,
    summary="Grant a family member access, or change it (email and phone both required)",
    description="A grantee without an account is invited by email (reminded after 7 and 30 days; saving "
    "again resends the invitation); one with an account is notified and has access at once. The holder "
    "and co-holders are granted by the file manager; a holder or co-holder with read_write access grants "
    "the other family members.",
    responses={
        200: {"description": "Granted or changed"},
        409: {"description": "The person already has access to this file (already_has_access)"},
    },
)
def grant_member_access(file_id: FileId, member_id: EntryId, body: MemberAccessIn, actor: Actor) -> GrantOut:
    return GrantOut.of(
        file_access.grant_member_access(
            bootstrap.file_access(),
            actor,
            file_id,
            member_id,
            email=str(body.email),
            phone=body.phone,
            level=body.level,
        )
    )


@router.delete(
    "/files/<file_id>/members/<member_id>/access",
    tags=TAGS,
    summary="Revoke a family member's access",
    responses={
        204: {"description": "Revoked"},
        409: {"description": "A holder's or co-holder's access is never revoked (access_irrevocable)"},
    },
)
def revoke_member_access(file_id: FileId, member_id: EntryId, actor: Actor) -> Response[None]:
    file_access.revoke_member_access(bootstrap.file_access(), actor, file_id, member_id)
    return Response(status_code=204)


@router.post(
    "/files/<file_id>/advisers",
    tags=TAGS,
    summary="Register an external adviser in the file (file manager)",
    status_code=201,
)
def register_adviser(
    file_id: FileId, body: AdviserIn, actor: Actor, idempotency_key: IdempotencyKey = None
) -> Response[AdviserOut]:
    return created(
        "register_adviser",
        AdviserOut,
        actor,
        idempotency_key,
        file_id,
        body,
        lambda: AdviserOut.of(
            file_access.register_adviser(
                bootstrap.file_access(),
                actor,
                file_id,
                name=body.name,
                email=str(body.email),
                phone=body.phone,
                adviser_type=body.type,
            )
        ),
    )


@router.put(
    "/files/<file_id>/advisers/<adviser_id>/access",
    tags=TAGS,
    summary="Grant a registered external adviser access, or change it (file manager)",
)
def grant_adviser_access(
    file_id: FileId, adviser_id: EntryId, body: AdviserAccessIn, actor: Actor
) -> GrantOut:
    return GrantOut.of(
        file_access.grant_adviser_access(
            bootstrap.file_access(), actor, file_id, adviser_id, level=body.level
        )
    )


@router.delete(
    "/files/<file_id>/advisers/<adviser_id>/access",
    tags=TAGS,
    summary="Revoke an external adviser's access (file manager)",
    status_code=204,
)
def revoke_adviser_access(file_id: FileId, adviser_id: EntryId, actor: Actor) -> Response[None]:
    file_access.revoke_adviser_access(bootstrap.file_access(), actor, file_id, adviser_id)
    return Response(status_code=204)


@router.get(
    "/files/<file_id>/access-log",
    tags=TAGS,
    summary="Every grant, level change, revoke and refused revoke, newest first (manager, admins)",
)
def access_log(
    file_id: FileId,
    actor: Actor,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> AccessLogOut:
    events, next_cursor = file_access.read_access_log(
        bootstrap.file_access(), actor, file_id, cursor=cursor, limit=limit
    )
    return AccessLogOut(items=[AccessEventOut.of(e) for e in events], next_cursor=next_cursor)
