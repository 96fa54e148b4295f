"""A person's in-app notifications, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.domain.errors import NotFound
from shared.domain.notifications import Notification


@dataclass
class NotificationsRepository:
    table_name: str

    def add(self, notification: Notification) -> None:
        dynamodb_client().put_item(TableName=self.table_name, Item=to_item(_values(notification)))

    def page(self, user_id: str, *, cursor: str | None, limit: int) -> tuple[list[Notification], str | None]:
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": to_item(
                {":pk": keys.user_pk(user_id), ":prefix": keys.NOTIFICATION_PREFIX}
            ),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        last = decode_cursor(cursor)
        if last:
            query["ExclusiveStartKey"] = to_item(
                {"PK": keys.user_pk(user_id), "SK": keys.notification_sk(last)}
            )
        response = query_page(query)
        evaluated = response.get("LastEvaluatedKey")
        next_cursor = (
            encode_cursor(evaluated["SK"]["S"].removeprefix(keys.NOTIFICATION_PREFIX)) if evaluated else None
        )
        return [_notification(from_item(raw)) for raw in response["Items"]], next_cursor

    def mark_read(self, user_id: str, notification_id: str, now: datetime) -> None:
        try:
            dynamodb_client().update_item(
                TableName=self.table_name,
                Key=to_item({"PK": keys.user_pk(user_id), "SK": keys.notification_sk(notification_id)}),
                UpdateExpression="SET read_at = if_not_exists(read_at, :now)",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues=to_item({":now": now.isoformat()}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFound() from None
            raise


def _values(notification: Notification) -> dict[str, Any]:
    return {
        "PK": keys.user_pk(notification.user_id),
        "SK": keys.notification_sk(notification.notification_id),
        "type": "notification",
        "user_id": notification.user_id,
        "notification_id": notification.notification_id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "firm_id": notification.firm_id,
        "created_at": notification.created_at.isoformat(),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
    }


def _notification(item: dict[str, Any]) -> Notification:
    return Notification(
        user_id=item["user_id"],
        notification_id=item["notification_id"],
        kind=item["kind"],
        title=item["title"],
        body=item["body"],
        firm_id=item.get("firm_id"),
        created_at=datetime.fromisoformat(item["created_at"]),
        read_at=datetime.fromisoformat(item["read_at"]) if item.get("read_at") else None,
    )
