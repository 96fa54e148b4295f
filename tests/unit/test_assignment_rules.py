from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.domain.accounts import BankTransaction
from shared.domain.assignment import AssignmentRule, Direction, first_match


def line(
    amount: str, description: str = "CARD PAYMENT", counterparty: str | None = None, pending: bool = False
):
    return BankTransaction(
        "f", "c", "a", "k", date(2026, 11, 20), Decimal(amount), "GBP", description, counterparty, pending
    )


RENT = AssignmentRule(
    "r1", "f", "Rent", 1, text_contains="landlord", direction=Direction.OUT, ledger_account="7100"
)
BIG_IN = AssignmentRule(
    "r2", "f", "Big receipts", 2, amount_min=Decimal("1000"), direction=Direction.IN, category="income"
)
COFFEE = AssignmentRule(
    "r3", "f", "Coffee", 3, text_contains="café", amount_max=Decimal("10"), category="meals"
)


@pytest.mark.parametrize(
    ("transaction", "expected"),
    [
        (line("-950.00", "Monthly rent", "ACME Landlord Ltd"), "7100"),
        (line("950.00", "Refund", "ACME Landlord Ltd"), None),  # direction: money in
        (line("1000.00", "Invoice 12"), "income"),  # boundary included
        (line("999.99", "Invoice 12"), None),
        (line("-4.20", "CAFÉ MÜNSTER"), "meals"),  # any case, non-ASCII
        (line("-10.01", "Café Münster"), None),
        (line("-4.20", "Café", pending=True), None),  # pending lines wait to be booked
    ],
)
def test_first_matching_rule_wins(transaction, expected):
    found = first_match([COFFEE, BIG_IN, RENT], transaction)
    assert (found.ledger_account or found.category if found else None) == expected


def test_order_decides_between_two_matching_rules():
    broad = AssignmentRule("r0", "f", "Anything out", 5, direction=Direction.OUT, category="misc")
    assert first_match([broad, RENT], line("-950", "rent", "landlord")).by == "rule:r1"
    assert (
        first_match([RENT, AssignmentRule("r0", "f", "x", 0, category="misc")], line("-950", "landlord")).by
        == "rule:r0"
    )
