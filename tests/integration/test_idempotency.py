from __future__ import annotations

import pytest

from shared.api.idempotency import IdempotentCommand, idempotent_command
from shared.domain.errors import Conflict


@pytest.fixture
def create_thing(aws):
    calls: list[dict] = []

    @idempotent_command
    def create(command: IdempotentCommand) -> dict:
        calls.append(command.payload)
        return {"thing_id": f"thing-{len(calls)}", **command.payload}

    create.calls = calls
    return create


def command(key: str | None, actor: str = "user-1", **payload) -> IdempotentCommand:
    return IdempotentCommand(actor_id=actor, idempotency_key=key, payload=payload or {"name": "Ada"})


def test_replayed_key_returns_the_first_result_without_running_again(create_thing):
    first = create_thing(command("key-1"))
    assert create_thing(command("key-1")) == first
    assert len(create_thing.calls) == 1


def test_same_key_with_another_payload_is_a_conflict(create_thing):
    create_thing(command("key-1"))
    with pytest.raises(Conflict) as raised:
        create_thing(command("key-1", name="Bob"))
    assert raised.value.code == "idempotency_key_reused"
    assert len(create_thing.calls) == 1


def test_keys_are_scoped_to_the_caller(create_thing):
    create_thing(command("key-1", actor="user-1"))
    create_thing(command("key-1", actor="user-2"))
    assert len(create_thing.calls) == 2


def test_without_a_key_every_call_runs(create_thing):
    create_thing(command(None))
    create_thing(command(None))
    assert len(create_thing.calls) == 2


def test_two_use_cases_do_not_share_keys(aws):
    @idempotent_command
    def invite(command: IdempotentCommand) -> dict:
        return {"made": "invitation"}

    @idempotent_command
    def connect(command: IdempotentCommand) -> dict:
        return {"made": "connection"}

    assert invite(command("key-1"))["made"] == "invitation"
    assert connect(command("key-1"))["made"] == "connection"
