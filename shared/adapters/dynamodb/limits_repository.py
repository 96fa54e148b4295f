"""The `Limiter` port on the data table: one counter item per limit, subject and window (access
pattern 85), spent by a conditional ADD with a TTL, like the provider's request gate (#33) counts
a day's requests. A spend of several limits is one TransactWriteItems: all or none."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, to_item
from shared.domain.errors import RateLimited
from shared.domain.limits import Charge, LimitReached

COUNT = "spent"
_ATTEMPTS = 3  # a transaction that met a concurrent one on the same counter is tried again


@dataclass(frozen=True)
class DynamoLimiter:
    table_name: str

    def spend(self, charges: Sequence[Charge], now: datetime) -> None:
        for charge in charges:
            if charge.amount > charge.limit.count:
                raise LimitReached(charge.limit, now)
        items = [self._spend(charge, now) for charge in charges]
        for attempt in range(_ATTEMPTS):
            try:
                dynamodb_client().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                for charge, reason in zip(charges, reasons, strict=False):
                    if reason == "ConditionalCheckFailed":
                        raise LimitReached(charge.limit, now) from None
                if attempt == _ATTEMPTS - 1:  # a burst on one counter: the caller tries again shortly
                    raise RateLimited(
                        "Too many requests at once; try again.", retry_after_seconds=1
                    ) from None

    def spent(self, charge: Charge, now: datetime) -> int:
        """How much of the charge's limit its subject spent in the window of `now` (tests, support)."""
        found = dynamodb_client().get_item(
            TableName=self.table_name, Key=self._key(charge, now), ConsistentRead=True
        )
        return int(found.get("Item", {}).get(COUNT, {}).get("N", 0))

    def _key(self, charge: Charge, now: datetime) -> dict[str, Any]:
        start = math.floor(charge.limit.window_start(now).timestamp())
        return to_item({"PK": keys.limit_pk(charge.limit.name, charge.subject_id, start), "SK": keys.LIMIT})

    def _spend(self, charge: Charge, now: datetime) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(charge, now),
                "UpdateExpression": "ADD #spent :amount SET expires_at = :expiry",
                "ConditionExpression": "attribute_not_exists(#spent) OR #spent <= :most",
                "ExpressionAttributeNames": {"#spent": COUNT},
                "ExpressionAttributeValues": to_item(
                    {
                        ":amount": charge.amount,
                        ":most": charge.limit.count - charge.amount,
                        # kept a window after its own ends (the TTL deletes late), then gone
                        ":expiry": math.ceil((charge.limit.resets_at(now) + charge.limit.window).timestamp()),
                    }
                ),
            }
        }
