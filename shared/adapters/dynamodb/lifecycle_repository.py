"""The data lifecycle on the data table (keys.py #100-#105): the firm's settings, the person's link
removed when a relationship ends, and the erasure of everything stored of one customer of one firm.

Erasure finds every item by key or Query only: the customer's collection and its transactions
(#104), the items about it kept elsewhere (#105: lookups, tokens, grantees' links, refresh outcomes
and caps), its notifications (#102) and exports (#103), and the person's link (#6). It deletes them
in BatchWriteItem calls; what is gone is not found again, so a retried job goes on where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    batch_write,
    dynamodb_client,
    from_item,
    query_pages,
    to_item,
    transact_or_raise,
)
from shared.domain.customers import Customer, Section, email_fingerprint
from shared.domain.errors import ConcurrentChange
from shared.domain.lifecycle import FirmSettings
from shared.ports.storage import TransactItem


@dataclass
class LifecycleRepository:
    """The `LifecycleStore` and `ErasureStore` ports."""

    table_name: str

    # settings (#100) ---------------------------------------------------------------------------
    def settings(self, firm_id: str) -> FirmSettings:
        response = dynamodb_client().get_item(
            TableName=self.table_name,
            Key=to_item({"PK": keys.firm_pk(firm_id), "SK": keys.FIRM_SETTINGS}),
            ConsistentRead=True,
        )
        if "Item" not in response:
            return FirmSettings(firm_id)
        item = from_item(response["Item"])
        return FirmSettings(firm_id, retention_years=int(item["retention_years"]))

    def settings_op(self, settings: FirmSettings) -> TransactItem:
        values = {
            "PK": keys.firm_pk(settings.firm_id),
            "SK": keys.FIRM_SETTINGS,
            "type": "firm_settings",
            "firm_id": settings.firm_id,
            "retention_years": settings.retention_years,
        }
        return {"Put": {"TableName": self.table_name, "Item": to_item(values)}}

    def customer_link_delete_op(self, user_id: str, firm_id: str, customer_id: str) -> TransactItem:
        key = {"PK": keys.user_pk(user_id), "SK": keys.customer_link_sk(firm_id, customer_id)}
        return {"Delete": {"TableName": self.table_name, "Key": to_item(key)}}

    def transact(self, items: list[TransactItem]) -> None:
        transact_or_raise(items, ConcurrentChange)

    # erasure -----------------------------------------------------------------------------------
    def export_ids(self, firm_id: str, customer_id: str) -> list[str]:
        exports = self._index("GSI1", "GSI1PK", keys.customer_exports_gsi1pk(firm_id, customer_id))
        return [str(item["export_id"]) for item in exports]

    def erase_items(self, customer: Customer) -> int:
        firm_id, customer_id = customer.firm_id, customer.customer_id
        found: dict[tuple[str, str], None] = {}
        for partition in (
            keys.customer_collection_pk(firm_id, customer_id),
            keys.customer_transactions_pk(firm_id, customer_id),
        ):
            for page in query_pages(
                self.table_name,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues=to_item({":pk": partition}),
                ProjectionExpression="PK, SK",
            ):
                found.update({(item["PK"], item["SK"]): None for item in page})
        for index, attribute, partition in (
            ("GSI2", "GSI2PK", keys.customer_traces_gsi2pk(firm_id, customer_id)),
            ("GSI1", "GSI1PK", keys.customer_notices_gsi1pk(firm_id, customer_id)),
            ("GSI1", "GSI1PK", keys.customer_exports_gsi1pk(firm_id, customer_id)),
        ):
            found.update(
                {(item["PK"], item["SK"]): None for item in self._index(index, attribute, partition)}
            )
        if customer.user_id:
            found[(keys.user_pk(customer.user_id), keys.customer_link_sk(firm_id, customer_id))] = None
        found[(keys.invite_token_pk(customer.invitation.token_hash), keys.INVITE)] = None
        requests = [{"DeleteRequest": {"Key": to_item({"PK": pk, "SK": sk})}} for pk, sk in found]
        batch_write(self.table_name, requests)
        return len(requests)

    def erase_customer_ops(self, customer: Customer) -> list[TransactItem]:
        firm = keys.firm_pk(customer.firm_id)
        return [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": to_item({"PK": firm, "SK": keys.customer_sk(customer.customer_id)}),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": {":version": {"N": str(customer.version)}},
                }
            },
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": to_item(
                        {"PK": firm, "SK": keys.customer_email_sk(email_fingerprint(customer.email))}
                    ),
                    # the claim is the customer's own only (another customer of the same email cannot
                    # hold it while this one exists, R-INV-3)
                    "ConditionExpression": "attribute_not_exists(PK) OR customer_id = :customer",
                    "ExpressionAttributeValues": {":customer": {"S": customer.customer_id}},
                }
            },
            {  # off the ended list (#110): its count (#14) with it
                "Update": {
                    "TableName": self.table_name,
                    "Key": to_item({"PK": firm, "SK": keys.counts_sk(None)}),
                    "UpdateExpression": "ADD #ended :gone",
                    "ExpressionAttributeNames": {"#ended": Section.ENDED.value},
                    "ExpressionAttributeValues": {":gone": {"N": "-1"}},
                }
            },
        ]

    def _index(self, index: str, attribute: str, partition: str) -> list[dict[str, Any]]:
        pages = query_pages(
            self.table_name,
            IndexName=index,
            KeyConditionExpression=f"{attribute} = :pk",
            ExpressionAttributeValues=to_item({":pk": partition}),
        )
        return [item for page in pages for item in page]
