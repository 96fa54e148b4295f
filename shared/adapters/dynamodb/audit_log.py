"""Append-only audit log: one item per event, written only if absent, never updated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ulid import ULID

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item
from shared.domain.audit import AuditEvent


@dataclass
class AuditLog:
    table_name: str

    def record(self, event: AuditEvent) -> str:
        """Write the event and return its id (a ULID: sortable by time)."""
        event_id = str(ULID.from_datetime(event.occurred_at))
        dynamodb_client().put_item(
            TableName=self.table_name,
            Item=to_item(
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
                }
            ),
            ConditionExpression="attribute_not_exists(PK)",
        )
        return event_id

    def latest(self, firm_id: str, limit: int = 50) -> list[AuditEvent]:
        response = dynamodb_client().query(
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_item({":pk": keys.audit_pk(firm_id)}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            AuditEvent(
                firm_id=firm_id,
                actor_id=item["actor_id"],
                action=item["action"],
                target_type=item["target_type"],
                target_id=item["target_id"],
                details=item.get("details", {}),
                occurred_at=datetime.fromisoformat(item["occurred_at"]),
            )
            for item in map(from_item, response["Items"])
        ]
