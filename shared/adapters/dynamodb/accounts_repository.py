"""Shared accounts of a customer (in the customer's item collection) and their transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import batch_write, dynamodb_client, from_item, to_item, write_chained
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.domain.accounts import AccountProblem, AccountStatus, BankTransaction, SharedAccount
from shared.domain.errors import InvalidRequest
from shared.ports.accounts import TransactionPage
from shared.ports.storage import TransactItem


@dataclass
class AccountsRepository:
    table_name: str

    def list_for_customer(self, firm_id: str, customer_id: str) -> list[SharedAccount]:
        response = dynamodb_client().query(
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=to_item(
                {":pk": keys.customer_collection_pk(firm_id, customer_id), ":prefix": keys.ACCOUNT_PREFIX}
            ),
        )
        return [_account(from_item(raw)) for raw in response["Items"]]

    def get(self, firm_id: str, customer_id: str, account_id: str) -> SharedAccount | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name,
            Key=to_item(
                {"PK": keys.customer_collection_pk(firm_id, customer_id), "SK": keys.account_sk(account_id)}
            ),
            ConsistentRead=True,
        )
        return _account(from_item(response["Item"])) if "Item" in response else None

    def mark_updated(self, account: SharedAccount, at: datetime, balance: Decimal | None) -> None:
        """R-CON-9: when the account's data was last updated (and its balance, when read)."""
        values: dict[str, Any] = {":at": at.isoformat()}
        expression = "SET last_updated = :at"
        if balance is not None:
            values[":balance"] = str(balance)
            expression += ", balance = :balance"
        expression += " REMOVE problem"  # read again: whatever kept it from importing is over
        dynamodb_client().update_item(
            TableName=self.table_name,
            Key=to_item(
                {
                    "PK": keys.customer_collection_pk(account.firm_id, account.customer_id),
                    "SK": keys.account_sk(account.account_id),
                }
            ),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=to_item(values),
        )

    def mark_problem(self, account: SharedAccount, problem: AccountProblem) -> None:
        """The account could not be read (its connection is fine): shown with its fix."""
        dynamodb_client().update_item(
            TableName=self.table_name,
            Key=to_item(
                {
                    "PK": keys.customer_collection_pk(account.firm_id, account.customer_id),
                    "SK": keys.account_sk(account.account_id),
                }
            ),
            UpdateExpression="SET problem = :problem",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=to_item({":problem": problem.value}),
        )

    def put_op(self, account: SharedAccount, *, expected_status: AccountStatus | None) -> dict[str, Any]:
        """A transaction item writing `account`; `expected_status` None means it must be new."""
        put: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(_values(account))}
        if expected_status is None:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "#status = :expected"
            put["ExpressionAttributeNames"] = {"#status": "status"}
            put["ExpressionAttributeValues"] = {":expected": {"S": expected_status.value}}
        return {"Put": put}

    # transactions ------------------------------------------------------------------------
    def assign_lines(
        self, firm_id: str, customer_id: str, lines: list[BankTransaction], *extra: TransactItem
    ) -> None:
        puts: list[TransactItem] = [
            {"Put": {"TableName": self.table_name, "Item": to_item(transaction_item(line))}} for line in lines
        ]
        write_chained([*puts, *extra])

    def write_transactions(
        self, firm_id: str, customer_id: str, puts: list[BankTransaction], deletes: Sequence[str] = ()
    ) -> None:
        """BatchWriteItem, 25 requests a call; unprocessed items retried with backoff. A stored
        transaction is overwritten, never duplicated; `deletes` are table sort keys."""
        pk = keys.customer_transactions_pk(firm_id, customer_id)
        sort_keys = [transaction_sort_key(t) for t in puts]
        if len(set(sort_keys)) != len(sort_keys):  # DynamoDB refuses the batch (moto does not): say so here
            raise ValueError("Provided list of item keys contains duplicates")
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": to_item(transaction_item(t))}} for t in puts
        ]
        requests += [{"DeleteRequest": {"Key": to_item({"PK": pk, "SK": sort_key})}} for sort_key in deletes]
        batch_write(self.table_name, requests)

    def list_transactions(
        self,
        firm_id: str,
        customer_id: str,
        *,
        account_id: str | None,
        date_from: date | None,
        date_to: date | None,
        cursor: str | None,
        limit: int,
    ) -> TransactionPage:
        """Newest first; one account through GSI1, or every account of the customer on the table."""
        low, high = keys.transactions_between(
            date_from.isoformat() if date_from else None, date_to.isoformat() if date_to else None
        )
        if account_id:
            partition, pk_name, sk_name, index = (
                keys.account_transactions_gsi1pk(firm_id, account_id),
                "GSI1PK",
                "GSI1SK",
                "GSI1",
            )
        else:
            partition, pk_name, sk_name, index = (
                keys.customer_transactions_pk(firm_id, customer_id),
                "PK",
                "SK",
                None,
            )
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"{pk_name} = :pk AND {sk_name} BETWEEN :low AND :high",
            "ExpressionAttributeValues": to_item({":pk": partition, ":low": low, ":high": high}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if index:
            query["IndexName"] = index
        last = decode_cursor(cursor)
        if last:
            # The cursor is the last row's table sort key; both keys rebuild from it and the scope.
            try:
                gsi1_sort = keys.account_transaction_gsi1sk_of(last)
            except ValueError:
                raise InvalidRequest("The page cursor is not valid.", code="invalid_cursor") from None
            start = {"PK": keys.customer_transactions_pk(firm_id, customer_id), "SK": last}
            if index:
                start |= {"GSI1PK": partition, "GSI1SK": gsi1_sort}
            query["ExclusiveStartKey"] = to_item(start)
        response = query_page(query)
        evaluated = response.get("LastEvaluatedKey")
        return TransactionPage(
            transactions=[transaction_from_item(from_item(raw)) for raw in response["Items"]],
            next_cursor=encode_cursor(evaluated["SK"]["S"]) if evaluated else None,
        )


def _values(account: SharedAccount) -> dict[str, Any]:
    return {
        "PK": keys.customer_collection_pk(account.firm_id, account.customer_id),
        "SK": keys.account_sk(account.account_id),
        "type": "shared_account",
        "firm_id": account.firm_id,
        "customer_id": account.customer_id,
        "account_id": account.account_id,
        "connection_id": account.connection_id,
        "institution_name": account.institution_name,
        "masked_identifier": account.masked_identifier,
        "name": account.name,
        "currency": account.currency,
        "balance": str(account.balance) if account.balance is not None else None,
        "last_updated": account.last_updated.isoformat() if account.last_updated else None,
        "status": account.status.value,
        "reviewed_by": account.reviewed_by,
        "reviewed_at": account.reviewed_at.isoformat() if account.reviewed_at else None,
        "provider_account_id": account.provider_account_id,
        "ledger_account": account.ledger_account,
        "identity_key": account.identity_key,
        "problem": account.problem.value if account.problem else None,
    }


def _account(item: dict[str, Any]) -> SharedAccount:
    return SharedAccount(
        firm_id=item["firm_id"],
        customer_id=item["customer_id"],
        account_id=item["account_id"],
        connection_id=item["connection_id"],
        institution_name=item["institution_name"],
        masked_identifier=item["masked_identifier"],
        name=item["name"],
        currency=item["currency"],
        balance=Decimal(item["balance"]) if item.get("balance") is not None else None,
        last_updated=datetime.fromisoformat(item["last_updated"]) if item.get("last_updated") else None,
        status=AccountStatus(item["status"]),
        reviewed_by=item.get("reviewed_by"),
        reviewed_at=datetime.fromisoformat(item["reviewed_at"]) if item.get("reviewed_at") else None,
        provider_account_id=item.get("provider_account_id", ""),
        ledger_account=item.get("ledger_account"),
        identity_key=item.get("identity_key"),
        problem=AccountProblem(item["problem"]) if item.get("problem") else None,
    )


def transaction_sort_key(transaction: BankTransaction) -> str:
    return keys.transaction_sk(
        transaction.booking_date.isoformat(), transaction.account_id, transaction.transaction_key
    )


def transaction_item(transaction: BankTransaction) -> dict[str, Any]:
    booking = transaction.booking_date.isoformat()
    sort_key = transaction_sort_key(transaction)
    return {
        "PK": keys.customer_transactions_pk(transaction.firm_id, transaction.customer_id),
        "SK": sort_key,
        "GSI1PK": keys.account_transactions_gsi1pk(transaction.firm_id, transaction.account_id),
        "GSI1SK": keys.account_transaction_gsi1sk(booking, transaction.transaction_key),
        "type": "transaction",
        "firm_id": transaction.firm_id,
        "customer_id": transaction.customer_id,
        "account_id": transaction.account_id,
        "transaction_key": transaction.transaction_key,
        "booking_date": booking,
        "amount": str(transaction.amount),  # exact decimal text, never a float
        "currency": transaction.currency,
        "description": transaction.description,
        "counterparty": transaction.counterparty,
        "pending": transaction.pending,
        "ledger_account": transaction.ledger_account,
        "category": transaction.category,
        "assigned_by": transaction.assigned_by,
        # Sparse index of the booked lines still to assign (R-IMP-3): gone once assigned.
        **(
            {
                "GSI2PK": keys.unassigned_gsi2pk(transaction.firm_id, transaction.customer_id),
                "GSI2SK": sort_key,
            }
            if transaction.assigned_by is None and not transaction.pending
            else {}
        ),
    }


def transaction_from_item(item: dict[str, Any]) -> BankTransaction:
    return BankTransaction(
        firm_id=item["firm_id"],
        customer_id=item["customer_id"],
        account_id=item["account_id"],
        transaction_key=item["transaction_key"],
        booking_date=date.fromisoformat(item["booking_date"]),
        amount=Decimal(item["amount"]),
        currency=item["currency"],
        description=item["description"],
        counterparty=item.get("counterparty"),
        pending=bool(item.get("pending", False)),
        ledger_account=item.get("ledger_account"),
        category=item.get("category"),
        assigned_by=item.get("assigned_by"),
    )
