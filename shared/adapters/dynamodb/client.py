"""The DynamoDB client and item (de)serialisation, built on first use and cached.

The low-level client is used rather than the boto3 resource: it initialises faster
(cold start) and the serialiser below gives the same Decimal-exact conversion.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from shared.adapters.aws_clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def dynamodb_client() -> DynamoDBClient:
    return aws_client("dynamodb")  # type: ignore[no-any-return]


@cache
def _serializers() -> tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values (str, Decimal, int, bool, dict, list, None) to a DynamoDB item."""
    serializer, _ = _serializers()
    return {name: serializer.serialize(value) for name, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    _, deserializer = _serializers()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def query_pages(table_name: str, **query: Any) -> Iterator[list[dict[str, Any]]]:
    """A Query's items as plain values, a page at a time (one Query per page; empty pages skipped).
    `query` holds the Query's other arguments (KeyConditionExpression, IndexName, ...)."""
    for page in dynamodb_client().get_paginator("query").paginate(TableName=table_name, **query):
        if page["Items"]:
            yield [from_item(raw) for raw in page["Items"]]


def query_prefix(
    table_name: str, pk: str, sk_prefix: str, *, consistent: bool = False
) -> list[dict[str, Any]]:
    """Every item of the partition `pk` whose sort key starts with `sk_prefix`, in sort-key order:
    one Query per page (a collection read whole: a customer's accounts, a file, a person's links)."""
    pages = query_pages(
        table_name,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues=to_item({":pk": pk, ":prefix": sk_prefix}),
        ConsistentRead=consistent,
    )
    return [item for page in pages for item in page]


BATCH_GET_LIMIT = 100  # keys per BatchGetItem call
_BATCH_GET_ATTEMPTS = 8


def batch_get(
    table_name: str, keys: list[dict[str, Any]], *, consistent: bool = False
) -> list[dict[str, Any]]:
    """The items that exist among `keys` (each {"PK": …, "SK": …}), one BatchGetItem per 100
    keys; keys DynamoDB leaves unprocessed (throttling) are asked again with backoff. Order is not
    kept: callers index the items by what they need."""
    import time

    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: Any = {
            table_name: {
                "Keys": [to_item(key) for key in keys[start : start + BATCH_GET_LIMIT]],
                "ConsistentRead": consistent,
            }
        }
        for attempt in range(_BATCH_GET_ATTEMPTS):
            response = dynamodb_client().batch_get_item(RequestItems=request)
            found += [from_item(raw) for raw in response["Responses"].get(table_name, [])]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after every retry")
    return found


BATCH_WRITE_SIZE = 25  # requests per BatchWriteItem call
_BATCH_WRITE_ATTEMPTS = 10


def batch_write(table_name: str, requests: list[dict[str, Any]]) -> None:
    """BatchWriteItem, 25 requests ({"PutRequest": …} or {"DeleteRequest": …}) a call; what DynamoDB
    leaves unprocessed (throttling) is sent again with backoff."""
    import time

    client = dynamodb_client()
    for start in range(0, len(requests), BATCH_WRITE_SIZE):
        pending: dict[str, Any] = {table_name: requests[start : start + BATCH_WRITE_SIZE]}
        for attempt in range(_BATCH_WRITE_ATTEMPTS):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError("DynamoDB kept throttling the batch writes")


def transact_or_raise(items: list[dict[str, Any]], conflict: type[Exception]) -> None:
    """TransactWriteItems; a failed condition (the whole transaction cancelled) raises `conflict`.
    Chained puts among `items` (audit events) are placed as `write_chained` does."""
    from botocore.exceptions import ClientError

    try:
        write_chained(items)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("TransactionCanceledException", _CONDITION_FAILED):
            raise conflict() from None
        raise


class ChainedPut(dict[str, Any]):
    """A {"Put": ...} that takes the next position of a chain (an audit log's lane), built from the
    chain's tip read when it was made and put only if that position is free. `write_chained` (and
    `transact_or_raise`) place several of one chain in one transaction one after the other, and build
    them again from the new tip when another writer took the position first."""

    @property
    def chain(self) -> tuple[str, str]:
        """The table and partition of the chain."""
        raise NotImplementedError

    def rebuild(self) -> None:
        """Read a tip again (of any of the writer's chains) and take the position after it."""
        raise NotImplementedError

    def follow(self, previous: ChainedPut) -> None:
        """Take the position after `previous`, of the same chain and the same transaction."""
        raise NotImplementedError


_CHAIN_ATTEMPTS = 10  # each lost race means another writer's event landed: progress, not a loop
_CONDITION_FAILED = "ConditionalCheckFailedException"
_RACE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def write_chained(items: list[dict[str, Any]]) -> None:
    """TransactWriteItems of `items` (a lone chained put: one PutItem). When DynamoDB refuses it only
    because chained puts lost their positions to other writers (their condition, or a concurrent
    transaction on that item), those puts are built again from their chains' new tips and the write is
    sent again; any other refusal is raised as it came. The one place where audit events race."""
    from botocore.exceptions import ClientError

    chained = [item for item in items if isinstance(item, ChainedPut)]
    for attempt in range(_CHAIN_ATTEMPTS):
        _one_after_another(chained)
        try:
            if len(items) == 1 and chained:
                dynamodb_client().put_item(**chained[0]["Put"])
            else:
                dynamodb_client().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            return
        except ClientError as error:
            if attempt == _CHAIN_ATTEMPTS - 1 or not _lost_positions(items, error.response):
                raise
            for put in chained:
                put.rebuild()


def _one_after_another(chained: list[ChainedPut]) -> None:
    last: dict[tuple[str, str], ChainedPut] = {}
    for put in chained:
        if put.chain in last:
            put.follow(last[put.chain])
        last[put.chain] = put


def _lost_positions(items: list[dict[str, Any]], response: Any) -> bool:
    code = response["Error"]["Code"]
    if code == _CONDITION_FAILED:
        return len(items) == 1 and isinstance(items[0], ChainedPut)
    failed = [
        (item, reason.get("Code"))
        for item, reason in zip(items, response.get("CancellationReasons") or [], strict=False)
        if reason.get("Code") not in (None, "None")
    ]
    return (
        code == "TransactionCanceledException"
        and bool(failed)
        and all(isinstance(item, ChainedPut) and reason in _RACE_REASONS for item, reason in failed)
    )


TRANSACTION_LIMIT = 100  # items per TransactWriteItems


def transact_removals(groups: list[list[dict[str, Any]]]) -> None:
    """Remove things in as few TransactWriteItems as fit (100 items each), each group whole: a group
    is a Delete conditioned on its item being there (`attribute_exists`) and what must move with it (a
    counter). A transaction refused because some group's item is gone already (a retry, or another
    clean-up that got there first) is sent again a group at a time, skipping those: idempotent and
    resumable, nothing moved twice. Any other refusal is raised."""
    from botocore.exceptions import ClientError

    def send(chosen: list[list[dict[str, Any]]]) -> bool:
        try:
            dynamodb_client().transact_write_items(TransactItems=[i for g in chosen for i in g])  # type: ignore[misc]
            return True
        except ClientError as error:
            reasons = {r.get("Code") for r in error.response.get("CancellationReasons") or []}
            if error.response["Error"]["Code"] != "TransactionCanceledException" or (
                "ConditionalCheckFailed" not in reasons
            ):
                raise
            return False

    batch: list[list[dict[str, Any]]] = []
    for group in [*groups, []]:
        if batch and (not group or sum(map(len, batch)) + len(group) > TRANSACTION_LIMIT):
            if not send(batch):
                for one in batch:
                    send([one])
            batch = []
        if group:
            batch.append(group)
