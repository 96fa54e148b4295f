"""Concurrency like Lambda's on the local system: a pool of instances per function, each with the
function package's own module-level state, and the process-wide metrics flushed safely."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.spec import FUNCTIONS, QUEUES, FunctionSpec
from local.functions import (
    DEFAULT_CONCURRENCY,
    Functions,
    NoFreeInstance,
    concurrency,
    import_fresh,
    load_handler,
)

SPEC = FunctionSpec(handler="pool_function.handler.lambda_handler", description="", service="s")
WAIT = 10  # seconds: a bound on every wait below, never a measurement


def test_a_queue_consumer_runs_as_many_instances_as_its_mapping_allows_the_rest_four():
    for queue in QUEUES.values():
        assert concurrency(queue.consumer) == queue.max_concurrency
    assert concurrency("platform_api") == DEFAULT_CONCURRENCY == 4
    assert {name for name in FUNCTIONS if concurrency(name) != DEFAULT_CONCURRENCY} == {
        queue.consumer for queue in QUEUES.values() if queue.max_concurrency != DEFAULT_CONCURRENCY
    }


def test_a_fresh_import_copies_the_function_package_and_nothing_else():
    import functions.platform_api.handler as first
    import shared.api.app
    from functions.platform_api.routes import me

    second = import_fresh("functions.platform_api.handler")
    third = import_fresh("functions.platform_api.handler")
    assert len({id(first.app), id(second.app), id(third.app)}) == 3
    second_me = sys.modules[second.__name__.rpartition(".")[0] + ".routes.me"]  # still the first
    assert second_me is me
    assert second.create_app is first.create_app is shared.api.app.create_app  # shared: one copy
    # Every import after the copies still finds the first one, and so does its parent package.
    assert sys.modules["functions.platform_api.handler"] is first
    import functions.platform_api

    assert functions.platform_api.handler is first
    assert functions.platform_api.routes.me is me


@pytest.fixture
def pool_function(tmp_path, monkeypatch) -> Iterator[Callable[[], Any]]:
    """A function package whose handler keeps the event in a module-level object of a submodule (as
    a Powertools resolver keeps `current_event`), then meets the other invocations at a barrier
    that lives outside the package (one object for every instance)."""
    package = tmp_path / "pool_function"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "state.py").write_text("current = None\n")
    (package / "handler.py").write_text(
        textwrap.dedent(
            """
            import pool_meeting
            from pool_function import state


            def lambda_handler(event, context):
                state.current = event
                pool_meeting.barrier.wait(timeout=10)
                return {"seen": state.current, "state": id(state)}
            """
        )
    )
    (tmp_path / "pool_meeting.py").write_text("import threading\n\nbarrier = threading.Barrier(2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda: load_handler(SPEC.handler)
    for name in [n for n in sys.modules if n.startswith(("pool_function", "pool_meeting"))]:
        del sys.modules[name]


def concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        try:
            results[n] = work(n)
        except Exception as error:  # asserted by the caller
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return results


def test_two_concurrent_invocations_overlap_each_with_its_own_instance_and_event(pool_function):
    functions = Functions({"fn": pool_function()}, {"fn": SPEC}, sizes={"fn": 2})
    results = concurrently(2, lambda n: functions.invoke("fn", {"n": n}))
    # Both were inside the handler at once (with one instance the barrier of two breaks), each saw
    # its own event (with one module-level `state`, both would see the later one).
    assert [result["seen"] for result in results] == [{"n": 0}, {"n": 1}], results
    assert results[0]["state"] != results[1]["state"]  # two copies of the package's module
    assert functions.pool("fn").created == 2


class Gated:
    """A handler that notes who runs and holds each invocation until its gate opens."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.running: set[int] = set()
        self.most = 0
        self.gates = [threading.Event() for _ in range(3)]
        self.cold_starts = 0

    def handler(self, event: dict[str, int], context: Any) -> int:
        n = event["n"]
        with self.changed:
            self.running.add(n)
            self.most = max(self.most, len(self.running))
            self.changed.notify_all()
        try:
            assert self.gates[n].wait(WAIT)
            return n
        finally:
            with self.changed:
                self.running.discard(n)
                self.changed.notify_all()

    def new_instance(self, name: str) -> Callable[[dict[str, int], Any], int]:
        self.cold_starts += 1
        return self.handler

    def until(self, condition: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, WAIT)


def test_the_pool_never_exceeds_its_size_and_a_waiting_invocation_runs_once_an_instance_frees():
    gated = Gated()
    functions = Functions({"fn": gated.handler}, {"fn": SPEC}, sizes={"fn": 2}, cold_start=gated.new_instance)
    pool = functions.pool("fn")
    results: dict[int, Any] = {}

    def invoke(n: int) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.update({n: functions.invoke("fn", {"n": n})}))
        thread.start()
        return thread

    threads = [invoke(0), invoke(1)]
    gated.until(lambda: gated.running == {0, 1})
    threads.append(invoke(2))
    for _ in range(WAIT * 1000):  # the pool notifies nobody outside: looked at every millisecond
        if pool.waiting == 1 or threading.Event().wait(0.001):
            break
    assert pool.waiting == 1  # the third waits: both instances are busy
    assert gated.running == {0, 1} and pool.created == 2
    gated.gates[0].set()
    gated.until(lambda: gated.running == {1, 2})  # the first's instance freed: the third runs in it
    gated.gates[1].set()
    gated.gates[2].set()
    for thread in threads:
        thread.join(WAIT)
    assert results == {0: 0, 1: 1, 2: 2}
    assert gated.most == 2 and pool.created == 2 and gated.cold_starts == 1


def test_an_invocation_that_finds_every_instance_busy_until_the_timeout_fails():
    gated = Gated()
    spec = FunctionSpec(handler="x.y", description="", service="s", timeout_seconds=0)
    functions = Functions({"fn": gated.handler}, {"fn": spec}, sizes={"fn": 1})
    first = threading.Thread(target=functions.invoke, args=("fn", {"n": 0}))
    first.start()
    gated.until(lambda: gated.running == {0})
    with pytest.raises(NoFreeInstance):
        functions.invoke("fn", {"n": 1})
    gated.gates[0].set()
    first.join(WAIT)


def test_a_failed_cold_start_gives_its_place_back():
    gated = Gated()
    failures = [ImportError("broken")]

    def new_instance(name: str) -> Callable[[dict[str, int], Any], int]:
        if failures:
            raise failures.pop()
        return gated.new_instance(name)

    functions = Functions({"fn": gated.handler}, {"fn": SPEC}, sizes={"fn": 2}, cold_start=new_instance)
    first = threading.Thread(target=functions.invoke, args=("fn", {"n": 0}))
    first.start()
    gated.until(lambda: gated.running == {0})
    with pytest.raises(ImportError):
        functions.invoke("fn", {"n": 1})
    assert functions.pool("fn").created == 1
    gated.gates[1].set()
    assert functions.invoke("fn", {"n": 1}) == 1  # a new cold start, in the place given back
    gated.gates[0].set()
    first.join(WAIT)
    assert functions.pool("fn").created == 2


def test_concurrent_invocations_publish_every_metric_once_and_never_fail(capsys):
    """Powertools keeps the metrics of an invocation in one process-wide dict that `log_metrics`
    serialises and clears: unserialised, two hundred concurrent invocations (threads switched as
    often as possible) failed a few times per two thousand (`Must contain at least one metric`,
    `dictionary changed size during iteration`) and published some metrics twice."""
    from shared.observability import metrics

    @metrics.log_metrics
    def handler(event: dict[str, int], context: Any) -> None:
        metrics.add_metric(name=f"Pool{event['n'] % 7}", unit="Count", value=1)

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        results = []
        for _ in range(5):
            barrier = threading.Barrier(200)

            def invoke(n: int, barrier: threading.Barrier = barrier) -> None:
                barrier.wait(WAIT)
                handler({"n": n}, None)

            results += concurrently(200, invoke)
    finally:
        sys.setswitchinterval(switch_interval)
    assert [result for result in results if result is not None] == []
    published = 0
    for line in capsys.readouterr().out.splitlines():
        blob = json.loads(line)
        for name, value in blob.items():
            if name.startswith("Pool"):
                published += len(value) if isinstance(value, list) else 1
    assert published == 1000


@pytest.fixture
def resolver_function(tmp_path, monkeypatch) -> Iterator[Callable[[], Any]]:
    """A function package built as ours are: a Powertools HTTP API resolver (`create_app`) whose route
    reads the caller from the event it resolves (`current_principal`) once it met the other
    invocations at a barrier (a middleware: after both began resolving)."""
    package = tmp_path / "resolver_function"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text(
        textwrap.dedent(
            """
            from typing import Annotated

            from aws_lambda_powertools.event_handler import Depends
            from aws_lambda_powertools.event_handler.api_gateway import Router

            import pool_meeting
            from shared.api.app import create_app
            from shared.api.caller import current_principal
            from shared.domain.identity import Principal

            router = Router()


            @router.get("/whoami")
            def whoami(caller: Annotated[Principal, Depends(current_principal)]) -> dict:
                event = router.current_event
                return {"caller": caller.user_id, "request_id": event.request_context.request_id}


            def meet(app, next_middleware):
                # Both invocations have begun resolving their own event before either reads it.
                pool_meeting.barrier.wait(timeout=10)
                return next_middleware(app)


            app = create_app(router)
            app.use(middlewares=[meet])


            def lambda_handler(event, context):
                return app.resolve(event, context)
            """
        )
    )
    (tmp_path / "pool_meeting.py").write_text("import threading\n\nbarrier = threading.Barrier(2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda: load_handler("resolver_function.handler.lambda_handler")
    for name in [n for n in sys.modules if n.startswith(("resolver_function", "pool_meeting"))]:
        del sys.modules[name]


def http_api_event(user_id: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /whoami",
        "rawPath": "/whoami",
        "rawQueryString": f"as={user_id}",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/whoami", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "authorizer": {"jwt": {"claims": {"sub": user_id}, "scopes": None}},
            "stage": "$default",
            "requestId": user_id,
        },
        "isBase64Encoded": False,
    }


def test_two_concurrent_api_invocations_each_resolve_their_own_event_and_caller(resolver_function):
    """Powertools keeps the event being resolved in a class attribute (`BaseRouter.current_event`),
    one for every resolver of the process: without the local system's isolation, both invocations
    read the caller of whichever began resolving last."""
    spec = FunctionSpec(handler="resolver_function.handler.lambda_handler", description="", service="s")
    functions = Functions({"fn": resolver_function()}, {"fn": spec}, sizes={"fn": 2})
    callers = ["alice", "bob"]
    results = concurrently(2, lambda n: functions.invoke("fn", http_api_event(callers[n])))
    bodies = [json.loads(result["body"]) for result in results]
    assert [(body["caller"], body["request_id"]) for body in bodies] == [("alice", "alice"), ("bob", "bob")]
    assert functions.pool("fn").created == 2
