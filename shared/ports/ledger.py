"""Port: the firm's chart of accounts.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.ledger import LedgerAccount
from shared.ports.storage import TransactItem


class LedgerStore(Protocol):
    """A firm's ledger accounts, one per code (codes compared case-insensitively)."""

    def list_accounts(self, firm_id: str) -> list[LedgerAccount]:
        """Every ledger account of the firm, by code (a chart has tens to hundreds: one Query a page)."""
        ...

    def get_account(self, firm_id: str, code: str) -> LedgerAccount | None: ...

    def create_account(self, account: LedgerAccount, *extra: TransactItem) -> LedgerAccount:
        """Put it if its code is free (Conflict `ledger_account_exists` otherwise), in one transaction
        with `extra` (its audit event)."""
        ...

    def save_account(
        self, account: LedgerAccount, previous: LedgerAccount, *extra: TransactItem
    ) -> LedgerAccount:
        """Replace `previous` if unchanged since read (LedgerAccountChanged otherwise), with `extra`;
        keeps `used`."""
        ...

    def delete_account(self, account: LedgerAccount, *extra: TransactItem) -> None:
        """Delete it if unchanged since read and never used (LedgerAccountChanged otherwise), with
        `extra`."""
        ...

    def use_op(self, account: LedgerAccount) -> TransactItem:
        """For the transaction that links an account to it or saves a rule naming it: marks it used,
        and fails the transaction if it was archived or deleted meanwhile."""
        ...
