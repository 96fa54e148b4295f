"""What every access route shares: who calls, path parameters, and creating once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.request import Request
from pydantic import BaseModel

from shared.api.caller import current_principal, named_firm
from shared.api.idempotency import IdempotentCommand, idempotent_command, key_scope
from shared.domain.identity import Principal
from shared.services.file_access import FileActor


def current_file_actor(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> FileActor:
    """The caller; what they may do on a file is decided by the file policy, not here."""
    return FileActor(principal=principal, firm_id=named_firm(request))


Actor = Annotated[FileActor, Depends(current_file_actor)]
FileId = Annotated[str, Path(min_length=1, max_length=40, description="The customer's id")]
EntryId = Annotated[str, Path(min_length=1, max_length=40)]
IdempotencyKey = Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=255)]

Out = TypeVar("Out", bound=BaseModel)


def created(
    name: str,
    out: type[Out],
    actor: FileActor,
    idempotency_key: str | None,
    file_id: str,
    body: BaseModel,
    create: Callable[[], Out],
) -> Response[Out]:
    """201 with what `create` made, at most once per (caller on this file, Idempotency-Key), the key
    bound to the file and the body; a replay returns the first answer. `name` keeps each route's
    records apart."""

    def use_case(_: IdempotentCommand) -> dict[str, Any]:
        return create().model_dump(mode="json")

    use_case.__name__ = use_case.__qualname__ = f"access_api.{name}"  # Powertools keys records by it
    result = idempotent_command(use_case)(
        IdempotentCommand(
            actor_id=key_scope(f"file:{file_id}", actor.principal.user_id),
            idempotency_key=idempotency_key,
            payload={"file_id": file_id, **body.model_dump(mode="json")},
        )
    )
    return Response(status_code=201, content_type="application/json", body=out.model_validate(result))
