"""Today's requests per provider account and endpoint, and the provider's holds (R-IMP-4).

One item per account and UTC day (access pattern 33): a counter per endpoint, spent by a
conditional update *before* each request is sent (the provider counts requests, retries and
timed-out ones included), and a hold per endpoint (epoch seconds) once the provider said
"no more before…" (a 429 or none remaining). The item expires two days after its day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.aggregator import RequestsSpent
from shared.domain.imports import DAILY_CALLS_PER_ENDPOINT

MAX_HOLD_DAYS = 3  # a hold is written on each day it covers, at most this many


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


@dataclass
class DynamoRequestGate:
    """The `RequestGate` port on the data table."""

    table_name: str
    limit: int = DAILY_CALLS_PER_ENDPOINT
    clock: Now = field(default=business_now)

    def admit(self, scope: str, endpoint: str) -> None:
        now = self.clock()
        day = now.date()
        try:
            dynamodb_client().update_item(
                TableName=self.table_name,
                Key=self._key(scope, day),
                UpdateExpression="ADD #calls :one SET expires_at = :expiry",
                ConditionExpression="(attribute_not_exists(#calls) OR #calls < :limit) "
                "AND (attribute_not_exists(#held) OR #held <= :now)",
                ExpressionAttributeNames={"#calls": endpoint, "#held": _held(endpoint)},
                ExpressionAttributeValues=to_item(
                    {
                        ":one": 1,
                        ":limit": self.limit,
                        ":now": math.floor(now.timestamp()),
                        ":expiry": _expiry(day),
                    }
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = from_item(error.response.get("Item") or self._item(scope, day))
            held = old.get(_held(endpoint))
            resets = [_start(day + timedelta(days=1))] if int(old.get(endpoint, 0)) >= self.limit else []
            if held is not None and int(held) > now.timestamp():
                resets.append(datetime.fromtimestamp(int(held), UTC))
            reset = max(resets, default=_start(day + timedelta(days=1)))
            raise RequestsSpent(
                retry_after_seconds=max(1, math.ceil((reset - now).total_seconds())), reset_at=reset
            ) from None

    def hold(self, scope: str, endpoint: str, until: datetime) -> None:
        """Written on every day from today to `until`'s (a hold may cross midnight); an
        earlier hold never shortens a later one."""
        today = self.clock().date()
        last = min(until.date(), today + timedelta(days=MAX_HOLD_DAYS - 1))
        day = today
        while day <= last:
            try:
                dynamodb_client().update_item(
                    TableName=self.table_name,
                    Key=self._key(scope, day),
                    UpdateExpression="SET #held = :until, expires_at = :expiry",
                    ConditionExpression="attribute_not_exists(#held) OR #held < :until",
                    ExpressionAttributeNames={"#held": _held(endpoint)},
                    ExpressionAttributeValues=to_item(
                        {":until": math.ceil(until.timestamp()), ":expiry": _expiry(day)}
                    ),
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            day += timedelta(days=1)

    def requests_today(self, scope: str, endpoint: str) -> int:
        """How many requests were admitted today (for tests and the bench)."""
        return int(from_item(self._item(scope, self.clock().date())).get(endpoint, 0))

    def _key(self, scope: str, day: date) -> dict:
        return to_item({"PK": keys.budget_pk(scope, day.isoformat()), "SK": keys.BUDGET})

    def _item(self, scope: str, day: date) -> dict:
        found = dynamodb_client().get_item(
            TableName=self.table_name, Key=self._key(scope, day), ConsistentRead=True
        )
        return dict(found.get("Item") or {})


def _held(endpoint: str) -> str:
    return f"held_{endpoint}"


def _expiry(day: date) -> int:
    return int((_start(day) + timedelta(days=2)).timestamp())
