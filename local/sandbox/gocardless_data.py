"""Deterministic demo data of the GoCardless sandbox: institutions, accounts, transactions.

Everything here is a pure function of its arguments (ids and dates): the same account and
day always give the same transactions, so an import window can be fetched twice and
compared. Nothing random, nothing read from the clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

HISTORY_DAYS = 730
"""Days of transaction history every demo account has before it was linked."""

BOOKING_LAG_DAYS = 2
"""A transaction is booked this many days after its value date; until then it is pending.

Every day has at least one line, so whatever the day an account shows booked history and
pending lines of the last three days (booked after the previous day's close). Two days of lag
keep a pending line inside the import window of a firm whose previous day is two UTC days ago
(New York late in the evening), so no test depends on the date or the zone it runs in."""

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Institution:
    """A demo bank. `account_count` and `has_transaction_ids` drive edge cases, not the API."""

    id: str
    name: str
    bic: str
    transaction_total_days: int
    max_access_valid_for_days: int
    countries: tuple[str, ...]
    account_count: int = 2
    has_transaction_ids: bool = True

    @property
    def currency(self) -> str:
        return "GBP" if self.countries[0] == "GB" else "EUR"

    def to_json(self) -> dict[str, Any]:
        """The institution as the API lists it (day counts are strings, as in the real API)."""
        return {
            "id": self.id,
            "name": self.name,
            "bic": self.bic,
            "transaction_total_days": str(self.transaction_total_days),
            "max_access_valid_for_days": str(self.max_access_valid_for_days),
            "countries": list(self.countries),
            "logo": _logo_data_uri(self.name),
        }


INSTITUTIONS: tuple[Institution, ...] = (
    Institution("DEMOBANK_DMBKGB2L", "Demo Bank", "DMBKGB2L", 730, 180, ("GB",)),
    # Three look-alikes (R-CON-1): same word, different banks, different BICs and history.
    Institution("NORTHWIND_NWNDGB2L", "Northwind Bank", "NWNDGB2L", 540, 90, ("GB",)),
    Institution("NORTHWIND_BUSINESS_NWNBGB2L", "Northwind Bank Business", "NWNBGB2L", 365, 90, ("GB",)),
    # No transactionId on its transactions: the importer must fingerprint them.
    Institution(
        "NORTHWYND_NWYDGB21",
        "Northwynd Building Society",
        "NWYDGB21",
        90,
        90,
        ("GB",),
        has_transaction_ids=False,
    ),
    # Consent succeeds but no account is shared: "no accounts found" (R-CON-8).
    Institution("EMPTYVAULT_EMPTGB21", "Empty Vault Bank", "EMPTGB21", 730, 90, ("GB",), account_count=0),
    Institution("EURODIGITAL_EDIGDEB1", "Eurobank Digital", "EDIGDEB1", 730, 180, ("DE", "FR", "GB")),
    Institution("BANQUEDEMO_BDEMFRPP", "Banque Démo", "BDEMFRPP", 730, 180, ("FR",)),
    Institution("CREDITEXEMPLE_CEXEFRPP", "Crédit Exemple", "CEXEFRPP", 90, 90, ("FR",)),
    Institution("DEMOBANK_DE_DMBKDEFF", "Demobank Deutschland", "DMBKDEFF", 730, 180, ("DE",)),
    Institution("BEISPIELSPARKASSE_BSPKDE3H", "Beispiel Sparkasse", "BSPKDE3H", 365, 90, ("DE",)),
)

_INSTITUTIONS_BY_ID = {institution.id: institution for institution in INSTITUTIONS}


def find_institution(institution_id: str) -> Institution | None:
    return _INSTITUTIONS_BY_ID.get(institution_id)


def institutions_in(country: str | None) -> list[Institution]:
    """Institutions serving `country` (all of them when None), sorted by name."""
    matching = [i for i in INSTITUTIONS if country is None or country.upper() in i.countries]
    return sorted(matching, key=lambda institution: institution.name)


def _logo_data_uri(name: str) -> str:
    """A self-contained SVG logo, so demos show something without the network."""
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    colour = _digest("logo", name).hex()[:6]
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'>"
        f"<rect width='64' height='64' rx='12' fill='#{colour}'/>"
        "<text x='32' y='41' font-family='sans-serif' font-size='24' text-anchor='middle' fill='white'>"
        f"{initials}</text></svg>"
    )
    return "data:image/svg+xml," + quote(svg)


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(part) for part in parts).encode("utf-8")).digest()


def _digits(seed: bytes, count: int) -> str:
    return "".join(str(byte % 10) for byte in seed[:count])


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class AccountProfile:
    name: str
    product: str
    cash_account_type: str


ACCOUNT_PROFILES = (
    AccountProfile("Main Account", "Current Account", "CACC"),
    AccountProfile("Savings Account", "Instant Saver", "SVGS"),
)

OWNER_NAMES = ("Alex Morgan", "Camille Dupont", "Jonas Becker", "Priya Shah", "Zoë Ångström")

_BBAN_LENGTHS = {"DE": 18, "FR": 23}


def owner_name_for(requisition_id: str) -> str:
    return OWNER_NAMES[_digest("owner", requisition_id)[0] % len(OWNER_NAMES)]


def iban_for(institution: Institution, account_id: str) -> str:
    """A checksum-valid IBAN in the institution's first country."""
    country = institution.countries[0]
    seed = _digest("iban", account_id)
    if country == "GB":
        bban = institution.bic[:4] + _digits(seed, 14)
    else:
        bban = _digits(seed, _BBAN_LENGTHS[country])
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def resource_id_for(account_id: str) -> str:
    return _digest("resource", account_id).hex()[:24]


# --------------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class _Template:
    """A kind of movement; its amount is `base_cents` plus up to `spread_cents`."""

    counterparty: str
    remittance: str
    bank_transaction_code: str
    base_cents: int
    spread_cents: int = 0
    is_credit: bool = False


_CARD = "PMNT-CCRD-POSD"
_TRANSFER_IN = "PMNT-RCDT-ESCT"

_DAILY = (
    _Template("Café Münster", "Café Münster \u2013 € Kartenzahlung", _CARD, 250, 1550),
    _Template("Tesco Stores", "TESCO STORES 3297 LONDON", _CARD, 800, 8700),
    _Template("Transport for London", "TFL TRAVEL CHARGE", _CARD, 150, 1050),
    _Template("Boulangerie Générale", "Boulangerie Générale \u2013 pain & croissants", _CARD, 300, 2100),
    _Template("Bäckerei Müller GmbH", "Bäckerei Müller, Straße 5", _CARD, 200, 1300),
    _Template("Northern Energy Ltd", "DD Northern Energy \u2013 électricité", "PMNT-RDDT-ESDD", 4500, 7500),
    _Template("Sam Taylor", "Dinner split 🍕 thanks!", _TRANSFER_IN, 1000, 3000, is_credit=True),
    _Template("Ørsted Shop", "Refund order 4471 \u2013 Ørsted Shop", _TRANSFER_IN, 500, 5500, is_credit=True),
)

_MONTHLY = {
    1: _Template("Harbour Lettings", "RENT FLAT 3 STANDING ORDER", "PMNT-ICDT-STDO", 155_000),
    28: _Template("Acme Payroll Ltd", "SALARY ACME PAYROLL", "PMNT-RCDT-SALA", 265_000, is_credit=True),
}


@dataclass(frozen=True)
class BankTransaction:
    """One movement, dated by its value date; booked BOOKING_LAG_DAYS later."""

    value_date: date
    amount: Decimal
    counterparty: str
    remittance: str
    bank_transaction_code: str
    internal_id: str
    transaction_id: str

    @property
    def booking_date(self) -> date:
        return self.value_date + timedelta(days=BOOKING_LAG_DAYS)

    def is_booked(self, today: date) -> bool:
        """Shown booked once its booking day is over; pending until then."""
        return self.booking_date < today

    def to_json(self, currency: str, *, booked: bool, with_transaction_id: bool) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if booked and with_transaction_id:
            body["transactionId"] = self.transaction_id
        body["internalTransactionId"] = self.internal_id
        if booked:
            body["bookingDate"] = self.booking_date.isoformat()
        body["valueDate"] = self.value_date.isoformat()
        body["transactionAmount"] = {"amount": str(self.amount), "currency": currency}
        body["debtorName" if self.amount > 0 else "creditorName"] = self.counterparty
        body["remittanceInformationUnstructured"] = self.remittance
        body["bankTransactionCode"] = self.bank_transaction_code
        return body


def transactions_on(account_id: str, day: date) -> list[BankTransaction]:
    """The transactions of one account with value date `day`: 1 to 3, plus rent and salary monthly."""
    seed = _digest("day", account_id, day.isoformat())
    templates = [_DAILY[seed[1 + n] % len(_DAILY)] for n in range(1 + seed[0] % 3)]
    if day.day in _MONTHLY:
        templates.insert(0, _MONTHLY[day.day])
    return [_transaction(account_id, day, index, template) for index, template in enumerate(templates)]


def _transaction(account_id: str, day: date, index: int, template: _Template) -> BankTransaction:
    seed = _digest("transaction", account_id, day.isoformat(), index)
    cents = template.base_cents + int.from_bytes(seed[:4], "big") % (template.spread_cents + 1)
    amount = (Decimal(cents) / 100).quantize(CENTS)
    return BankTransaction(
        value_date=day,
        amount=amount if template.is_credit else -amount,
        counterparty=template.counterparty,
        remittance=template.remittance,
        bank_transaction_code=template.bank_transaction_code,
        internal_id=seed.hex()[:32],
        transaction_id=f"{day:%Y%m%d}{index:02d}{seed.hex()[32:40].upper()}",
    )


def transactions_between(account_id: str, first: date, last: date) -> list[BankTransaction]:
    """All transactions with a value date in [first, last], oldest first."""
    days = (last - first).days + 1
    return [
        tx for offset in range(max(days, 0)) for tx in transactions_on(account_id, first + timedelta(offset))
    ]


def opening_balance(account_id: str) -> Decimal:
    """The balance before the first day of history."""
    return (
        Decimal(150_000 + int.from_bytes(_digest("opening", account_id)[:4], "big") % 500_000) / 100
    ).quantize(CENTS)
