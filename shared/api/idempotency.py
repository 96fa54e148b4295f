"""`Idempotency-Key` for POSTs that create things, on Powertools idempotency.

The key is scoped to the caller acting in one firm (`key_scope`: two people may pick the same key,
and one person of two firms must not get firm A's answer in firm B) and bound to the request's
payload: replaying a key returns the first result without running the use case again; reusing it
with a different payload is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any

from pydantic import BaseModel, Field

from shared.domain.errors import Conflict
from shared.settings import get_settings

IDEMPOTENCY_HEADER = "idempotency-key"
RESULT_TTL_SECONDS = 24 * 3600


def key_scope(tenant: str, user_id: str) -> str:
    """Where an Idempotency-Key lives: one person acting in one tenant, the firm they act in (or the
    client file they act on: a file belongs to one firm). A key never crosses firms."""
    return f"{tenant}/{user_id}"


class IdempotentCommand(BaseModel):
    actor_id: str
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)
    payload: dict[str, Any]


UseCase = Callable[[IdempotentCommand], dict[str, Any]]


@cache
def _persistence_store() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name)


def idempotent_command(use_case: UseCase) -> UseCase:
    """Run `use_case(command)` at most once per (actor, Idempotency-Key)."""

    @wraps(use_case)
    def run(command: IdempotentCommand) -> dict[str, Any]:
        if command.idempotency_key is None:
            return use_case(command)
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        @wraps(use_case)  # Powertools keys records by the function's qualified name
        def call(command: IdempotentCommand) -> dict[str, Any]:
            return use_case(command)

        guarded = idempotent_function(
            data_keyword_argument="command",
            persistence_store=_persistence_store(),
            config=IdempotencyConfig(
                event_key_jmespath="[actor_id, idempotency_key]",
                payload_validation_jmespath="payload",
                expires_after_seconds=RESULT_TTL_SECONDS,
            ),
        )(call)
        try:
            return guarded(command=command)
        except IdempotencyValidationError:
            raise Conflict(
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_key_reused",
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress.", code="request_in_progress"
            ) from None

    return run


@dataclass(frozen=True)
class OncePerKey:
    """The `OnceOnly` port on the same Powertools idempotency store, for one kind of actor."""

    actor_id: str

    def run(self, key: str, payload: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        @idempotent_command
        def apply_once(command: IdempotentCommand) -> dict[str, Any]:
            return action()

        return apply_once(IdempotentCommand(actor_id=self.actor_id, idempotency_key=key, payload=payload))
