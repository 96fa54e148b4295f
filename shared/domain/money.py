"""Money on the wire: an amount is written with its currency's ISO 4217 minor units (issue 13 item 4).

Amounts are `Decimal` everywhere inside and are stored exactly as the provider (or the person) gave
them; only a response writes them out, as a decimal string with the currency's number of decimals:
-150 GBP is "-150.00", -1234.5 EUR is "-1234.50", -1500.0 JPY is "-1500", 1.5 BHD is "1.500".

- The exponents are ISO 4217's "minor units", from the `iso4217` package (the ISO list as published,
  updated with each amendment), read the first time an amount is written: not at a Lambda's init.
- More decimals than the currency has (a provider that sent 1.005 GBP) are kept, never rounded: the
  text is the fewest decimals, at least the currency's, that write the value exactly ("1.005"). Zeros
  past the currency's decimals say nothing and are dropped ("1.5000" GBP is "1.50"). So the text is
  always the stored value, to the last digit, and rounding stays a decision of whoever uses it.
- A currency we cannot place (empty, unknown, or one ISO 4217 gives no minor unit, like XAU) keeps
  the value as stored ("-1234.5").
- Never scientific notation, and never a negative zero ("-0.00" is "0.00").
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache


@lru_cache(maxsize=512)
def minor_units(currency: str | None) -> int | None:
    """The ISO 4217 exponent of `currency` (2 for GBP, 0 for JPY, 3 for BHD); None when the code is
    empty, unknown, or has no minor unit in ISO 4217 (XAU, XXX, XTS...). Case and spaces are ignored."""
    code = (currency or "").strip().upper()
    if not code:
        return None
    from iso4217 import Currency  # the table is parsed on first use, not at a handler's init

    try:
        return Currency(code).exponent
    except ValueError:
        return None


def format_amount(amount: Decimal, currency: str | None) -> str:
    """`amount` as the decimal string a response carries (see the module's rules)."""
    if not amount.is_finite():
        return str(amount)
    text = format(amount, "f")  # exact, never scientific: every digit of the stored value
    sign = "-" if text.startswith("-") and not amount.is_zero() else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    places = minor_units(currency)
    if places is not None:
        fraction = fraction.rstrip("0").ljust(places, "0")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"
