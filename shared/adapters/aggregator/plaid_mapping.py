"""Plaid payloads as domain values: institutions, accounts (with the persistent id that
recognises the same bank account under another Item) and transactions.

Sign convention: Plaid's `amount` is positive when money moves OUT of the account; ours
is negative for money out. Every amount is negated here, exactly (Decimal from the JSON
text, never a float).
"""

from __future__ import annotations

from decimal import Decimal

from shared.adapters.aggregator.payload import Payload, malformed
from shared.domain.aggregator import AggregatorAccount, AggregatorTransaction, Institution, mask_identifier

_SAFE_DETAILS = ("type", "subtype", "official_name")


def institution_from(payload: Payload) -> Institution:
    countries = payload.strings("country_codes")
    logo = payload.opt_text("logo")  # base64 PNG
    return Institution(
        id=payload.text("institution_id"),
        name=payload.text("name"),
        country=countries[0] if countries else "",
        website=payload.opt_text("url"),
        logo_url=f"data:image/png;base64,{logo}" if logo else None,
    )


def account_from(payload: Payload, institution_id: str | None) -> AggregatorAccount:
    """Plaid's `current` balance (else `available`); for credit and loan accounts Plaid
    reports the amount owed as a positive number, kept as is."""
    balances = payload.obj("balances")
    current, available = balances.opt_decimal("current"), balances.opt_decimal("available")
    balance, balance_type = (current, "current") if current is not None else (available, "available")
    masked = mask_identifier(payload.opt_text("mask"))
    persistent = payload.opt_identifier("persistent_account_id")
    # The same bank account under another Item: Plaid's persistent id, where the institution has
    # one. Mask, name and subtype are not enough (two look-alike accounts share them).
    identity = f"persistent:{persistent}" if persistent else None
    return AggregatorAccount(
        account_id=payload.identifier("account_id"),
        name=payload.opt_text("name") or payload.opt_text("official_name") or masked or "Account",
        masked_identifier=masked,
        currency=balances.opt_text("iso_currency_code") or balances.opt_text("unofficial_currency_code"),
        balance=balance,
        balance_type=balance_type if balance is not None else None,
        institution_id=institution_id,
        details={key: value for key in _SAFE_DETAILS if (value := payload.opt_text(key))},
        identity=identity,
    )


def transaction_from(payload: Payload) -> AggregatorTransaction:
    """Plaid's `amount` is positive for money out: negated to our convention (negative = out).

    `date` is the posting date of a posted transaction and the transaction date of a
    pending one, so a pending transaction has no booking date.
    """
    amount = Decimal(0) - payload.decimal("amount")  # not unary minus: no "-0.00"
    currency = payload.opt_text("iso_currency_code") or payload.opt_text("unofficial_currency_code")
    if currency is None:
        raise malformed(payload.provider, f"{payload.where} has no currency")
    pending = payload.flag("pending")
    day = payload.opt_date("date")
    transaction_id = payload.opt_identifier("transaction_id")  # blank: fingerprinted
    return AggregatorTransaction(
        transaction_id=transaction_id,
        internal_id=None,
        account_id=payload.identifier("account_id"),
        booking_date=None if pending else day,
        value_date=payload.opt_date("authorized_date") or day,
        amount=amount,
        currency=currency,
        description=payload.opt_text("original_description") or payload.opt_text("name"),
        counterparty=payload.opt_text("merchant_name") or _first_counterparty(payload),
        pending=pending,
        raw_fingerprint_fields=(
            ("transaction_id", transaction_id or ""),
            ("date", day.isoformat() if day else ""),
            ("amount", str(amount)),
            ("currency", currency),
            ("name", payload.opt_text("name") or ""),
        ),
        pending_transaction_id=payload.opt_identifier("pending_transaction_id"),
    )


def _first_counterparty(payload: Payload) -> str | None:
    for item in payload.opt_array("counterparties"):
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            return str(item["name"])
    return None
