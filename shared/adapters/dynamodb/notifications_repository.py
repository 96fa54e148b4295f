"""A person's in-app notifications, newest first (access patterns 20, 60, 61 in keys.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, query_pages, to_item, write_chained
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.domain.errors import NotFound
from shared.domain.notifications import Notification, event_fingerprint, first_id_at

PEOPLE_PER_TRANSACTION = 50  # a notification and its event marker each: DynamoDB's 100 items
EVENT_MARKER_KEPT = timedelta(days=90)  # then TTL removes the marker (no worker retries that late)


@dataclass
class NotificationsRepository:
    table_name: str

    def add(self, notification: Notification) -> None:
        dynamodb_client().put_item(TableName=self.table_name, Item=to_item(_values(notification)))

    def add_once(self, event_key: str, notifications: Sequence[Notification]) -> int:
        """One transaction per 50 people: each notification with its person's marker of the event,
        both put only if absent. A transaction refused because someone of it was notified already
        (a retry) is written again person by person, skipping those."""
        fingerprint = event_fingerprint(event_key)
        written = 0
        for start in range(0, len(notifications), PEOPLE_PER_TRANSACTION):
            chunk = notifications[start : start + PEOPLE_PER_TRANSACTION]
            if self._write_once(fingerprint, chunk):
                written += len(chunk)
            elif len(chunk) > 1:
                written += sum(self._write_once(fingerprint, [one]) for one in chunk)
        return written

    def _write_once(self, fingerprint: str, notifications: Sequence[Notification]) -> bool:
        items = []
        for notification in notifications:
            marker = {
                "PK": keys.user_pk(notification.user_id),
                "SK": keys.notice_event_sk(fingerprint),
                "type": "notice_event",
                "notification_id": notification.notification_id,
                "expires_at": int((notification.created_at + EVENT_MARKER_KEPT).timestamp()),
            }
            for values in (_values(notification), marker):
                items.append(
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": to_item(values),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    }
                )
        try:
            write_chained(items)
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []  # type: ignore[typeddict-item]
            if error.response["Error"]["Code"] == "TransactionCanceledException" and any(
                reason.get("Code") == "ConditionalCheckFailed" for reason in reasons
            ):
                return False  # notified already (a retry, a duplicate delivery)
            raise
        return True

    def since(self, user_id: str, since: datetime) -> list[Notification]:
        first, last = keys.notifications_between(first_id_at(since))
        pages = query_pages(
            self.table_name,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues=to_item({":pk": keys.user_pk(user_id), ":first": first, ":last": last}),
            ScanIndexForward=False,
        )
        return [_notification(item) for page in pages for item in page]

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
        "customer_id": notification.customer_id,
        "details": dict(notification.details) or None,
        "created_at": notification.created_at.isoformat(),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
        **_about_customer(notification),
    }


def _about_customer(notification: Notification) -> dict[str, str]:
    """#102: a notification about a customer of a firm is found by that customer (its erasure)."""
    if not (notification.firm_id and notification.customer_id):
        return {}
    return {
        "GSI1PK": keys.customer_notices_gsi1pk(notification.firm_id, notification.customer_id),
        "GSI1SK": keys.customer_notice_gsi1sk(notification.user_id, notification.notification_id),
    }


def _notification(item: dict[str, Any]) -> Notification:
    return Notification(
        user_id=item["user_id"],
        notification_id=item["notification_id"],
        kind=item["kind"],
        title=item["title"],
        body=item["body"],
        firm_id=item.get("firm_id"),
        customer_id=item.get("customer_id"),
        details={k: int(v) if isinstance(v, Decimal) else v for k, v in item.get("details", {}).items()},
        created_at=datetime.fromisoformat(item["created_at"]),
        read_at=datetime.fromisoformat(item["read_at"]) if item.get("read_at") else None,
    )
