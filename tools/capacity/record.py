"""What each Lambda invocation of the local system does on AWS, recorded as it runs (issue 20).

Installed in the process that runs the local system (tools/capacity/simulate.py), before it starts:

- **Invocations**: `Functions.invoke` is wrapped: the handler's wall time, its event and response
  sizes, whether its instance was new to the current activity, and a record the calls below add to
  (a thread-local: an invocation runs in one thread; the local system has no nested invocations).
- **AWS calls**: botocore's `before-call`/`after-call` events on the default session (every client,
  ours and the harness's queue pollers, which stand for Lambda's event source mappings) count each
  call and its time, and the bytes of SQS bodies (SQS bills 64 KB chunks).
- **DynamoDB capacity**: each DynamoDB request carries a call id header; on the moto side, inside
  the request lock (`moto_patches.observe_requests`), the items it names are read before and after it
  and priced as DynamoDB on-demand prices them: a write 1 WRU per KB of the larger of the item's
  before and after images (2 in a transaction), each GSI whose entry is added, changed or removed
  1 WRU per KB of the projected entry (a key change: the old entry's delete and the new one's put, on
  their own partitions); a read 1 RRU per 4 KB (half for an eventually consistent read, twice in a
  TransactGetItems, a missing item included), a Query on the sum of the items it evaluated before its
  filter. Every unit is kept with its partition key.
- **Aggregator requests**: `httpx.Client.send` to the aggregators' base URLs is counted and timed.
- **Logs**: what a function writes to stdout (Powertools' JSON logs and EMF metrics) is counted
  against its invocation, then discarded.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from tools.capacity.usage import BASE, InvocationRecord, KeyUnits

CALL_HEADER = "X-Capacity-Call"
KB = 1024
READ_UNIT_BYTES = 4 * KB
SQS_CHUNK_BYTES = 64 * KB
OUTSIDE = "(outside an invocation)"  # the pollers' calls: what Lambda's event source mappings make


@dataclass
class _Units:
    writes: list[KeyUnits] = field(default_factory=list)
    reads: list[KeyUnits] = field(default_factory=list)


@dataclass
class Recording:
    """What the recorder saw while it was installed: the invocations, and what was not one."""

    records: list[InvocationRecord] = field(default_factory=list)
    outside_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (activity, service:Op)
    outside_sqs_chunks: Counter[str] = field(default_factory=Counter)  # activity -> 64 KB chunks
    outside_writes: list[tuple[str, KeyUnits]] = field(default_factory=list)  # (activity, units)
    outside_reads: list[tuple[str, KeyUnits]] = field(default_factory=list)


class Recorder:
    """Patches the process while `installed()`; `activity(name)` labels what runs inside it."""

    def __init__(self, tables: dict[str, str], provider_urls: tuple[str, ...] = ()) -> None:
        self.tables = tables  # physical table name -> logical (infra/spec.py TABLES)
        self.provider_urls = provider_urls  # the aggregators' base URLs: requests to them are counted
        self.recording = Recording()
        self.show_logs = False  # the functions' own lines are counted, and dropped unless this is set
        self.current_activity = "setup"
        self._lock = threading.Lock()
        self._local = threading.local()
        self._call_ids = itertools.count(1)
        self._units_by_call: dict[str, _Units] = {}
        self._instances_seen: set[tuple[str, str, int]] = set()  # (activity, function, instance)
        self._running = 0  # invocations under way
        # botocore copies the session's handlers into each client it builds: a client built inside
        # `installed()` (the functions' cached ones) keeps calling them after it, so they check this.
        self._active = False

    def running(self) -> int:
        """How many invocations are under way."""
        with self._lock:
            return self._running

    # what runs, and where --------------------------------------------------------------------------
    @contextmanager
    def activity(self, name: str) -> Iterator[None]:
        previous, self.current_activity = self.current_activity, name
        try:
            yield
        finally:
            self.current_activity = previous

    def current_record(self) -> InvocationRecord | None:
        """The invocation running in this thread, if any."""
        return getattr(self._local, "record", None)

    # installation ---------------------------------------------------------------------------------
    @contextmanager
    def installed(self) -> Iterator[Recorder]:
        """Patch what is recorded for the duration of the block, then put everything back; enter it
        before the local system starts (its loggers bind stdout)."""
        with ExitStack() as undo:
            self._active = True
            undo.callback(setattr, self, "_active", False)
            self._wrap_invocations(undo)
            self._hook_botocore(undo)
            self._observe_dynamodb(undo)
            self._wrap_provider_requests(undo)
            undo.callback(setattr, sys, "stdout", sys.stdout)
            sys.stdout = _CountingStream(self, sys.stdout)
            yield self

    def _wrap_invocations(self, undo: ExitStack) -> None:
        from local.functions import Functions, InstancePool

        invoke = Functions.invoke
        pool_invoke = InstancePool.invoke
        recorder = self

        @functools.wraps(invoke)
        def recorded(functions: Functions, name: str, event: Any) -> Any:
            record = InvocationRecord(
                function=name, activity=recorder.current_activity, handler_ms=0.0, aws_ms=0.0, provider_ms=0.0
            )
            record.event_bytes = len(json.dumps(event).encode())
            outer, recorder._local.record = recorder.current_record(), record
            with recorder._lock:
                recorder._running += 1
            started = time.perf_counter()
            try:
                result = invoke(functions, name, event)
                record.response_bytes = len(json.dumps(result).encode())
                return result
            finally:
                record.handler_ms = (time.perf_counter() - started) * 1000
                recorder._local.record = outer
                with recorder._lock:
                    recorder.recording.records.append(record)
                    recorder._running -= 1

        @functools.wraps(pool_invoke)
        def noting_the_instance(pool: InstancePool, run: Any) -> Any:
            def run_noted(handler: Any) -> Any:
                record = recorder.current_record()
                if record is not None:
                    seen = (record.activity, record.function, id(handler))
                    with recorder._lock:
                        record.cold = seen not in recorder._instances_seen
                        recorder._instances_seen.add(seen)
                return run(handler)

            return pool_invoke(pool, run_noted)

        undo.callback(setattr, Functions, "invoke", invoke)
        undo.callback(setattr, InstancePool, "invoke", pool_invoke)
        Functions.invoke = recorded  # type: ignore[method-assign,assignment]
        InstancePool.invoke = noting_the_instance  # type: ignore[method-assign,assignment]

    def _hook_botocore(self, undo: ExitStack) -> None:
        import boto3

        events = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
        assert events is not None
        emitter = events.events
        for event, handler in (
            ("before-parameter-build", self._before_call),
            ("before-sign.dynamodb", self._tag_dynamodb_request),
            ("after-call", self._after_call),
        ):
            emitter.register(event, handler)
            undo.callback(emitter.unregister, event, handler)

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self._active:
            return  # a client built while installed, called after: not recorded
        context["capacity_started"] = time.perf_counter()
        context["capacity_call"] = str(next(self._call_ids))
        context["capacity_record"] = self.current_record()
        context["capacity_activity"] = self.current_activity
        service = model.service_model.service_name
        if service == "sqs":
            context["capacity_sqs_chunks"] = _sqs_chunks(model.name, params)

    def _tag_dynamodb_request(self, request: Any, **_: Any) -> None:
        call = request.context.get("capacity_call")
        if call:
            request.headers[CALL_HEADER] = call

    def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        started = context.get("capacity_started")
        if started is None:
            return
        service = model.service_model.service_name
        name = f"{service}:{model.name}"
        record: InvocationRecord | None = context.get("capacity_record")
        activity = context["capacity_activity"]
        with self._lock:
            units = self._units_by_call.pop(context["capacity_call"], None)
        chunks = context.get("capacity_sqs_chunks", 0) + (
            _received_chunks(parsed) if name == "sqs:ReceiveMessage" else 0
        )
        if record is None and name == "sqs:ReceiveMessage" and not parsed.get("Messages"):
            return  # a poller's empty receive: how often depends on this machine (priced as a model)
        with self._lock:
            if record is None:
                self.recording.outside_calls[activity, name] += 1
                self.recording.outside_sqs_chunks[activity] += chunks
                if units:
                    self.recording.outside_writes += [(activity, u) for u in units.writes]
                    self.recording.outside_reads += [(activity, u) for u in units.reads]
                return
            record.aws_ms += (time.perf_counter() - started) * 1000
            record.aws_calls[name] += 1
            record.sqs_requests += chunks
            if units:
                record.writes += units.writes
                record.reads += units.reads

    def _wrap_provider_requests(self, undo: ExitStack) -> None:
        import httpx

        send = httpx.Client.send
        recorder = self

        @functools.wraps(send)
        def counted(client: httpx.Client, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
            record = recorder.current_record()
            if record is None or not str(request.url).startswith(recorder.provider_urls):
                return send(client, request, *args, **kwargs)
            started = time.perf_counter()
            try:
                return send(client, request, *args, **kwargs)
            finally:
                with recorder._lock:
                    record.provider_ms += (time.perf_counter() - started) * 1000
                    record.provider_requests += 1

        undo.callback(setattr, httpx.Client, "send", send)
        httpx.Client.send = counted  # type: ignore[method-assign,assignment]

    # DynamoDB capacity, on moto's side ------------------------------------------------------------
    def _observe_dynamodb(self, undo: ExitStack) -> None:
        from moto.dynamodb.models.table import Table

        from local import moto_patches

        query = Table.query
        signature = inspect.signature(query)
        recorder = self

        @functools.wraps(query)
        def measured(table: Table, *args: Any, **kwargs: Any) -> Any:
            result = query(table, *args, **kwargs)
            evaluated = getattr(recorder._local, "evaluated", None)
            if evaluated is not None:  # what it read before its filter and projection
                arguments = signature.bind(table, *args, **kwargs).arguments
                arguments.pop("self")
                extra = arguments.pop("filter_kwargs", {})
                filtered = arguments["filter_expression"] is not None or arguments["projection_expressions"]
                if filtered:
                    arguments.update(filter_expression=None, projection_expressions=None)
                items = query(table, **arguments, **extra)[0] if filtered else result[0]
                hash_key = arguments["hash_key"]
                evaluated.append((str(hash_key.value) if hash_key else "?", sum(i.size() for i in items)))
            return result

        undo.callback(setattr, Table, "query", query)
        undo.callback(moto_patches.observe_requests, None)
        Table.query = measured  # type: ignore[method-assign,assignment]
        moto_patches.observe_requests(self._dynamodb_request)

    @contextmanager
    def _dynamodb_request(self, handler: Any) -> Iterator[None]:
        call = handler.headers.get(CALL_HEADER)
        if not call:
            yield
            return
        operation = (handler.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        body = json.loads(handler.body or "{}")
        backend = handler.dynamodb_backend
        touched = list(_touched(backend, operation, body))
        before = [_image(table, key) for _, table, key, _ in touched]
        self._local.evaluated = []
        try:
            yield
        finally:
            evaluated, self._local.evaluated = self._local.evaluated, None
            units = _Units()
            for (kind, table, key, consistent), old in zip(touched, before, strict=True):
                logical = self.tables.get(table.name, table.name)
                if kind in ("read", "transact_read"):
                    units.reads.append(_read_units(logical, table, key, old, consistent, kind))
                else:
                    units.writes += _write_units(logical, table, key, old, _image(table, key), kind)
            if operation == "Query":
                units.reads.append(_query_units(self.tables, backend, body, evaluated))
            elif operation == "Scan":  # none in the app (B5); priced on the whole table: an upper bound
                table = backend.get_table(body["TableName"])
                whole = [("*", sum(item.size() for item in table.all_items()))]
                units.reads.append(_query_units(self.tables, backend, body, whole))
            with self._lock:  # a retry of the call (same id) adds its own units
                spent = self._units_by_call.setdefault(call, _Units())
                spent.writes += units.writes
                spent.reads += units.reads


# pricing one request ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Image:
    """What pricing needs of an item at one moment: its size, each GSI's key and entry size."""

    size: int
    fingerprint: str
    gsis: dict[str, tuple[str, str, int]]  # GSI name -> (partition key, sort key, entry size)


def _image(table: Any, key: Any) -> _Image | None:
    from local.moto_patches import table_item

    item = table_item(table, key)
    if item is None:
        return None
    return _Image(
        item.size(), json.dumps(item.to_json(), sort_keys=True, default=str), gsi_entries(table, item)
    )


def gsi_entries(table: Any, item: Any) -> dict[str, tuple[str, str, int]]:
    """The GSI entries a moto item has: GSI name -> (partition key, sort key, projected size)."""
    entries = {}
    for index in table.global_indexes:
        names = [part["AttributeName"] for part in index.schema]
        values = [item.attrs[name].value for name in names if name in item.attrs]
        if len(values) == len(names):
            entries[index.name] = (str(values[0]), str(values[-1]), index.project(item).size())
    return entries


def _touched(backend: Any, operation: str, body: dict[str, Any]) -> Iterator[tuple[str, Any, Any, bool]]:
    """(kind, table, key, consistent) of each item the request names: kind is read, write,
    transact_write / transact_check (write units, twice) or transact_read (read units, twice)."""
    from local.moto_patches import key_of

    def one(
        kind: str, table_name: str, attributes: dict[str, Any], consistent: bool = False
    ) -> Iterator[Any]:
        table = backend.get_table(table_name)
        key = key_of(table, attributes)
        if key is not None:
            yield kind, table, key, consistent

    if operation in ("PutItem",):
        yield from one("write", body["TableName"], body["Item"])
    elif operation in ("UpdateItem", "DeleteItem"):
        yield from one("write", body["TableName"], body["Key"])
    elif operation == "GetItem":
        yield from one("read", body["TableName"], body["Key"], bool(body.get("ConsistentRead")))
    elif operation == "BatchWriteItem":
        for table_name, requests in body.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    yield from one("write", table_name, request["PutRequest"]["Item"])
                else:
                    yield from one("write", table_name, request["DeleteRequest"]["Key"])
    elif operation == "BatchGetItem":
        for table_name, asked in body.get("RequestItems", {}).items():
            for key in asked.get("Keys", []):
                yield from one("read", table_name, key, bool(asked.get("ConsistentRead")))
    elif operation == "TransactWriteItems":
        for entry in body.get("TransactItems", []):
            for action, request in entry.items():
                attributes = request.get("Item") or request.get("Key") or {}
                kind = "transact_check" if action == "ConditionCheck" else "transact_write"
                yield from one(kind, request["TableName"], attributes)
    elif operation == "TransactGetItems":
        for entry in body.get("TransactItems", []):
            request = entry["Get"]
            yield from one("transact_read", request["TableName"], request["Key"], True)


def _partition(key: Any) -> str:
    return str(key[0].value)


def _read_units(
    logical: str, table: Any, key: Any, image: _Image | None, consistent: bool, kind: str = "read"
) -> KeyUnits:
    """1 RRU per 4 KB strongly consistent, half eventually consistent, twice in a transaction."""
    size = image.size if image else 0
    factor = 2.0 if kind == "transact_read" else 1.0 if consistent else 0.5
    units = max(math.ceil(size / READ_UNIT_BYTES), 1) * factor
    return KeyUnits(logical, BASE, _partition(key), units)


def _write_units(
    logical: str, table: Any, key: Any, old: _Image | None, new: _Image | None, kind: str
) -> list[KeyUnits]:
    """The base table's units (twice in a transaction; a condition check too: conservative) and each
    GSI's (at standard rates: an index is updated after the transaction, not inside it)."""
    factor = 2.0 if kind.startswith("transact") else 1.0
    larger = max(old.size if old else 0, new.size if new else 0)
    units = [KeyUnits(logical, BASE, _partition(key), max(math.ceil(larger / KB), 1) * factor)]
    if kind == "transact_check" or (old and new and old.fingerprint == new.fingerprint):
        return units  # nothing changed: no index is written
    for gsi in sorted(set(old.gsis if old else {}) | set(new.gsis if new else {})):
        before = old.gsis.get(gsi) if old else None
        after = new.gsis.get(gsi) if new else None
        if before and after and before[:2] == after[:2]:
            units.append(KeyUnits(logical, gsi, after[0], max(math.ceil(after[2] / KB), 1)))
            continue
        if before:
            units.append(KeyUnits(logical, gsi, before[0], max(math.ceil(before[2] / KB), 1)))
        if after:
            units.append(KeyUnits(logical, gsi, after[0], max(math.ceil(after[2] / KB), 1)))
    return units


def _query_units(
    tables: dict[str, str], backend: Any, body: dict[str, Any], evaluated: list[tuple[str, int]]
) -> KeyUnits:
    """A Query's units on its partition (moto's own hash key), from the bytes it read before its filter."""
    table = backend.get_table(body["TableName"])
    index = body.get("IndexName") or BASE
    partition = evaluated[0][0] if evaluated else "?"
    consistent = bool(body.get("ConsistentRead"))
    read = sum(size for _, size in evaluated)
    units = max(math.ceil(read / READ_UNIT_BYTES), 1) * (1.0 if consistent else 0.5)
    return KeyUnits(tables.get(table.name, table.name), index, partition, units)


# SQS's billed chunks ------------------------------------------------------------------------------
def _sqs_chunks(operation: str, body: dict[str, Any]) -> int:
    if operation == "SendMessage":
        return max(math.ceil(len(str(body.get("MessageBody", "")).encode()) / SQS_CHUNK_BYTES), 1)
    if operation == "SendMessageBatch":
        size = sum(len(str(entry.get("MessageBody", "")).encode()) for entry in body.get("Entries", []))
        return max(math.ceil(size / SQS_CHUNK_BYTES), 1)
    return 1  # every other request is one (a delete batch, a receive's request)


def _received_chunks(parsed: dict[str, Any]) -> int:
    """A receive's payload beyond its first 64 KB (the request itself was counted once)."""
    size = sum(len(str(message.get("Body", "")).encode()) for message in parsed.get("Messages", []))
    return max(math.ceil(size / SQS_CHUNK_BYTES) - 1, 0)


class _CountingStream:
    """stdout, counting what each invocation writes (its CloudWatch Logs ingestion) and dropping it;
    what is written outside an invocation passes through."""

    def __init__(self, recorder: Recorder, stream: TextIO) -> None:
        self._recorder = recorder
        self._stream = stream

    def write(self, text: str) -> int:
        record = self._recorder.current_record()
        if record is None:
            return self._stream.write(text)
        record.log_bytes += len(text.encode())
        return self._stream.write(text) if self._recorder.show_logs else len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
