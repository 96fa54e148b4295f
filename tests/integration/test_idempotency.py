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


def test_two_use_cases_at_once_each_keep_their_own_records(aws):
    """Powertools names a record by the use case it guards, set on its store at every call: with one
    store for every use case, the first command to finish would write its result under the other's
    name once both had begun, and its replay would find its own record still in progress."""
    import threading

    meeting = threading.Barrier(2)
    runs: list[str] = []

    def use_case(made: str):
        def run(command: IdempotentCommand) -> dict:
            runs.append(made)
            if command.payload.get("meet"):
                meeting.wait(timeout=10)  # both have begun (and named their store) before either ends
            return {"made": made}

        run.__qualname__ = made  # Powertools names each use case's records by its qualified name
        return idempotent_command(run)

    invite, connect = use_case("invitation"), use_case("connection")
    for each in (invite, connect):  # each use case has run once: its store exists before the race
        each(command("warm-up"))
    results: dict[str, object] = {}

    def run(name: str, each) -> None:
        try:
            results[name] = each(command("key-1", meet=True))
        except Exception as error:  # asserted below
            results[name] = error

    threads = [threading.Thread(target=run, args=pair) for pair in (("invite", invite), ("connect", connect))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {"invite": {"made": "invitation"}, "connect": {"made": "connection"}}
    # Replays return each first result, without running either use case again.
    assert invite(command("key-1", meet=True)) == {"made": "invitation"}
    assert connect(command("key-1", meet=True)) == {"made": "connection"}
    assert sorted(runs) == ["connection", "connection", "invitation", "invitation"]


def test_a_use_case_store_is_whole_before_its_first_command(aws):
    """Powertools marks a store configured before it sets the key expression: a store handed out
    unconfigured could be read half-built by the second of two first commands (a 500, or a record
    keyed on the whole command). Each is configured, for its use case, before it is handed out."""
    from shared.api.idempotency import _persistence_store

    store = _persistence_store("tests.integration.test_idempotency.some_use_case")
    assert store.configured
    assert store.event_key_compiled_jmespath is not None and store.payload_validation_enabled
    assert store.expires_after_seconds == 24 * 3600
    assert store.function_name.endswith(".tests.integration.test_idempotency.some_use_case")


def test_the_use_cases_stores_share_one_client_each_with_its_own_name(aws):
    """One DynamoDB client (and one set of Powertools' SDK hooks) for every use case's store."""
    from shared.api.idempotency import _persistence_store

    first = _persistence_store("tests.integration.test_idempotency.first")
    second = _persistence_store("tests.integration.test_idempotency.second")
    assert first is not second and first.client is second.client
    assert first.function_name.endswith(".first") and second.function_name.endswith(".second")
