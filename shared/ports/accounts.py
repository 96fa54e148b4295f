"""Port: Shared accounts of a customer and their transactions.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from shared.domain.accounts import AccountProblem, AccountStatus, BankTransaction, SharedAccount
from shared.ports.storage import TransactItem


@dataclass(frozen=True)
class TransactionPage:
    transactions: list[BankTransaction]
    next_cursor: str | None


class AccountStore(Protocol):
    """Shared accounts of a customer and their transactions."""

    def list_for_customer(self, firm_id: str, customer_id: str) -> list[SharedAccount]: ...

    def get(self, firm_id: str, customer_id: str, account_id: str) -> SharedAccount | None: ...

    def mark_updated(self, account: SharedAccount, at: datetime, balance: Decimal | None) -> None:
        """R-CON-9: when the account's data was last updated (and its balance, when read)."""
        ...

    def mark_problem(self, account: SharedAccount, problem: AccountProblem) -> None:
        """The account could not be read (its connection is fine): shown with its fix."""
        ...

    def put_op(self, account: SharedAccount, *, expected_status: AccountStatus | None) -> dict[str, Any]:
        """A transaction item writing `account`; `expected_status` None means it must be new."""
        ...

    def assign_lines(
        self, firm_id: str, customer_id: str, lines: list[BankTransaction], *extra: TransactItem
    ) -> None:
        """Lines whose assignment changed, written in one transaction with `extra` (their audit event):
        at most LINES_PER_TRANSACTION lines."""
        ...

    def write_transactions(
        self, firm_id: str, customer_id: str, puts: list[BankTransaction], deletes: Sequence[str] = ()
    ) -> None:
        """BatchWriteItem, 25 requests a call; unprocessed items retried with backoff. A stored
        transaction is overwritten, never duplicated; `deletes` are table sort keys."""
        ...

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
        ...
