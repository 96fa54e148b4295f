"""Amounts and balances in responses carry their currency's ISO 4217 minor units (issue 13 item 4).

Stored values are what the provider (or the person) gave; only the response writes them out with the
currency's decimals: -150 GBP is "-150.00", -1500.0 JPY is "-1500", 1.5 BHD is "1.500".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from functions.access_api import handler as access
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.domain.accounts import BankTransaction
from shared.services.customers import offer_accounts
from tests.integration.onboarding_support import ADMIN, call, seed_firms, shared_account

# (account number, currency, stored balance, balance on the wire)
ACCOUNTS = [
    (1, "GBP", Decimal("-150"), "-150.00"),
    (2, "JPY", Decimal("-1500.0"), "-1500"),
    (3, "BHD", Decimal("1.5"), "1.500"),
]
# (account number, day, stored amount, amount on the wire)
LINES = [
    (1, 1, Decimal("-150"), "-150.00"),
    (1, 2, Decimal("-1234.5"), "-1234.50"),
    (1, 3, Decimal("1.005"), "1.005"),  # more decimals than GBP has: kept, never rounded away
    (1, 4, Decimal("-0.00"), "0.00"),
    (2, 5, Decimal("-1500"), "-1500"),
    (2, 6, Decimal("-1500.00"), "-1500"),
    (3, 7, Decimal("-12.5"), "-12.500"),
]


@pytest.fixture
def customer_id(aws) -> str:
    """A customer of the demo firm with a GBP, a JPY and a BHD account offered (not yet reviewed)."""
    seed_firms()
    status, customer = call(
        invitations,
        "POST",
        "/customers/invitations",
        ADMIN,
        body={"name": "Jane Doe", "email": "j@example.org"},
    )
    assert status == 201
    customer_id = str(customer["customer_id"])
    offered = [
        replace(shared_account(customer_id, number), currency=currency, balance=balance)
        for number, currency, balance, _ in ACCOUNTS
    ]
    assert offer_accounts(bootstrap.onboarding(), DEMO_FIRM.firm_id, customer_id, offered) == 3
    return customer_id


def test_balances_and_amounts_have_the_currency_decimals(customer_id):
    ids = {"customer_id": customer_id}
    wire_balance = {f"acct-{number}": text for number, _, _, text in ACCOUNTS}

    _, accounts = call(invitations, "GET", "/customers/{customer_id}/accounts", ADMIN, path_parameters=ids)
    assert {a["account_id"]: a["balance"] for a in accounts["new_accounts"]} == wire_balance

    for number, *_ in ACCOUNTS:
        status, reviewed = call(
            invitations,
            "POST",
            "/customers/{customer_id}/accounts/{account_id}/accept",
            ADMIN,
            path_parameters={**ids, "account_id": f"acct-{number}"},
        )
        assert status == 200 and reviewed["balance"] == wire_balance[f"acct-{number}"]
    _, accounts = call(invitations, "GET", "/customers/{customer_id}/accounts", ADMIN, path_parameters=ids)
    assert {a["account_id"]: a["balance"] for a in accounts["connected_accounts"]} == wire_balance

    currency = {f"acct-{number}": code for number, code, _, _ in ACCOUNTS}
    bootstrap.onboarding().accounts.write_transactions(
        DEMO_FIRM.firm_id,
        customer_id,
        [
            BankTransaction(
                DEMO_FIRM.firm_id,
                customer_id,
                f"acct-{number}",
                f"tx-{day}",
                date(2026, 11, day),
                amount,
                currency[f"acct-{number}"],
                f"Line {day}",
            )
            for number, day, amount, _ in LINES
        ],
    )
    expected = {f"tx-{day}": text for _, day, _, text in LINES}
    _, page = call(
        invitations,
        "GET",
        "/customers/{customer_id}/transactions",
        ADMIN,
        path_parameters=ids,
        query={"limit": "100"},
    )
    assert {t["transaction_id"]: t["amount"] for t in page["items"]} == expected
    # The stored values are unchanged: formatting happens at the response only.
    stored = {
        a.account_id: a.balance
        for a in bootstrap.onboarding().accounts.list_for_customer(DEMO_FIRM.firm_id, customer_id)
    }
    assert [str(stored[f"acct-{number}"]) for number, *_ in ACCOUNTS] == ["-150", "-1500.0", "1.5"]

    # The unassigned bank lines (another route with the same line shape).
    _, lines = call(
        invitations,
        "GET",
        "/customers/{customer_id}/unassigned-lines",
        ADMIN,
        path_parameters=ids,
        query={"limit": "100"},
    )
    assert {t["transaction_id"]: t["amount"] for t in lines["items"]} == expected


def test_a_gbp_and_a_jpy_line_of_the_issue(customer_id):
    """The issue's example: -150 GBP and -1500 JPY stored, "-150.00" and "-1500" on the wire."""
    ids = {"customer_id": customer_id}
    for number in (1, 2):
        call(
            invitations,
            "POST",
            "/customers/{customer_id}/accounts/{account_id}/accept",
            ADMIN,
            path_parameters={**ids, "account_id": f"acct-{number}"},
        )
    bootstrap.onboarding().accounts.write_transactions(
        DEMO_FIRM.firm_id,
        customer_id,
        [
            BankTransaction(
                DEMO_FIRM.firm_id,
                customer_id,
                "acct-1",
                "gbp",
                date(2026, 11, 2),
                Decimal("-150"),
                "GBP",
                "A",
            ),
            BankTransaction(
                DEMO_FIRM.firm_id,
                customer_id,
                "acct-2",
                "jpy",
                date(2026, 11, 1),
                Decimal("-1500"),
                "JPY",
                "B",
            ),
        ],
    )
    _, page = call(invitations, "GET", "/customers/{customer_id}/transactions", ADMIN, path_parameters=ids)
    assert [(t["amount"], t["currency"]) for t in page["items"]] == [("-150.00", "GBP"), ("-1500", "JPY")]


def test_file_values_have_the_currency_decimals(customer_id):
    """A client file's patrimony and donations: the same rule (ADMIN invited the customer: the manager)."""
    ids = {"file_id": customer_id}
    for body, text in (
        ({"kind": "asset", "label": "Flat", "value": "250000", "currency": "EUR"}, "250000.00"),
        ({"kind": "asset", "label": "Savings", "value": "1500", "currency": "JPY"}, "1500"),
        ({"kind": "asset", "label": "Deposit", "value": "1.5", "currency": "BHD"}, "1.500"),
        ({"kind": "liability", "label": "Loan", "value": "0.1234", "currency": "GBP"}, "0.1234"),
    ):
        status, item = call(
            access, "POST", "/files/{file_id}/patrimony", ADMIN, path_parameters=ids, body=body
        )
        assert (status, item["value"]) == (201, text)
    donation = {
        "donor": "Jane",
        "beneficiary": "Kid",
        "donated_on": "2020-01-01",
        "value": "10000.1",
        "currency": "EUR",
    }
    status, given = call(
        access, "POST", "/files/{file_id}/donations", ADMIN, path_parameters=ids, body=donation
    )
    assert (status, given["value"]) == (201, "10000.10")

    _, file = call(access, "GET", "/files/{file_id}", ADMIN, path_parameters=ids)
    assert [p["value"] for p in file["patrimony"]] == ["250000.00", "1500", "1.500", "0.1234"]
    assert [d["value"] for d in file["donations"]] == ["10000.10"]
