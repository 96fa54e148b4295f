"""Staff members' daily digest preference and the digests due (access patterns 62, 63 in keys.py).

The preference item is the index entry too: while the digest is on it carries GSI2PK=DIGEST_DUE and
its next due time as GSI2SK, so the hourly run reads only the people due (one Query a page), and
claims a digest by moving that time on with a conditional update.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, query_pages, to_item
from shared.domain.notifications import DigestPreference


@dataclass
class DigestPreferencesRepository:
    """The `DigestPreferenceStore` port on the data table."""

    table_name: str

    def get_preference(self, user_id: str) -> DigestPreference | None:
        response = dynamodb_client().get_item(TableName=self.table_name, Key=_key(user_id))
        item = response.get("Item")
        return _preference(from_item(item)) if item else None

    def save_preference(self, preference: DigestPreference) -> None:
        values: dict[str, Any] = {
            "PK": keys.user_pk(preference.user_id),
            "SK": keys.DIGEST_PREFERENCE,
            "type": "digest_preference",
            "user_id": preference.user_id,
            "daily_digest": preference.daily_digest,
            "timezone": preference.timezone,
        }
        if preference.daily_digest and preference.next_due is not None:
            due = _iso(preference.next_due)
            values |= {
                "next_due": due,
                "GSI2PK": keys.DIGEST_DUE,
                "GSI2SK": keys.digest_due_gsi2sk(due, preference.user_id),
            }
        dynamodb_client().put_item(TableName=self.table_name, Item=to_item(values))

    def due_digests(self, until: datetime) -> Iterator[DigestPreference]:
        pages = query_pages(
            self.table_name,
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :pk AND GSI2SK <= :until",
            ExpressionAttributeValues=to_item(
                {":pk": keys.DIGEST_DUE, ":until": keys.due_through(_iso(until))}
            ),
        )
        for page in pages:
            yield from (_preference(item) for item in page)

    def claim_digest(self, preference: DigestPreference, next_due: datetime) -> bool:
        if preference.next_due is None:
            return False
        return self._move(preference.user_id, preference.next_due, next_due)

    def release_digest(self, preference: DigestPreference, claimed: datetime) -> None:
        if preference.next_due is not None:
            self._move(preference.user_id, claimed, preference.next_due)

    def _move(self, user_id: str, expected: datetime, to: datetime) -> bool:
        due = _iso(to)
        try:
            dynamodb_client().update_item(
                TableName=self.table_name,
                Key=_key(user_id),
                UpdateExpression="SET next_due = :due, GSI2SK = :sort",
                ConditionExpression="daily_digest = :on AND next_due = :expected",
                ExpressionAttributeValues=to_item(
                    {
                        ":due": due,
                        ":sort": keys.digest_due_gsi2sk(due, user_id),
                        ":on": True,
                        ":expected": _iso(expected),
                    }
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _key(user_id: str) -> dict[str, Any]:
    return to_item({"PK": keys.user_pk(user_id), "SK": keys.DIGEST_PREFERENCE})


def _iso(at: datetime) -> str:
    """One fixed format (UTC, seconds), so that due times compare as strings in the index."""
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _preference(item: dict[str, Any]) -> DigestPreference:
    return DigestPreference(
        user_id=item["user_id"],
        daily_digest=bool(item.get("daily_digest")),
        timezone=item.get("timezone"),
        next_due=datetime.fromisoformat(item["next_due"]) if item.get("next_due") else None,
    )
