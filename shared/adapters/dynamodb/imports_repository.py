"""What imports keep: each feed's cursor and dates, and the recent stored transactions an
import compares against (so a re-import writes nothing). Today's requests per account are
kept by `request_gate.DynamoRequestGate`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item
from shared.ports.imports import FeedState, StoredTransaction


@dataclass
class ImportsRepository:
    table_name: str

    def feed_state(self, firm_id: str, customer_id: str, feed_id: str) -> FeedState:
        response = dynamodb_client().get_item(
            TableName=self.table_name,
            Key=to_item(
                {"PK": keys.customer_collection_pk(firm_id, customer_id), "SK": keys.import_state_sk(feed_id)}
            ),
            ConsistentRead=True,
        )
        item = from_item(response["Item"]) if "Item" in response else {}
        return FeedState(
            cursor=item.get("cursor"),
            last_booked=date.fromisoformat(item["last_booked"]) if item.get("last_booked") else None,
            last_imported_at=datetime.fromisoformat(item["last_imported_at"])
            if item.get("last_imported_at")
            else None,
            accounts=tuple(item.get("accounts", [])),
        )

    def save_feed_state(self, firm_id: str, customer_id: str, feed_id: str, state: FeedState) -> None:
        """Written only after every page of the import is stored: a crash re-reads, never skips."""
        dynamodb_client().put_item(
            TableName=self.table_name,
            Item=to_item(
                {
                    "PK": keys.customer_collection_pk(firm_id, customer_id),
                    "SK": keys.import_state_sk(feed_id),
                    "type": "import_state",
                    "cursor": state.cursor,
                    "last_booked": state.last_booked.isoformat() if state.last_booked else None,
                    "last_imported_at": state.last_imported_at.isoformat()
                    if state.last_imported_at
                    else None,
                    "accounts": list(state.accounts),
                }
            ),
        )

    def recent(self, firm_id: str, account_id: str, since: date) -> dict[str, StoredTransaction]:
        """The account's stored transactions booked from `since`, by key (one Query per page)."""
        found: dict[str, StoredTransaction] = {}
        paginator = dynamodb_client().get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK >= :since",
            ExpressionAttributeValues=to_item(
                {
                    ":pk": keys.account_transactions_gsi1pk(firm_id, account_id),
                    ":since": keys.account_transactions_since(since.isoformat()),
                }
            ),
        ):
            for raw in page["Items"]:
                item = from_item(raw)
                found[item["transaction_key"]] = StoredTransaction(
                    sort_key=item["SK"],
                    pending=bool(item.get("pending")),
                    fingerprint=(
                        item["booking_date"],
                        item["amount"],
                        bool(item.get("pending")),
                        item["description"],
                    ),
                    assignment=(item.get("ledger_account"), item.get("category"), item.get("assigned_by")),
                )
        return found
