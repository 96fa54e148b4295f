"""Port: A firm's assignment rules and the lines to assign.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.accounts import BankTransaction
from shared.domain.assignment import AssignmentRule
from shared.ports.storage import TransactItem


class AssignmentStore(Protocol):
    """A firm's assignment rules and the lines to assign."""

    def rules(self, firm_id: str) -> list[AssignmentRule]:
        """Every rule of the firm, in order (a firm has tens of rules: one Query)."""
        ...

    def put_rule(self, rule: AssignmentRule, *extra: TransactItem, must_exist: bool) -> None:
        """Create (or, `must_exist`, replace: NotFound if absent) the rule, in one transaction with
        `extra` (marking its ledger account used); a failed `extra` is a LedgerAccountChanged."""
        ...

    def delete_rule(self, firm_id: str, rule_id: str, *extra: TransactItem) -> None:
        """Delete a rule that exists (NotFound otherwise), in one transaction with `extra`."""
        ...

    def unassigned(
        self, firm_id: str, customer_id: str, *, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[BankTransaction], str | None]:
        """Booked lines not yet assigned, oldest first, from the sparse index."""
        ...

    def get_line(self, firm_id: str, customer_id: str, line_id: str) -> BankTransaction | None: ...

    def save_line(self, line: BankTransaction, *extra: TransactItem) -> None:
        """Store a line's assignment, in one transaction with `extra` (marking its ledger account
        used); a failed `extra` is a LedgerAccountChanged."""
        ...
