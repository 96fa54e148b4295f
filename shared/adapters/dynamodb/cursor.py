"""Opaque page cursors.

A cursor carries only the last row's sort value; the repository rebuilds the full start
key from the caller's own scope, so a forged cursor can never reach another partition.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shared.domain.errors import InvalidRequest


def encode_cursor(last_sort_value: str) -> str:
    return base64.urlsafe_b64encode(last_sort_value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        decoded = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded:
        raise InvalidRequest("The page cursor is not valid.", code="invalid_cursor")
    return decoded


def query_page(query: dict[str, Any]) -> dict[str, Any]:
    """One Query; a start key that DynamoDB refuses (a forged or stale cursor outside the
    query's range) is the caller's invalid cursor, not a server error."""
    from botocore.exceptions import ClientError

    from shared.adapters.dynamodb.client import dynamodb_client

    try:
        return dynamodb_client().query(**query)
    except ClientError as error:
        if "ExclusiveStartKey" in query and error.response["Error"]["Code"] == "ValidationException":
            raise InvalidRequest("The page cursor is not valid.", code="invalid_cursor") from None
        raise
