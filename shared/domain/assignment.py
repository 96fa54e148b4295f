"""Auto-assign (R-IMP-3): the firm's ordered rules put bank lines on ledger accounts or
categories; the first rule that matches wins. Pure rules: no storage, no AWS."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.domain.accounts import BankTransaction


class Direction(StrEnum):
    IN = "in"  # money in (amount > 0)
    OUT = "out"  # money out (amount < 0)
    ANY = "any"


@dataclass(frozen=True)
class Assignment:
    ledger_account: str | None = None
    category: str | None = None
    by: str = ""  # "rule:<id>" or the user's sub


@dataclass(frozen=True)
class AssignmentRule:
    rule_id: str
    firm_id: str
    name: str
    position: int  # lower first
    text_contains: str | None = None  # in the description or the counterparty, any case
    amount_min: Decimal | None = None  # on the absolute amount
    amount_max: Decimal | None = None
    direction: Direction = Direction.ANY
    ledger_account: str | None = None
    category: str | None = None

    def matches(self, line: BankTransaction) -> bool:
        if self.direction is Direction.IN and line.amount <= 0:
            return False
        if self.direction is Direction.OUT and line.amount >= 0:
            return False
        size = abs(line.amount)
        if self.amount_min is not None and size < self.amount_min:
            return False
        if self.amount_max is not None and size > self.amount_max:
            return False
        if self.text_contains:
            haystack = f"{line.description} {line.counterparty or ''}".casefold()
            if self.text_contains.casefold() not in haystack:
                return False
        return True


def first_match(rules: Iterable[AssignmentRule], line: BankTransaction) -> Assignment | None:
    """The assignment of the first matching rule in order, if any (pending lines wait)."""
    if line.pending:
        return None
    for rule in sorted(rules, key=lambda r: (r.position, r.rule_id)):
        if rule.matches(line):
            return Assignment(rule.ledger_account, rule.category, f"rule:{rule.rule_id}")
    return None
