"""A provider's company-wide pace on the data table (access pattern 50): one item per provider,
group of endpoints and UTC minute, whose `calls` one conditional update spends *before* each
request is sent, below the minute's limit (`PaceWindow`); a refused request counts itself in
`refused` (a second update), which gives it its turn. Every process and function of the
deployment shares it, as the provider counts every credential of the company. The item expires a
few minutes after its minute. A background pace (the imports) stops `kept_for_people` requests short
of the limit, which only the requests a person waits for may spend (`calls_kept_for_people`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.aggregator import GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE, PACE_WINDOW, PaceWindow

KEPT_FOR = 5 * PACE_WINDOW  # an item lives this long after its minute starts (then the TTL deletes it)


@dataclass
class DynamoRequestPace:
    """The `RequestPace` port on the data table, for one provider's group of endpoints."""

    table_name: str
    provider: str = "gocardless"
    resource: str = "accounts"
    limit: int = GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE
    clock: Now = field(default=business_now)
    kept_for_people: int = 0  # the minute's requests this pace leaves to others (the imports': a fifth)

    @property
    def admits(self) -> int:
        """How many of the minute's requests this pace admits: the limit, less what it leaves to people."""
        return self.limit - self.kept_for_people

    def admit(self) -> None:
        now = self.clock()
        window = PaceWindow.of(now)
        try:
            dynamodb_client().update_item(
                TableName=self.table_name,
                Key=self._key(window),
                UpdateExpression="ADD calls :one SET expires_at = :expiry",
                # a first request of the minute only under a limit of at least one (as the fake)
                ConditionExpression="(attribute_not_exists(calls) AND :one <= :limit) OR calls < :limit",
                ExpressionAttributeValues=to_item(
                    {":one": 1, ":limit": self.admits, ":expiry": _expiry(window)}
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise window.refused(now, self._refusals(window) - 1, self.admits) from None

    def _refusals(self, window: PaceWindow) -> int:
        """Count one more refusal in the window: how many there have been, this one included."""
        counted = dynamodb_client().update_item(
            TableName=self.table_name,
            Key=self._key(window),
            UpdateExpression="ADD #refused :one SET expires_at = :expiry",  # it may create the item
            ExpressionAttributeNames={"#refused": self._refused_attribute},
            ExpressionAttributeValues=to_item({":one": 1, ":expiry": _expiry(window)}),
            ReturnValues="UPDATED_NEW",
        )
        return int(from_item(dict(counted["Attributes"]))[self._refused_attribute])

    @property
    def _refused_attribute(self) -> str:
        """Each pace counts its own refusals: a person's turn is not pushed back by the imports'."""
        return "refused" if self.kept_for_people == 0 else "refused_background"

    def calls_this_minute(self) -> int:
        """How many requests were admitted in the current minute (tests, support)."""
        return int(self._item(PaceWindow.of(self.clock())).get("calls", 0))

    def _item(self, window: PaceWindow) -> dict[str, Any]:
        found = dynamodb_client().get_item(
            TableName=self.table_name, Key=self._key(window), ConsistentRead=True
        )
        return from_item(dict(found.get("Item") or {}))

    def _key(self, window: PaceWindow) -> dict[str, Any]:
        return to_item({"PK": keys.pace_pk(self.provider, self.resource), "SK": keys.pace_sk(window.label)})


def _expiry(window: PaceWindow) -> int:
    return math.ceil((window.start + KEPT_FOR).timestamp())
