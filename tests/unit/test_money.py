"""Amounts on the wire (issue 13 item 4): written with the currency's ISO 4217 minor units."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from shared.domain.money import format_amount, minor_units
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("GBP", 2),
        ("EUR", 2),
        ("USD", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("ISK", 0),
        ("CLP", 0),
        ("VND", 0),
        ("XAF", 0),
        ("XOF", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("IQD", 3),
        ("LYD", 3),
        ("CLF", 4),
        ("gbp", 2),  # a provider's lower case is still the currency
        (" JPY ", 0),
    ],
)
def test_minor_units_are_iso_4217_exponents(currency, exponent):
    assert minor_units(currency) == exponent


@pytest.mark.parametrize("currency", ["", "   ", None, "ZZZ", "POUNDS", "XAU", "XXX", "XTS"])
def test_no_exponent_for_unknown_codes_and_codes_without_minor_units(currency):
    # XAU (gold), XXX (no currency), XTS (testing): ISO 4217 says N.A.
    assert minor_units(currency) is None


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("-150", "GBP", "-150.00"),
        ("-1234.5", "GBP", "-1234.50"),
        ("-1234.5", "EUR", "-1234.50"),
        ("2650", "USD", "2650.00"),
        ("0", "GBP", "0.00"),
        ("-3.20", "GBP", "-3.20"),
        ("-1500.0", "JPY", "-1500"),
        ("-1500", "JPY", "-1500"),
        ("1500.00", "JPY", "1500"),
        ("1.5", "BHD", "1.500"),
        ("-12", "KWD", "-12.000"),
        ("250000", "ISK", "250000"),
        ("1E+3", "GBP", "1000.00"),  # never scientific notation
        ("1E+3", "JPY", "1000"),
        ("1.5000", "GBP", "1.50"),  # zeros past the exponent say nothing: dropped
        ("-150.000", "GBP", "-150.00"),
    ],
)
def test_amounts_have_the_currency_decimals(amount, currency, text):
    assert format_amount(Decimal(amount), currency) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1.005", "GBP", "1.005"),
        ("-0.001", "GBP", "-0.001"),
        ("1234.5678", "EUR", "1234.5678"),
        ("1500.5", "JPY", "1500.5"),
        ("1.50001", "BHD", "1.50001"),
        ("1.0050", "GBP", "1.005"),
    ],
)
def test_more_decimals_than_the_currency_has_are_kept_never_rounded(amount, currency, text):
    # A provider that sends 1.005 GBP sent 1.005 GBP: rounding it would change the money shown.
    assert format_amount(Decimal(amount), currency) == text
    assert Decimal(format_amount(Decimal(amount), currency)) == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("-150", None, "-150"),
        ("-150", "", "-150"),
        ("-1234.5", "ZZZ", "-1234.5"),
        ("1.005", "ZZZ", "1.005"),
        ("12.30", "XAU", "12.30"),
        ("1E+3", "ZZZ", "1000"),
    ],
)
def test_unknown_currency_keeps_the_value_as_stored(amount, currency, text):
    assert format_amount(Decimal(amount), currency) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("-0", "GBP", "0.00"),
        ("-0.00", "GBP", "0.00"),
        ("-0.0", "JPY", "0"),
        ("-0.000", "BHD", "0.000"),
        ("-0", "ZZZ", "0"),
        ("-0.00", None, "0.00"),
    ],
)
def test_negative_zero_is_never_printed(amount, currency, text):
    assert format_amount(Decimal(amount), currency) == text


def test_every_result_is_the_same_value():
    for amount in ("-150", "0.1", "-1234.5", "99999999999999.9999", "1E-7", "123456789012345678901234567890"):
        for currency in ("GBP", "JPY", "BHD", "CLF", "ZZZ", None):
            text = format_amount(Decimal(amount), currency)
            assert Decimal(text) == Decimal(amount) and "E" not in text.upper()


def test_the_currency_table_is_read_when_first_needed_not_at_init():
    # Cold start: importing a handler that formats amounts must not load the ISO 4217 table.
    check = (
        "import sys, functions.invitations_api.handler, functions.access_api.handler; "
        "print('iso4217' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
