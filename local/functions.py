"""The spec's functions, hosted in this process and invoked the way Lambda invokes them."""

from __future__ import annotations

import functools
import importlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from infra.spec import FUNCTIONS, QUEUES, FunctionSpec, QueueSpec
from local.fake_aws import ACCOUNT_ID, REGION

Handler = Callable[[Any, "LambdaContext"], Any]


@dataclass
class LambdaContext:
    """What the Python runtime passes as `context` (Powertools reads every attribute)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: None = None
    client_context: None = None
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """Informative only: the local system does not stop a handler at its timeout."""
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def lambda_context(name: str, spec: FunctionSpec) -> LambdaContext:
    return LambdaContext(
        function_name=name,
        memory_limit_in_mb=spec.memory_mb,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
        log_group_name=f"/aws/lambda/{name}",
        # CloudWatch names a stream by AWS's date, not by business time.
        log_stream_name=f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",  # noqa: TID251
        timeout_seconds=spec.timeout_seconds,
    )


DEFAULT_CONCURRENCY = 4  # instances of a function that no queue's event source mapping caps


def concurrency(name: str, queues: Mapping[str, QueueSpec] = QUEUES) -> int:
    """How many instances of `name` may run at once: the maximum concurrency of the event source
    mappings that invoke it (on AWS the mapping stops polling at that many concurrent invocations),
    else `DEFAULT_CONCURRENCY` (on AWS the account's concurrency, far above what a laptop runs)."""
    caps = [spec.max_concurrency for spec in queues.values() if spec.consumer == name]
    return sum(caps) if caps else DEFAULT_CONCURRENCY


_isolating = threading.Lock()
_isolated = False


def isolate_resolvers() -> None:
    """Each Powertools resolver resolves its own event, as in its own Lambda instance.

    Powertools' `resolve` keeps the event it resolves, and the Lambda context, in class attributes
    (`BaseRouter.current_event`, `BaseRouter.lambda_context`): one value for every resolver of the
    process, which is right on Lambda (one invocation at a time per process) and wrong here, where
    the instances of every function share one process. Two concurrent API invocations then read
    whichever event was set last: a route ran with another request's caller, path and body (the
    soak saw an admin refused as a customer, `staff_only`, and as the adviser, `forbidden`). Here
    `resolve` first sets both on the resolver itself, which every reader goes through (the app, its
    routers, their middlewares and dependencies); the class attributes are then never read.
    Idempotent, process-wide; `Functions` calls it."""
    global _isolated
    with _isolating:
        if _isolated:
            return
        from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

        resolve = ApiGatewayResolver.resolve

        @functools.wraps(resolve)
        def resolve_own_event(self: ApiGatewayResolver, event: Any, context: Any) -> Any:
            raw = event.raw_event if hasattr(event, "raw_event") else event
            self.current_event = self._to_proxy_event(raw)
            self.lambda_context = context
            return resolve(self, event, context)

        ApiGatewayResolver.resolve = resolve_own_event  # type: ignore[method-assign]
        _isolated = True


def load_handler(dotted_path: str) -> Handler:
    module_name, attribute = dotted_path.rsplit(".", 1)
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


_fresh_imports = threading.Lock()


def import_fresh(module_name: str) -> ModuleType:
    """A new copy of `module_name` and of every module of its package (`functions.<folder>` and
    its submodules: the handler, its routes, their routers), as another Lambda instance would import
    them; every other module (`shared.*`, Powertools, boto3) stays the one already imported, so the
    clock, the composition root's clients and the domain classes stay single objects.

    The package's entries in `sys.modules` are set aside while the copy is imported, then put back
    with the links between them: a later `import` of the package still finds the first copy."""
    package = module_name.rpartition(".")[0] or module_name

    def of_package() -> dict[str, ModuleType]:
        return {n: m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")}

    with _fresh_imports:
        first = of_package()
        for name in first:
            del sys.modules[name]
        try:
            return importlib.import_module(module_name)
        finally:
            for name in of_package():
                del sys.modules[name]
            sys.modules.update(first)
            for name, module in first.items():  # the parents' attributes back to the first copy
                parent, _, child = name.rpartition(".")
                if parent in sys.modules:
                    setattr(sys.modules[parent], child, module)


def load_fresh_handler(dotted_path: str) -> Handler:
    module_name, attribute = dotted_path.rsplit(".", 1)
    handler: Handler = getattr(import_fresh(module_name), attribute)
    return handler


class NoFreeInstance(RuntimeError):
    """Every instance stayed busy for the function's whole timeout (Lambda would have throttled)."""


class InstancePool:
    """The warm instances of one function: an invocation takes a free one; a new one is created (its
    cold start) only when all are busy and there are fewer than `size`; otherwise the invocation
    waits for one to be freed. Locally an invocation queues instead of being throttled (Lambda
    answers TooManyRequestsException, API Gateway a 5xx), for at most `wait_seconds`."""

    def __init__(self, size: int, first: Handler, cold_start: Callable[[], Handler], wait_seconds: float):
        self.size = size
        self._free = [first]
        self._created = 1
        self._cold_start = cold_start
        self._wait_seconds = wait_seconds
        self._changed = threading.Condition()
        self._waiting = 0

    @property
    def created(self) -> int:
        """Instances created so far (at most `size`)."""
        return self._created

    @property
    def waiting(self) -> int:
        """Invocations waiting for an instance (or about to take one)."""
        return self._waiting

    def _take(self) -> Handler | None:
        """A free instance, or None when the caller is to create one (already counted)."""
        with self._changed:
            self._waiting += 1
            try:
                if not self._changed.wait_for(
                    lambda: self._free or self._created < self.size, timeout=self._wait_seconds
                ):
                    raise NoFreeInstance(f"{self.size} instance(s) busy for {self._wait_seconds} s")
            finally:
                self._waiting -= 1
            if self._free:
                return self._free.pop()  # the most recently used: warm, as Lambda prefers
            self._created += 1
            return None

    def _give_back(self, instance: Handler | None) -> None:
        with self._changed:
            if instance is None:
                self._created -= 1  # its cold start failed: a later invocation tries again
            else:
                self._free.append(instance)
            self._changed.notify()

    def invoke(self, run: Callable[[Handler], Any]) -> Any:
        instance = self._take()
        try:
            if instance is None:
                instance = self._cold_start()
            return run(instance)
        finally:
            self._give_back(instance)


class Functions:
    """Each function's handler, imported once at start (a broken handler stops the start, as a
    failed deploy would), invoked with JSON-copied events and results as Lambda serialises them.

    Each function runs up to `concurrency(name)` invocations at once, each in an instance of its
    own (`InstancePool`): the first is the normally imported handler, each further one a fresh
    import of the function's package (`import_fresh`), so the Powertools resolver, the routers and
    the batch processor of one invocation are not another's, as in separate Lambda instances; each
    resolver resolves its own event (`isolate_resolvers`: Powertools keeps it in a class attribute).
    What stays process-wide, unlike on AWS: `shared.*` (the settings,
    the composition root's cached adapters, the observability objects: log keys appended by
    `inject_lambda_context`, such as the request id and correlation id, are the latest invocation's
    in every concurrent invocation's log lines; metrics are flushed whole, see
    shared/observability.py) and Powertools' cold start flag.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        specs: Mapping[str, FunctionSpec] = FUNCTIONS,
        *,
        sizes: Mapping[str, int] | None = None,
        cold_start: Callable[[str], Handler] | None = None,
    ):
        isolate_resolvers()
        new_instance = cold_start or (lambda name: load_fresh_handler(specs[name].handler))
        self._specs = specs
        self._pools = {
            name: InstancePool(
                (sizes or {}).get(name) or concurrency(name),
                handler,
                functools.partial(new_instance, name),
                wait_seconds=specs[name].timeout_seconds,
            )
            for name, handler in handlers.items()
        }

    @classmethod
    def load(cls, specs: Mapping[str, FunctionSpec] = FUNCTIONS) -> Functions:
        return cls({name: load_handler(spec.handler) for name, spec in specs.items()}, specs)

    def pool(self, name: str) -> InstancePool:
        return self._pools[name]

    def invoke(self, name: str, event: Any) -> Any:
        """Run the handler; its exception propagates as a function error does to the caller."""
        payload = json.loads(json.dumps(event))
        context = lambda_context(name, self._specs[name])
        result = self._pools[name].invoke(lambda handler: handler(payload, context))
        return json.loads(json.dumps(result))
