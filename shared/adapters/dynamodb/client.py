"""The DynamoDB client and item (de)serialisation, built on first use and cached.

The low-level client is used rather than the boto3 resource: it initialises faster
(cold start) and the serialiser below gives the same Decimal-exact conversion.
"""

from __future__ import annotations

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


def transact_or_raise(items: list[dict[str, Any]], conflict: type[Exception]) -> None:
    """TransactWriteItems; a failed condition (the whole transaction cancelled) raises `conflict`."""
    from botocore.exceptions import ClientError

    try:
        dynamodb_client().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
    except ClientError as error:
        if error.response["Error"]["Code"] == "TransactionCanceledException":
            raise conflict() from None
        raise
