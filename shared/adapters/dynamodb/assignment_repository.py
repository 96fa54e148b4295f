"""The firm's assignment rules and the customer's unassigned lines (R-IMP-3)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.accounts_repository import transaction_from_item, transaction_item
from shared.adapters.dynamodb.client import (
    dynamodb_client,
    from_item,
    query_prefix,
    to_item,
    transact_or_raise,
    write_chained,
)
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.domain.accounts import BankTransaction
from shared.domain.assignment import AssignmentRule, Direction
from shared.domain.errors import LedgerAccountChanged, NotFound
from shared.ports.storage import TransactItem


@dataclass
class AssignmentRepository:
    table_name: str

    def rules(self, firm_id: str) -> list[AssignmentRule]:
        """Every rule of the firm, in order (a firm has tens of rules: one Query)."""
        items = query_prefix(self.table_name, keys.firm_pk(firm_id), keys.RULE_PREFIX)
        found = [_rule(item) for item in items]
        return sorted(found, key=lambda r: (r.position, r.rule_id))

    def put_rule(self, rule: AssignmentRule, *extra: TransactItem, must_exist: bool) -> None:
        condition = "attribute_exists(PK)" if must_exist else "attribute_not_exists(PK)"
        put: TransactItem = {
            "TableName": self.table_name,
            "Item": to_item(_rule_values(rule)),
            "ConditionExpression": condition,
        }
        try:
            write_chained([{"Put": put}, *extra])
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            failed = [
                r.get("Code") == "ConditionalCheckFailed"
                for r in error.response.get("CancellationReasons") or []
            ]
            if failed[:1] == [True]:
                raise NotFound() from None
            if any(failed[1:]):
                raise LedgerAccountChanged() from None
            raise  # a conflict with another transaction or throttling: not a changed account

    def delete_rule(self, firm_id: str, rule_id: str, *extra: TransactItem) -> None:
        delete = {
            "TableName": self.table_name,
            "Key": to_item({"PK": keys.firm_pk(firm_id), "SK": keys.rule_sk(rule_id)}),
            "ConditionExpression": "attribute_exists(PK)",
        }
        transact_or_raise([{"Delete": delete}, *extra], NotFound)

    def unassigned(
        self, firm_id: str, customer_id: str, *, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[BankTransaction], str | None]:
        """Booked lines not yet assigned, oldest first, from the sparse index."""
        partition = keys.unassigned_gsi2pk(firm_id, customer_id)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "GSI2",
            "KeyConditionExpression": "GSI2PK = :pk",
            "ExpressionAttributeValues": to_item({":pk": partition}),
            "Limit": limit,
        }
        last = decode_cursor(cursor)
        if last:
            start = {"PK": keys.customer_transactions_pk(firm_id, customer_id), "SK": last}
            query["ExclusiveStartKey"] = to_item(start | {"GSI2PK": partition, "GSI2SK": last})
        response = query_page(query)
        evaluated = response.get("LastEvaluatedKey")
        lines = [transaction_from_item(from_item(raw)) for raw in response["Items"]]
        return lines, (encode_cursor(evaluated["SK"]["S"]) if evaluated else None)

    def get_line(self, firm_id: str, customer_id: str, line_id: str) -> BankTransaction | None:
        try:
            booking, account_id, key = line_id.split("~", 2)
        except ValueError:
            return None
        response = dynamodb_client().get_item(
            TableName=self.table_name,
            Key=to_item(
                {
                    "PK": keys.customer_transactions_pk(firm_id, customer_id),
                    "SK": keys.transaction_sk(booking, account_id, key),
                }
            ),
        )
        return transaction_from_item(from_item(response["Item"])) if "Item" in response else None

    def save_line(self, line: BankTransaction, *extra: TransactItem) -> None:
        put: TransactItem = {"TableName": self.table_name, "Item": to_item(transaction_item(line))}
        transact_or_raise([{"Put": put}, *extra], LedgerAccountChanged)


def _rule_values(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "PK": keys.firm_pk(rule.firm_id),
        "SK": keys.rule_sk(rule.rule_id),
        "type": "assignment_rule",
        "rule_id": rule.rule_id,
        "firm_id": rule.firm_id,
        "name": rule.name,
        "position": rule.position,
        "text_contains": rule.text_contains,
        "amount_min": str(rule.amount_min) if rule.amount_min is not None else None,
        "amount_max": str(rule.amount_max) if rule.amount_max is not None else None,
        "direction": rule.direction.value,
        "ledger_account": rule.ledger_account,
        "category": rule.category,
    }


def _rule(item: dict[str, Any]) -> AssignmentRule:
    return AssignmentRule(
        rule_id=item["rule_id"],
        firm_id=item["firm_id"],
        name=item["name"],
        position=int(item["position"]),
        text_contains=item.get("text_contains"),
        amount_min=Decimal(item["amount_min"]) if item.get("amount_min") else None,
        amount_max=Decimal(item["amount_max"]) if item.get("amount_max") else None,
        direction=Direction(item.get("direction", "any")),
        ledger_account=item.get("ledger_account"),
        category=item.get("category"),
    )
