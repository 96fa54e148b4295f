"""`Idempotency-Key` for POSTs that create things, on Powertools idempotency.

The key is scoped to the caller acting in one firm (`key_scope`: two people may pick the same key,
and one person of two firms must not get firm A's answer in firm B) and bound to the request's
payload: replaying a key returns the first result without running the use case again; reusing it
with a different payload is a 409.
"""

from __future__ import annotations

import copy
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
def _config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[actor_id, idempotency_key]",
        payload_validation_jmespath="payload",
        expires_after_seconds=RESULT_TTL_SECONDS,
    )


@cache
def _table_store() -> Any:
    """The idempotency table's store as Powertools builds it (its own DynamoDB client), unconfigured:
    each use case's store is a copy of it (one client, one set of SDK hooks for them all)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name)


@cache
def _persistence_store(use_case: str) -> Any:
    """The idempotency store of one use case, configured before anyone uses it.

    Powertools configures its store at every call: the name of the use case it guards (the records'
    key prefix) each time, the key expression, payload check and expiry the first time, after marking
    it configured. Concurrent commands in one process (the local system runs a function's instances on
    threads) would otherwise race on both: with one store for every use case, a record keyed with the
    other command's name (its replay then finds its own still in progress); at a store's first use, a
    second command reading a half-configured store (a 500, or a record keyed without its expression).
    One store per use case (a shallow copy of the table's: its own settings, the shared client),
    configured here, leaves every later call re-setting the same name."""
    store = copy.copy(_table_store())
    store.configure(_config(), use_case)
    return store


def idempotent_command(use_case: UseCase) -> UseCase:
    """Run `use_case(command)` at most once per (actor, Idempotency-Key)."""

    @wraps(use_case)
    def run(command: IdempotentCommand) -> dict[str, Any]:
        if command.idempotency_key is None:
            return use_case(command)
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        @wraps(use_case)  # Powertools keys records by the function's qualified name
        def call(command: IdempotentCommand) -> dict[str, Any]:
            return use_case(command)

        guarded = idempotent_function(
            data_keyword_argument="command",
            persistence_store=_persistence_store(f"{call.__module__}.{call.__qualname__}"),
            config=_config(),
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
