"""The firm's chart of accounts (seed 003 "link to an internal account"): the ledger accounts a bank
account is linked to and the auto-assign rules put lines on. Pure rules: no storage, no AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.errors import InvalidRequest

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"  # a path segment: no spaces, no slashes


class LedgerKind(StrEnum):
    BANK = "bank"  # what an aggregator account is linked to (the firm's client bank account)
    EXPENSE = "expense"
    INCOME = "income"
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"


def code_key(code: str) -> str:
    """How codes are told apart: "1200-a" and "1200-A" are one account."""
    return code.strip().casefold()


@dataclass(frozen=True)
class LedgerAccount:
    firm_id: str
    code: str  # as the admin wrote it when creating it: links and rules store this spelling
    name: str
    kind: LedgerKind
    created_at: datetime
    archived: bool = False  # kept for the books, no longer picked by a new link or rule
    used: bool = False  # a link or a rule named it once: archive it, never delete it
    version: int = 0

    def picked(self, kind: LedgerKind | None = None) -> LedgerAccount:
        """This account as a new link's or rule's choice: not archived, and of `kind` if given."""
        if self.archived:
            raise InvalidRequest(
                "That ledger account is archived: choose another one.", code="ledger_account_archived"
            )
        if kind is not None and self.kind is not kind:
            raise InvalidRequest(
                f"Choose a ledger account of kind {kind.value}.", code=f"ledger_account_not_{kind.value}"
            )
        return self


def unknown_ledger_account() -> InvalidRequest:
    """A code the firm's chart does not hold (another firm's codes included, R-ROLE-1)."""
    return InvalidRequest(
        "No ledger account of your firm has that code: add it to the chart of accounts first.",
        code="unknown_ledger_account",
    )
