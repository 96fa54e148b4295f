"""Who accepted which version of the end-user licence agreement (R-REF-3), per person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item, transact_or_raise
from shared.ports.storage import TransactItem


@dataclass
class EulaRepository:
    """The `EulaStore` port on the data table (access pattern 36)."""

    table_name: str

    def record_eula(self, user_id: str, version: str, at: datetime, *extra: TransactItem) -> datetime:
        """Record the acceptance once, with `extra` (its audit events) in the same transaction;
        accepting again writes nothing and returns the first time."""
        put = {
            "TableName": self.table_name,
            "Item": to_item(
                {
                    "PK": keys.user_pk(user_id),
                    "SK": keys.eula_sk(version),
                    "type": "eula_acceptance",
                    "version": version,
                    "accepted_at": at.isoformat(),
                }
            ),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        try:
            transact_or_raise([{"Put": put}, *extra], _AcceptedBefore)
            return at
        except _AcceptedBefore:
            pass
        item = self._get(user_id, version)
        return datetime.fromisoformat(item["accepted_at"]) if item else at

    def has_accepted(self, user_id: str, version: str) -> bool:
        return self._get(user_id, version) is not None

    def _get(self, user_id: str, version: str) -> dict | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name,
            Key=to_item({"PK": keys.user_pk(user_id), "SK": keys.eula_sk(version)}),
            ConsistentRead=True,
        )
        return from_item(response["Item"]) if "Item" in response else None


class _AcceptedBefore(Exception):
    """The person had accepted this version already."""
