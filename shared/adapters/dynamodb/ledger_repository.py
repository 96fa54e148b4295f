"""The firm's chart of accounts (access patterns 71 and 72 in keys.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    dynamodb_client,
    from_item,
    query_prefix,
    to_item,
    transact_or_raise,
)
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

    def create_account(self, account: LedgerAccount, *extra: TransactItem) -> LedgerAccount:
        created = replace(account, version=1, used=False)
        put = {"TableName": self.table_name, "Item": to_item(_values(created))}
        try:
            transact_or_raise(
                [{"Put": put | {"ConditionExpression": "attribute_not_exists(PK)"}}, *extra], _Taken
            )
        except _Taken:
            raise Conflict(
                "The chart of accounts already has that code.", code="ledger_account_exists"
            ) from None
        return created

    def save_account(
        self, account: LedgerAccount, previous: LedgerAccount, *extra: TransactItem
    ) -> LedgerAccount:
        saved = replace(account, version=previous.version + 1)
        update = {
            "TableName": self.table_name,
            "Key": to_item(_key(account.firm_id, account.code)),
            "UpdateExpression": "SET #name = :name, kind = :kind, archived = :archived, version = :next",
            "ConditionExpression": "version = :version",
            "ExpressionAttributeNames": {"#name": "name"},
            "ExpressionAttributeValues": to_item(
                {
                    ":name": saved.name,
                    ":kind": saved.kind.value,
                    ":archived": saved.archived,
                    ":next": saved.version,
                    ":version": previous.version,
                }
            ),
        }
        transact_or_raise([{"Update": update}, *extra], LedgerAccountChanged)
        return saved

    def delete_account(self, account: LedgerAccount, *extra: TransactItem) -> None:
        delete = {
            "TableName": self.table_name,
            "Key": to_item(_key(account.firm_id, account.code)),
            "ConditionExpression": "version = :version AND used = :unused",
            "ExpressionAttributeValues": to_item({":version": account.version, ":unused": False}),
        }
        transact_or_raise([{"Delete": delete}, *extra], LedgerAccountChanged)

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


class _Taken(Exception):
    """The code is taken (the create's transaction was cancelled)."""


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
