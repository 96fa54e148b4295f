"""Append-only audit log: one item per event, written only if absent, never updated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ulid import ULID

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.domain.audit import AuditEvent


@dataclass
class AuditLog:
    table_name: str

    def record(self, event: AuditEvent) -> str:
        """Write the event and return its id (a ULID: sortable by time)."""
        put = self.put_op(event)["Put"]
        dynamodb_client().put_item(
            TableName=put["TableName"], Item=put["Item"], ConditionExpression=put["ConditionExpression"]
        )
        return str(put["Item"]["SK"]["S"])

    def put_op(self, event: AuditEvent) -> dict[str, Any]:
        """The event as one write of a multi-item transaction (with the change it records)."""
        event_id = str(ULID.from_datetime(event.occurred_at))
        item = to_item(
            {
                "PK": keys.audit_pk(event.firm_id),
                "SK": event_id,
                "type": "audit",
                "actor_id": event.actor_id,
                "action": event.action,
                "target_type": event.target_type,
                "target_id": event.target_id,
                "details": event.details,
                "occurred_at": event.occurred_at.isoformat(),
                "customer_id": event.customer_id,
                "GSI1PK": keys.audit_customer_gsi1pk(event.firm_id, event.customer_id)
                if event.customer_id
                else None,
                "GSI1SK": event_id if event.customer_id else None,
            }
        )
        put = {"TableName": self.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}
        return {"Put": put}

    def page(
        self,
        firm_id: str,
        *,
        customer_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first: the whole firm's log, or one customer's events through GSI1; with a date
        range (UTC days, inclusive), only the events of those days (a key condition: #76, #77)."""
        if customer_id:
            pk_name, sk_name, partition = "GSI1PK", "GSI1SK", keys.audit_customer_gsi1pk(firm_id, customer_id)
        else:
            pk_name, sk_name, partition = "PK", "SK", keys.audit_pk(firm_id)
        condition, values = f"{pk_name} = :pk", {":pk": partition}
        if date_from or date_to:
            low, high = keys.audit_between(date_from, date_to)
            condition += f" AND {sk_name} BETWEEN :low AND :high"
            values |= {":low": low, ":high": high}
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if customer_id:
            query["IndexName"] = "GSI1"
        last = decode_cursor(cursor)
        if last:
            start = {"PK": keys.audit_pk(firm_id), "SK": last}
            query["ExclusiveStartKey"] = to_item(
                start | ({"GSI1PK": partition, "GSI1SK": last} if customer_id else {})
            )
        response = query_page(query)
        evaluated = response.get("LastEvaluatedKey")
        events = [
            AuditEvent(
                firm_id=firm_id,
                actor_id=item["actor_id"],
                action=item["action"],
                target_type=item["target_type"],
                target_id=item["target_id"],
                details=item.get("details", {}),
                occurred_at=datetime.fromisoformat(item["occurred_at"]),
                customer_id=item.get("customer_id"),
            )
            for item in map(from_item, response["Items"])
        ]
        return events, (encode_cursor(evaluated[sk_name]["S"]) if evaluated else None)
