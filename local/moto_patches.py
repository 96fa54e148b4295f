"""moto's DynamoDB made fit for load, for the local system, the tests and the benches alike (issue 19).

moto is the local AWS; three things in its DynamoDB grow with the table or break under concurrency,
and each is replaced here by the smallest change that keeps moto's own semantics (its validation,
its condition evaluation, its error bodies):

1. **Requests run one at a time.** moto's backends are plain Python objects, and its server answers
   each request on its own thread: two concurrent writes could interleave inside one transaction.
   Every DynamoDB request now runs under one lock, so each is atomic and isolated against every
   other, as DynamoDB's are (transactions serialised against each other and against single-item
   writes; reads never see a transaction half applied). moto's DynamoDB is pure Python under the
   GIL, so the lock costs no parallelism that was there.
2. **Transactions keep an undo log of their own items**, not a copy of the table. moto's
   `transact_write_items` deep-copies every table it names before applying, and puts that copy
   back if the transaction is cancelled: time and memory in proportion to the table on every
   transaction (10 transactions on 3,130 items: +69 MB, 1.25 s), and, with concurrent requests, a
   cancelled transaction restored writes that others had committed meanwhile. Here the table copy is
   skipped, each named item's state before the transaction is kept, and put back on cancellation.
3. **A Query reads a window of its partition, not the table.** moto's `Table.query` starts from
   `all_items()` (every item of the table, sorted) for every Query, on the base table or an index.
   Here each partition (the base table's, and each global secondary index's) is kept in key order
   on plain values (built at its first Query, updated on every write), and moto is handed only the
   window a Query can read: what its key condition keeps, after its ExclusiveStartKey, in its
   direction, its Limit plus one (so moto's own paging sees where the page ends). moto then checks,
   pages, filters and projects those candidates as before. A test that replaces a table's items
   wholesale calls `items_replaced(table)`.

Also: moto's `Table.get_item` of a missing partition left an empty partition behind (its items
are a defaultdict), one per miss, for the life of the process; now it does not. And moto's SQS read
its whole queue on every call: `ReceiveMessage` built the list of every visible message to take the
first ten, `DeleteMessage` scanned the queue twice and rebuilt it per receipt handle (receive and
delete of 10 messages: 3 ms on a queue of 10, 2.4 s on a queue of 5,000 — a Data Refresh's fan-out
queues thousands). Here the visible messages are read lazily, up to what the call takes, a delete
removes its own message (found in a copy of the list, removed by identity), and a send computes no
queue counts.

`install()` is idempotent and process-wide: `local/fake_aws.py` calls it before moto serves, the
test suite's conftest at import. What it changes is tested in tests/integration/test_moto_patches.py
(atomicity and isolation with threads, equivalence of Query results) and measured by
tests/perf/test_moto_scaling.py (cost per call as the table grows).
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

from moto.core.utils import unix_time
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

__all__ = [
    "REQUEST_LOCK",
    "install",
    "items_replaced",
    "key_of",
    "named_items",
    "observe_requests",
    "table_item",
]

REQUEST_LOCK = threading.RLock()  # every DynamoDB request holds it (item 1)
# Wraps every DynamoDB request, inside the lock, when set: tools/capacity/record.py (issue 20) reads
# the items a request touches before and after it, to count the capacity units it costs.
RequestObserver = Callable[[DynamoHandler], AbstractContextManager[None]]
_observer: RequestObserver | None = None
_install_lock = threading.Lock()
_installed = False

ItemKey = tuple[DynamoType, DynamoType | None]


def install() -> None:
    """Apply the changes above to moto, once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _serialise_requests()
        _undo_log_transactions()
        _partition_queries()
        _no_empty_partitions()
        _sqs_reads_what_it_takes()
        _installed = True


# 1. one request at a time ------------------------------------------------------------------------
def _serialise_requests() -> None:
    call_action = DynamoHandler.call_action

    @functools.wraps(call_action)
    def one_at_a_time(self: DynamoHandler) -> Any:
        with REQUEST_LOCK:
            if _observer is None:
                return call_action(self)
            with _observer(self):
                return call_action(self)

    DynamoHandler.call_action = one_at_a_time  # type: ignore[method-assign]


def observe_requests(observer: RequestObserver | None) -> None:
    """Let `observer(handler)` wrap every DynamoDB request from now on (None: stop)."""
    global _observer
    _observer = observer


# 2. transactions with an undo log ----------------------------------------------------------------
def _undo_log_transactions() -> None:
    # moto's module copies each named table with `copy.deepcopy(table)`: tables pass through uncopied
    # (its rollback then assigns each table to itself); every other deepcopy there is moto's own.
    dynamodb_models.copy = SimpleNamespace(  # type: ignore[assignment]
        deepcopy=lambda value, *args: value if isinstance(value, Table) else copy.deepcopy(value, *args),
        copy=copy.copy,
    )
    transact = DynamoDBBackend.transact_write_items

    @functools.wraps(transact)
    def with_undo_log(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = [
            (table, key, copy.deepcopy(table_item(table, key)))
            for table, key in named_items(self, transact_items)
        ]
        try:
            transact(self, transact_items)
        except Exception:
            for table, key, before in reversed(saved):
                restore_item(table, key, before)
            raise

    DynamoDBBackend.transact_write_items = with_undo_log  # type: ignore[method-assign]


def named_items(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> Iterator[tuple[Table, ItemKey]]:
    """The (table, key) of each item a transaction names that moto could write (moto refuses the others
    before writing anything)."""
    for entry in transact_items:
        for operation in entry.values():
            try:
                table = backend.get_table(operation.get("TableName"))  # a name or an ARN, as moto takes it
            except ResourceNotFoundException:
                continue
            if key := key_of(table, operation.get("Item") or operation.get("Key") or {}):
                yield table, key


def key_of(table: Table, attributes: dict[str, Any]) -> ItemKey | None:
    """The stored key of the item these attributes (an item, or a key) name; None if they lack a part."""
    if table.hash_key_attr not in attributes or (
        table.range_key_attr is not None and table.range_key_attr not in attributes
    ):
        return None
    range_value = attributes.get(table.range_key_attr) if table.range_key_attr else None
    return DynamoType(attributes[table.hash_key_attr]), DynamoType(range_value) if range_value else None


def table_item(table: Table, key: ItemKey) -> Item | None:
    hash_value, range_value = key
    partition = table.items.get(hash_value)
    if partition is None or range_value is None:
        return partition  # type: ignore[return-value]  # a hash-only table's value is the item
    return partition.get(range_value)  # type: ignore[no-any-return]


def restore_item(table: Table, key: ItemKey, item: Item | None) -> None:
    hash_value, range_value = key
    if item is None:
        table.delete_item(hash_value, range_value)
        return
    if range_value is None:
        table.items[hash_value] = item  # type: ignore[assignment]
    else:
        table.items[hash_value][range_value] = item
    _reindex(table, key)


# 3. a Query starts from its partition ------------------------------------------------------------
def _partition_queries() -> None:
    query = Table.query
    signature = inspect.signature(query)

    @functools.wraps(query)
    def from_partition(self: Table, *args: Any, **kwargs: Any) -> Any:
        candidates = _candidates(self, signature.bind(self, *args, **kwargs).arguments)
        if candidates is None:
            return query(self, *args, **kwargs)
        # moto's query reads its candidates from `self.all_items()`; this request holds REQUEST_LOCK.
        self.all_items = lambda: candidates  # type: ignore[method-assign]
        try:
            return query(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = from_partition  # type: ignore[method-assign]

    put_item, delete_item = Table.put_item, Table.delete_item

    @functools.wraps(put_item)
    def put_and_index(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        try:
            return put_item(self, item_attrs, *args, **kwargs)
        finally:
            if key := key_of(self, item_attrs):
                _reindex(self, key)

    @functools.wraps(delete_item)
    def delete_and_index(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        try:
            return delete_item(self, hash_key, range_key)
        finally:
            _reindex(self, (hash_key, range_key))

    Table.put_item = put_and_index  # type: ignore[method-assign]
    Table.delete_item = delete_and_index  # type: ignore[method-assign]

    update_item = DynamoDBBackend.update_item

    @functools.wraps(update_item)
    def update_and_index(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Item:
        try:
            return update_item(self, table_name, key, *args, **kwargs)  # changes the stored item in place
        finally:  # also when it failed half way (an attribute set, then the item too large)
            table = self.get_table(table_name)
            if item_key := key_of(table, key):
                _reindex(table, item_key)

    DynamoDBBackend.update_item = update_and_index  # type: ignore[method-assign]


SortKey = tuple[Any, ...]  # plain values: (the index's or the table's sort key, the table's keys)


def _base_sort_key(key: ItemKey) -> SortKey:
    """An item's place in its base-table partition: its sort key's plain value."""
    return (key[1].cast_value if key[1] else "",)


@dataclass
class _Sorted:
    """One partition in key order: its items' sort keys ascending, their item keys beside them."""

    keys: list[SortKey] = field(default_factory=list)
    members: list[ItemKey] = field(default_factory=list)

    def add(self, sort_key: SortKey, member: ItemKey) -> None:
        at = bisect.bisect_left(self.keys, sort_key)
        if at < len(self.keys) and self.keys[at] == sort_key:
            self.members[at] = member
            return
        self.keys.insert(at, sort_key)
        self.members.insert(at, member)

    def remove(self, sort_key: SortKey) -> None:
        at = bisect.bisect_left(self.keys, sort_key)
        if at < len(self.keys) and self.keys[at] == sort_key:
            del self.keys[at], self.members[at]


@dataclass
class _Index:
    """A table's partitions in key order, for the base table (`hash_attribute` None) or one global
    secondary index: built at its first Query (a base-table partition at the first Query of that
    partition), then kept on every write."""

    hash_attribute: str | None
    range_attribute: str | None
    partitions: dict[DynamoType, _Sorted] = field(default_factory=dict)
    where: dict[ItemKey, tuple[DynamoType, SortKey]] = field(default_factory=dict)  # GSI: each member's place

    def place(self, item: Item) -> tuple[DynamoType, SortKey] | None:
        """Where the item sits in this index: (its partition, its sort key), None when not in it."""
        if self.hash_attribute is None:
            return item.hash_key, _base_sort_key((item.hash_key, item.range_key))
        table_keys = (item.hash_key.cast_value, item.range_key.cast_value if item.range_key else "")
        value = item.attrs.get(self.hash_attribute)
        if value is None:
            return None
        if self.range_attribute is None:
            return value, ("", *table_keys)
        if self.range_attribute not in item.attrs:
            return None  # not in the index (DynamoDB indexes items with every key attribute)
        return value, (item.attrs[self.range_attribute].cast_value, *table_keys)

    def put(self, key: ItemKey, item: Item | None) -> None:
        if self.hash_attribute is None:  # a base-table partition: kept once built
            partition = self.partitions.get(key[0])
            if partition is not None:
                if item is None:
                    partition.remove(_base_sort_key(key))
                    if not partition.keys:
                        del self.partitions[key[0]]  # built again (empty) if it is queried again
                else:
                    partition.add(_base_sort_key(key), key)
            return
        old, new = self.where.get(key), self.place(item) if item is not None else None
        if old == new:
            return
        if old is not None:
            self.partitions[old[0]].remove(old[1])
            if not self.partitions[old[0]].keys:
                del self.partitions[old[0]]
            del self.where[key]
        if new is not None:
            self.partitions.setdefault(new[0], _Sorted()).add(new[1], key)
            self.where[key] = new


def items_replaced(table: Table) -> None:
    """Forget the table's indexes after its items were replaced wholesale (`table.items = ...`, as a
    test's checkpoint does): they are built again at the next Query."""
    table.__dict__.pop("_local_indexes", None)


def _indexes(table: Table) -> dict[str, _Index]:
    """The table's indexes built so far: "" is the base table's, else a GSI's name."""
    indexes: dict[str, _Index] = table.__dict__.setdefault("_local_indexes", {})
    return indexes


def _reindex(table: Table, key: ItemKey) -> None:
    indexes = table.__dict__.get("_local_indexes")
    if indexes:
        item = table_item(table, key)
        for index in indexes.values():
            index.put(key, item)


def _candidates(table: Table, arguments: dict[str, Any]) -> list[Item] | None:
    """The items a Query can return, in key order and no more than it can read, or None when moto's
    own way must run (an index with several hash attributes, a local index, a legacy QueryFilter)."""
    index_name = arguments.get("index_name")
    if arguments.get("filter_kwargs"):
        return None
    if not index_name:
        hash_value = arguments.get("hash_key")
        if hash_value is None:
            return None
        if not table.has_range_key:
            item = table.items.get(hash_value)
            return [item] if item is not None else []  # type: ignore[list-item]
        index = _indexes(table).setdefault("", _Index(None, None))
        if hash_value not in index.partitions:
            built = _Sorted()
            for item in (table.items.get(hash_value) or {}).values():
                key = (item.hash_key, item.range_key)
                built.add(_base_sort_key(key), key)
            index.partitions[hash_value] = built
    else:
        gsi = next((each for each in table.global_indexes or [] if each.name == index_name), None)
        hashes = [part["AttributeName"] for part in (gsi.schema if gsi else []) if part["KeyType"] == "HASH"]
        conditions = dict(arguments.get("hash_key_conditions") or [])
        if gsi is None or len(hashes) != 1 or set(conditions) != set(hashes):
            return None
        index = _indexes(table).get(index_name)  # type: ignore[assignment]
        if index is None or index.hash_attribute != hashes[0]:
            ranges = [part["AttributeName"] for part in gsi.schema if part["KeyType"] == "RANGE"]
            index = _Index(hashes[0], ranges[0] if ranges else None)
            for member in _every_item(table):
                index.put((member.hash_key, member.range_key), member)
            _indexes(table)[index_name] = index
        hash_value = conditions[hashes[0]]
    partition = index.partitions.get(hash_value)
    if partition is None:
        return []
    members = _window(table, index, partition, arguments)
    found = [table_item(table, member) for member in members]
    return [item for item in found if item is not None]


def _window(table: Table, index: _Index, partition: _Sorted, arguments: dict[str, Any]) -> list[ItemKey]:
    """The members a Query reads: those its sort key condition keeps, after its ExclusiveStartKey, in
    its direction, and one more than its Limit (moto's own paging sees where the page ends)."""
    keys, low, high = partition.keys, 0, len(partition.keys)
    comparison = (arguments.get("range_comparison") or "").upper()
    values = [each.cast_value for each in arguments.get("range_objs") or []]
    first = itemgetter(0)  # a sort key's first element: the key condition's attribute
    if comparison in ("=", "EQ"):
        low, high = (
            bisect.bisect_left(keys, values[0], key=first),
            bisect.bisect_right(keys, values[0], key=first),
        )
    elif comparison in ("<", "LT"):
        high = bisect.bisect_left(keys, values[0], key=first)
    elif comparison in ("<=", "LE"):
        high = bisect.bisect_right(keys, values[0], key=first)
    elif comparison in (">", "GT"):
        low = bisect.bisect_right(keys, values[0], key=first)
    elif comparison in (">=", "GE"):
        low = bisect.bisect_left(keys, values[0], key=first)
    elif comparison == "BETWEEN":
        low, high = (
            bisect.bisect_left(keys, values[0], key=first),
            bisect.bisect_right(keys, values[1], key=first),
        )
    elif comparison == "BEGINS_WITH" and isinstance(values[0], str) and values[0]:
        prefix = values[0]
        low = bisect.bisect_left(keys, prefix, key=first)
        high = bisect.bisect_left(keys, prefix[:-1] + chr(ord(prefix[-1]) + 1), key=first)
    elif comparison:
        return list(partition.members)  # a comparison not placed here: moto applies it to the partition
    forward = arguments.get("scan_index_forward", True) is not False
    if start := arguments.get("exclusive_start_key"):
        after = _start_key(table, index, start)
        if after is None:
            return list(partition.members)
        if forward:
            low = max(low, bisect.bisect_right(keys, after))
        else:
            high = min(high, bisect.bisect_left(keys, after))
    limit = arguments.get("limit")
    if limit is not None and high - low > limit + 1:
        low, high = (low, low + limit + 1) if forward else (high - limit - 1, high)
    return partition.members[low:high]


def _start_key(table: Table, index: _Index, start: dict[str, Any]) -> SortKey | None:
    """An ExclusiveStartKey's place in the index's order (None: not one this index can place)."""
    try:
        table_hash = DynamoType(start[table.hash_key_attr]).cast_value
        table_range = DynamoType(start[table.range_key_attr]).cast_value if table.range_key_attr else ""
        if index.hash_attribute is None:
            return (table_range,)
        if index.range_attribute is None:
            return ("", table_hash, table_range)
        return (DynamoType(start[index.range_attribute]).cast_value, table_hash, table_range)
    except (KeyError, TypeError, AttributeError, IndexError):
        return None


def _every_item(table: Table) -> Iterator[Item]:
    for partition in table.items.values():
        if table.has_range_key:
            yield from partition.values()
        else:
            yield partition  # type: ignore[misc]


# moto's get_item and delete_item of a missing partition ------------------------------------------
def _no_empty_partitions() -> None:
    get_item, delete_item = Table.get_item, Table.delete_item

    @functools.wraps(get_item)
    def get_without_leaving_a_partition(
        self: Table, hash_key: DynamoType, range_key: DynamoType | None = None, *args: Any, **kwargs: Any
    ) -> Item | None:
        if range_key and hash_key not in self.items:
            return None
        return get_item(self, hash_key, range_key, *args, **kwargs)

    @functools.wraps(delete_item)
    def delete_without_leaving_a_partition(
        self: Table, hash_key: DynamoType, range_key: DynamoType | None
    ) -> Item | None:
        if range_key and hash_key not in self.items:
            return None
        deleted = delete_item(self, hash_key, range_key)
        if range_key and not self.items.get(hash_key):
            self.items.pop(hash_key, None)  # the partition's last item: no empty partition stays
        return deleted

    Table.get_item = get_without_leaving_a_partition  # type: ignore[method-assign]
    Table.delete_item = delete_without_leaving_a_partition  # type: ignore[method-assign]


# SQS: a call reads what it takes ------------------------------------------------------------------
def _sqs_reads_what_it_takes() -> None:
    Queue.messages = property(_VisibleMessages)  # type: ignore[assignment,method-assign]

    def within_retention(self: SQSBackend, queue_name: str, message: Message) -> bool:
        # moto's computed every attribute of the queue three times per message received, its counts
        # of messages (each a read of the whole queue) among them, to read this one
        retention_period = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = within_retention  # type: ignore[method-assign]

    # moto's send reads one queue attribute (ContentBasedDeduplication) through `Queue.attributes`,
    # which computes them all, the three message counts among them (each a read of the whole queue):
    # during a send, on its own thread, the counts are not computed (nothing in a send reads them)
    send_message = SQSBackend.send_message

    @functools.wraps(send_message)
    def send_without_counting(self: SQSBackend, *args: Any, **kwargs: Any) -> Message:
        _sending.active = True
        try:
            return send_message(self, *args, **kwargs)
        finally:
            _sending.active = False

    SQSBackend.send_message = send_without_counting  # type: ignore[method-assign]
    for name in _COUNTS:
        count = getattr(Queue, name).fget
        setattr(Queue, name, property(functools.partial(_count_unless_sending, count)))

    def delete_message(self: Queue, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: deleting again succeeds, as moto's own does
        # found in a copy, removed by identity (one call, atomic): another thread's delete or move to
        # the dead-letter queue may change the list meanwhile, never make this remove another message
        found = next((each for each in list(self._messages) if each.had_receipt_handle(receipt_handle)), None)
        if found is None:
            raise ReceiptHandleIsInvalid()
        with contextlib.suppress(ValueError):  # removed by a concurrent delete of the same message
            self._messages.remove(found)
        self.pending_messages.discard(found)
        self.deleted_messages.update(found.all_receipt_handles)  # type: ignore[arg-type]

    Queue.delete_message = delete_message  # type: ignore[method-assign]


_sending = threading.local()
_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)


def _count_unless_sending(count: Any, queue: Queue) -> int:
    return 0 if getattr(_sending, "active", False) else int(count(queue))


class _VisibleMessages:
    """moto's `Queue.messages` (its visible, undelayed messages), read as far as the reader goes:
    `ReceiveMessage` iterates it and stops at its count, a long poll asks only whether there is one."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def __iter__(self) -> Iterator[Message]:
        return (message for message in self._queue._messages if message.visible and not message.delayed)

    def __bool__(self) -> bool:
        return any(True for _ in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)
