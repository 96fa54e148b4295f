"""The client file and its sections: family structure, patrimony, donations, simulations, reports."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.access_api.routes.common import Actor, EntryId, FileId, IdempotencyKey, created
from functions.access_api.routes.models import (
    DocumentIn,
    DonationIn,
    DonationOut,
    FileDocumentOut,
    FileOut,
    MemberIn,
    MemberOut,
    PatrimonyIn,
    PatrimonyItemOut,
)
from shared import bootstrap
from shared.domain.files import DocumentKind
from shared.services import files

router = Router()
TAGS = ["client files"]


@router.get("/files/<file_id>", tags=TAGS, summary="A client file, with what you may do on it")
def get_file(file_id: FileId, actor: Actor) -> FileOut:
    return FileOut.of(files.view_file(bootstrap.file_access(), actor, file_id))


# family structure ----------------------------------------------------------------------------
@router.post("/files/<file_id>/members", tags=TAGS, summary="Add a family member", status_code=201)
def add_member(
    file_id: FileId, body: MemberIn, actor: Actor, idempotency_key: IdempotencyKey = None
) -> Response[MemberOut]:
    return created(
        "add_member",
        MemberOut,
        actor,
        idempotency_key,
        file_id,
        body,
        lambda: MemberOut.of(files.add_member(bootstrap.file_access(), actor, file_id, **body.fields())),
    )


@router.put(
    "/files/<file_id>/members/<member_id>",
    tags=TAGS,
    summary="Change a family member (a member granted access keeps their relation)",
)
def update_member(file_id: FileId, member_id: EntryId, body: MemberIn, actor: Actor) -> MemberOut:
    return MemberOut.of(
        files.update_member(bootstrap.file_access(), actor, file_id, member_id, **body.fields())
    )


@router.delete(
    "/files/<file_id>/members/<member_id>",
    tags=TAGS,
    summary="Remove a family member who has no access",
    status_code=204,
)
def remove_member(file_id: FileId, member_id: EntryId, actor: Actor) -> Response[None]:
    files.remove_member(bootstrap.file_access(), actor, file_id, member_id)
    return Response(status_code=204)


# patrimony inventory -------------------------------------------------------------------------
@router.post("/files/<file_id>/patrimony", tags=TAGS, summary="Add an asset or a liability", status_code=201)
def add_patrimony_item(
    file_id: FileId, body: PatrimonyIn, actor: Actor, idempotency_key: IdempotencyKey = None
) -> Response[PatrimonyItemOut]:
    return created(
        "add_patrimony_item",
        PatrimonyItemOut,
        actor,
        idempotency_key,
        file_id,
        body,
        lambda: PatrimonyItemOut.of(
            files.add_patrimony_item(bootstrap.file_access(), actor, file_id, **body.fields())
        ),
    )


@router.put("/files/<file_id>/patrimony/<item_id>", tags=TAGS, summary="Change a patrimony item")
def update_patrimony_item(
    file_id: FileId, item_id: EntryId, body: PatrimonyIn, actor: Actor
) -> PatrimonyItemOut:
    return PatrimonyItemOut.of(
        files.update_patrimony_item(bootstrap.file_access(), actor, file_id, item_id, **body.fields())
    )


@router.delete(
    "/files/<file_id>/patrimony/<item_id>", tags=TAGS, summary="Remove a patrimony item", status_code=204
)
def remove_patrimony_item(file_id: FileId, item_id: EntryId, actor: Actor) -> Response[None]:
    files.remove_patrimony_item(bootstrap.file_access(), actor, file_id, item_id)
    return Response(status_code=204)


# donations inventory -------------------------------------------------------------------------
@router.post("/files/<file_id>/donations", tags=TAGS, summary="Add a donation", status_code=201)
def add_donation(
    file_id: FileId, body: DonationIn, actor: Actor, idempotency_key: IdempotencyKey = None
) -> Response[DonationOut]:
    return created(
        "add_donation",
        DonationOut,
        actor,
        idempotency_key,
        file_id,
        body,
        lambda: DonationOut.of(files.add_donation(bootstrap.file_access(), actor, file_id, **body.fields())),
    )


@router.put("/files/<file_id>/donations/<donation_id>", tags=TAGS, summary="Change a donation")
def update_donation(file_id: FileId, donation_id: EntryId, body: DonationIn, actor: Actor) -> DonationOut:
    return DonationOut.of(
        files.update_donation(bootstrap.file_access(), actor, file_id, donation_id, **body.fields())
    )


@router.delete(
    "/files/<file_id>/donations/<donation_id>", tags=TAGS, summary="Remove a donation", status_code=204
)
def remove_donation(file_id: FileId, donation_id: EntryId, actor: Actor) -> Response[None]:
    files.remove_donation(bootstrap.file_access(), actor, file_id, donation_id)
    return Response(status_code=204)


# simulations and reports (firm staff only, R-ACC-6) ------------------------------------------
@router.post(
    "/files/<file_id>/simulations", tags=TAGS, summary="Store a simulation (firm staff)", status_code=201
)
def add_simulation(
    file_id: FileId, body: DocumentIn, actor: Actor, idempotency_key: IdempotencyKey = None
) -> Response[FileDocumentOut]:
    return created(
        "add_simulation",
        FileDocumentOut,
        actor,
        idempotency_key,
        file_id,
        body,
        lambda: FileDocumentOut.of(
            files.add_document(
                bootstrap.file_access(),
                actor,
                file_id,
                DocumentKind.SIMULATION,
                title=body.title,
                content=body.content,
            )
        ),
    )


@router.post("/files/<file_id>/reports", tags=TAGS, summary="Store a report (firm staff)", status_code=201)
def add_report(
    file_id: FileId, body: DocumentIn, actor: Actor, idempotency_key: IdempotencyKey = None
) -> Response[FileDocumentOut]:
    return created(
        "add_report",
        FileDocumentOut,
        actor,
        idempotency_key,
        file_id,
        body,
        lambda: FileDocumentOut.of(
            files.add_document(
                bootstrap.file_access(),
                actor,
                file_id,
                DocumentKind.REPORT,
                title=body.title,
                content=body.content,
            )
        ),
    )
