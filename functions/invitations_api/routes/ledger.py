"""The firm's chart of accounts (seed 003): what links and the auto-assign rules pick from."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, Field

from functions.invitations_api.routes.models import StrictBody
from shared import bootstrap
from shared.api.caller import current_staff
from shared.api.fields import SingleLineText
from shared.domain.identity import StaffContext
from shared.domain.ledger import CODE_PATTERN, LedgerAccount, LedgerKind
from shared.services import ledger

router = Router()
TAGS = ["chart of accounts"]
Staff = Annotated[StaffContext, Depends(current_staff)]
Code = Annotated[str, Path(min_length=1, max_length=32, pattern=CODE_PATTERN)]
Name = Annotated[SingleLineText, Field(min_length=1, max_length=100)]


class LedgerAccountIn(StrictBody):
    code: str = Field(
        pattern=CODE_PATTERN, description="Unique in the firm, any case (bank-1 and BANK-1 are one)"
    )
    name: Name
    kind: LedgerKind


class LedgerAccountChangeIn(StrictBody):
    name: Name | None = None
    kind: LedgerKind | None = None
    archived: bool | None = Field(default=None, description="Archived accounts are no longer picked")


class LedgerAccountOut(BaseModel):
    code: str
    name: str
    kind: LedgerKind
    archived: bool
    used: bool = Field(description="A link or a rule named it: it can be archived, not deleted")
    created_at: datetime

    @classmethod
    def of(cls, account: LedgerAccount) -> LedgerAccountOut:
        return cls(
            code=account.code,
            name=account.name,
            kind=account.kind,
            archived=account.archived,
            used=account.used,
            created_at=account.created_at,
        )


class LedgerAccountListOut(BaseModel):
    items: list[LedgerAccountOut]


@router.get("/ledger-accounts", tags=TAGS, summary="The firm's ledger accounts, by code (all staff)")
def list_accounts(
    staff: Staff, include_archived: Annotated[bool, Query(description="Archived ones too")] = False
) -> LedgerAccountListOut:
    found = ledger.list_ledger_accounts(
        bootstrap.ledger_for(staff).ledger, staff, include_archived=include_archived
    )
    return LedgerAccountListOut(items=[LedgerAccountOut.of(account) for account in found])


@router.post(
    "/ledger-accounts",
    tags=TAGS,
    summary="Add a ledger account (admins; 409 ledger_account_exists)",
    status_code=201,
)
def create_account(body: LedgerAccountIn, staff: Staff) -> Response[LedgerAccountOut]:
    created = ledger.create_ledger_account(
        bootstrap.ledger_for(staff), staff, body.code, body.name, body.kind
    )
    return Response(status_code=201, content_type="application/json", body=LedgerAccountOut.of(created))


@router.patch(
    "/ledger-accounts/<code>", tags=TAGS, summary="Rename, change the kind, archive or restore (admins)"
)
def update_account(code: Code, body: LedgerAccountChangeIn, staff: Staff) -> LedgerAccountOut:
    change = ledger.LedgerChange(name=body.name, kind=body.kind, archived=body.archived)
    return LedgerAccountOut.of(ledger.update_ledger_account(bootstrap.ledger_for(staff), staff, code, change))


@router.delete(
    "/ledger-accounts/<code>",
    tags=TAGS,
    summary="Delete an account nothing ever used (admins; 409 ledger_account_in_use: archive it)",
    status_code=204,
)
def delete_account(code: Code, staff: Staff) -> Response[None]:
    ledger.delete_ledger_account(bootstrap.ledger_for(staff), staff, code)
    return Response(status_code=204)
