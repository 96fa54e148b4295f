"""The firm's chart of accounts (access patterns 71 and 72 in keys.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, query_prefix, to_item
from shared.domain.errors import Conflict, LedgerAccountChanged
from shared.domain.ledger import LedgerAccount, LedgerKind, code_key
from shared.ports.storage import TransactItem


@dataclass
class LedgerRepository:
    """The `LedgerStore` port on the data table."""

    table_name: str

    def list_accounts(self, firm_id: str) -> list[LedgerAccount]:
        items = query_prefix(self.table_name, keys.firm_pk(firm_id), keys.LEDGER_PREFIX)
        return [_account(item) for item in items]

    def get_account(self, firm_id: str, code: str) -> LedgerAccount | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name, Key=to_item(_key(firm_id, code)), ConsistentRead=True
        )
        return _account(from_item(response["Item"])) if "Item" in response else None

    def create_account(self, account: LedgerAccount) -> LedgerAccount:
        created = replace(account, version=1, used=False)
        try:
            dynamodb_client().put_item(
                TableName=self.table_name,
                Item=to_item(_values(created)),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise Conflict(
                "The chart of accounts already has that code.", code="ledger_account_exists"
            ) from None
        return created

    def save_account(self, account: LedgerAccount, previous: LedgerAccount) -> LedgerAccount:
        saved = replace(account, version=previous.version + 1)
        self._write(
            "update_item",
            Key=to_item(_key(account.firm_id, account.code)),
            UpdateExpression="SET #name = :name, kind = :kind, archived = :archived, version = :next",
            ConditionExpression="version = :version",
            ExpressionAttributeNames={"#name": "name"},
            ExpressionAttributeValues=to_item(
                {
                    ":name": saved.name,
                    ":kind": saved.kind.value,
                    ":archived": saved.archived,
                    ":next": saved.version,
                    ":version": previous.version,
                }
            ),
        )
        return saved

    def delete_account(self, account: LedgerAccount) -> None:
        self._write(
            "delete_item",
            Key=to_item(_key(account.firm_id, account.code)),
            ConditionExpression="version = :version AND used = :unused",
            ExpressionAttributeValues=to_item({":version": account.version, ":unused": False}),
        )

    def use_op(self, account: LedgerAccount) -> TransactItem:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item(_key(account.firm_id, account.code)),
                "UpdateExpression": "SET used = :used",
                "ConditionExpression": "attribute_exists(PK) AND archived = :live",
                "ExpressionAttributeValues": to_item({":used": True, ":live": False}),
            }
        }

    def _write(self, operation: str, **request: Any) -> None:
        try:
            getattr(dynamodb_client(), operation)(TableName=self.table_name, **request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise LedgerAccountChanged() from None
            raise


def _key(firm_id: str, code: str) -> dict[str, str]:
    return {"PK": keys.firm_pk(firm_id), "SK": keys.ledger_sk(code_key(code))}


def _values(account: LedgerAccount) -> dict[str, Any]:
    return {
        **_key(account.firm_id, account.code),
        "type": "ledger_account",
        "firm_id": account.firm_id,
        "code": account.code,
        "name": account.name,
        "kind": account.kind.value,
        "archived": account.archived,
        "used": account.used,
        "created_at": account.created_at.isoformat(),
        "version": account.version,
    }


def _account(item: dict[str, Any]) -> LedgerAccount:
    return LedgerAccount(
        firm_id=item["firm_id"],
        code=item["code"],
        name=item["name"],
        kind=LedgerKind(item["kind"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        archived=bool(item["archived"]),
        used=bool(item["used"]),
        version=int(item["version"]),
    )
