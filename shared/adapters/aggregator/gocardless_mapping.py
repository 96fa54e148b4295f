"""GoCardless payloads as domain values: institutions, accounts (with the identity key that
recognises the same bank account under another consent) and transactions (with the fields
that fingerprint one when the bank gives no id)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from shared.adapters.aggregator.payload import Payload
from shared.domain.aggregator import AggregatorAccount, AggregatorTransaction, Institution, mask_identifier

_PREFERRED_BALANCES = ("interimBooked", "closingBooked", "interimAvailable", "expected", "closingAvailable")
_SAFE_DETAILS = ("product", "cashAccountType", "usage", "bic", "details")  # no owner name, address, IBAN
# Fields that identify a transaction when the bank gives no id; never account numbers.
_FINGERPRINT_KEYS = (
    "bookingDate",
    "bookingDateTime",
    "valueDate",
    "valueDateTime",
    "endToEndId",
    "entryReference",
    "mandateId",
    "checkId",
    "creditorId",
    "bankTransactionCode",
    "proprietaryBankTransactionCode",
    "remittanceInformationUnstructured",
    "remittanceInformationStructured",
    "additionalInformation",
    "creditorName",
    "debtorName",
)


def institution_from(payload: Payload, country: str) -> Institution:
    """GoCardless gives no web address or notice: those stay None."""
    return Institution(
        id=payload.identifier("id"),
        name=payload.text("name"),
        country=country,
        logo_url=payload.opt_text("logo"),
        max_history_days=payload.opt_int("transaction_total_days"),
    )


def account_identity(identifier: str | None, kind: str = "iban") -> str | None:
    """The bank account itself, whatever the consent: its IBAN (or BBAN, sort code and number),
    compact and upper case. Never stored or shown as is: hashed with the institution."""
    compact = "".join((identifier or "").split()).upper()
    return f"{kind}:{compact}" if compact else None


def with_details(seen: AggregatorAccount, details: Payload, balances: list[Payload]) -> AggregatorAccount:
    """The account `seen` in its metadata, completed from its details and preferred balance."""
    masked = seen.masked_identifier or mask_identifier(
        details.opt_text("iban") or details.opt_text("bban") or details.opt_text("maskedPan")
    )
    identity = (
        seen.identity
        or account_identity(details.opt_text("iban"))
        or account_identity(details.opt_text("bban"), "bban")
        or account_identity(details.opt_text("scan"), "scan")
        or account_identity(details.opt_text("resourceId"), "resource")
    )
    balance = _preferred_balance(balances)
    amount = balance.obj("balanceAmount") if balance else None
    return replace(
        seen,
        name=details.opt_text("name")
        or details.opt_text("displayName")
        or details.opt_text("product")
        or masked
        or "Account",
        masked_identifier=masked,
        currency=details.opt_text("currency") or (amount.opt_text("currency") if amount else None),
        balance=amount.decimal("amount") if amount else None,
        balance_type=balance.opt_text("balanceType") if balance else None,
        details={"status": "READY", **{k: v for k in _SAFE_DETAILS if (v := details.opt_text(k))}},
        identity=identity,
    )


def _preferred_balance(balances: list[Payload]) -> Payload | None:
    by_type = {b.opt_text("balanceType"): b for b in balances}
    preferred = next((by_type[t] for t in _PREFERRED_BALANCES if t in by_type), None)
    return preferred or (balances[0] if balances else None)


def transaction_from(payload: Payload, account_id: str, *, pending: bool) -> AggregatorTransaction:
    """Amounts are signed by the bank (Berlin Group): negative = money out, as in our convention."""
    money = payload.obj("transactionAmount")
    amount = money.decimal("amount")
    currency = money.text("currency")
    debtor, creditor = payload.opt_text("debtorName"), payload.opt_text("creditorName")
    fields = [(key, value) for key in _FINGERPRINT_KEYS if (value := payload.scalar(key))]
    remittance_lines = [
        line for line in payload.opt_array("remittanceInformationUnstructuredArray") if isinstance(line, str)
    ]
    if remittance_lines:
        fields.append(("remittanceInformationUnstructuredArray", "\n".join(remittance_lines)))
    fields += [
        ("amount", str(amount)),
        ("currency", currency),
        ("status", "pending" if pending else "booked"),
    ]
    return AggregatorTransaction(
        transaction_id=payload.opt_identifier("transactionId"),
        internal_id=payload.opt_identifier("internalTransactionId"),
        account_id=account_id,
        booking_date=payload.opt_date("bookingDate") or payload.opt_date("bookingDateTime"),
        value_date=payload.opt_date("valueDate") or payload.opt_date("valueDateTime"),
        amount=amount,
        currency=currency,
        description=_description(payload, remittance_lines),
        counterparty=(creditor if amount < 0 else debtor) or creditor or debtor,
        pending=pending,
        raw_fingerprint_fields=tuple(fields),
    )


def _description(payload: Payload, remittance_lines: list[str]) -> str | None:
    return (
        payload.opt_text("remittanceInformationUnstructured")
        or (" ".join(remittance_lines) if remittance_lines else None)
        or payload.opt_text("remittanceInformationStructured")
        or payload.opt_text("additionalInformation")
    )


def with_occurrences(transactions: Iterable[AggregatorTransaction]) -> list[AggregatorTransaction]:
    """Number identical movements (two equal coffees the same day) so their fingerprints differ.

    Stable across fetches because identical movements share their dates, so a window holds
    all of them or none.
    """
    seen: Counter[tuple[tuple[str, str], ...]] = Counter()
    numbered = []
    for transaction in transactions:
        fields = transaction.raw_fingerprint_fields
        numbered.append(
            replace(transaction, raw_fingerprint_fields=(*fields, ("occurrence", str(seen[fields]))))
        )
        seen[fields] += 1
    return numbered
