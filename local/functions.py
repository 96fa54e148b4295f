"""The spec's functions, hosted in this process and invoked the way Lambda invokes them."""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.spec import FUNCTIONS, FunctionSpec
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


def load_handler(dotted_path: str) -> Handler:
    module_name, attribute = dotted_path.rsplit(".", 1)
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


class Functions:
    """Each function's handler, imported once (a broken handler stops the start, as a failed
    deploy would), invoked with JSON-copied events and results as Lambda serialises them.

    One invocation at a time per function, like one warm Lambda instance: Powertools
    resolvers and batch processors keep per-invocation state on module-level objects, so two
    concurrent requests in one process would otherwise see each other's event.
    """

    def __init__(self, handlers: Mapping[str, Handler], specs: Mapping[str, FunctionSpec] = FUNCTIONS):
        self._handlers = dict(handlers)
        self._specs = specs
        self._locks = {name: threading.Lock() for name in handlers}

    @classmethod
    def load(cls, specs: Mapping[str, FunctionSpec] = FUNCTIONS) -> Functions:
        return cls({name: load_handler(spec.handler) for name, spec in specs.items()}, specs)

    def invoke(self, name: str, event: Any) -> Any:
        """Run the handler; its exception propagates as a function error does to the caller."""
        payload = json.loads(json.dumps(event))
        with self._locks[name]:
            result = self._handlers[name](payload, lambda_context(name, self._specs[name]))
        return json.loads(json.dumps(result))
