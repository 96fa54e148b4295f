"""Deterministic demo data of the Plaid sandbox: institutions, accounts, transactions.

Everything here is a pure function of its arguments (ids and dates): the same account and
day always give the same transactions, and what a transaction looks like on a given day
(pending or posted, enriched or not) depends only on that day. The sandbox diffs two such
days to answer `/transactions/sync`. Nothing random, nothing read from the clock.

Amounts follow Plaid's sign: positive when money leaves the account, negative when it
comes in. They are `Decimal`s with two places, never floats.
"""

from __future__ import annotations

import base64
import hashlib
import string
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

BALANCE_HISTORY_DAYS = 730
"""Days of history every demo account has before its Item was created (balances start there)."""

DEFAULT_DAYS_REQUESTED = 90
MAX_DAYS_REQUESTED = 730
MAX_POSTING_LAG_DAYS = 2
CENTS = Decimal("0.01")

_ID_ALPHABET = string.digits + string.ascii_letters
_LOGO_SIZE = 152


def digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(part) for part in parts).encode("utf-8")).digest()


def plaid_id(*parts: object) -> str:
    """A 37-character, case-sensitive base62 id like Plaid's item, account and transaction ids."""
    number = int.from_bytes(digest(*parts), "big")
    chars = []
    for _ in range(37):
        number, remainder = divmod(number, 62)
        chars.append(_ID_ALPHABET[remainder])
    return "".join(chars)


def fold(text: str) -> str:
    """Lower case without accents, so "banque demo" finds "Banque Démo"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# --------------------------------------------------------------------------- institutions


@dataclass(frozen=True)
class Institution:
    """A demo institution. `account_count` drives an edge case, not the API."""

    institution_id: str
    name: str
    country_codes: tuple[str, ...]
    url: str
    primary_color: str
    oauth: bool
    routing_numbers: tuple[str, ...] = ()
    account_count: int = 2
    products: tuple[str, ...] = ("assets", "auth", "balance", "identity", "transactions")

    @property
    def currency(self) -> str:
        return {"US": "USD", "GB": "GBP", "CA": "CAD"}.get(self.country_codes[0], "EUR")

    @property
    def consent_days(self) -> int | None:
        """Open-banking (OAuth) consents in the UK and EU last 90 days; US Items do not expire."""
        return 90 if self.oauth else None

    def to_json(self, *, include_optional_metadata: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "country_codes": list(self.country_codes),
            "institution_id": self.institution_id,
            "name": self.name,
            "oauth": self.oauth,
            "products": list(self.products),
            "routing_numbers": list(self.routing_numbers),
        }
        optional = {
            "logo": logo_png_base64(self.primary_color),
            "primary_color": self.primary_color,
            "url": self.url,
        }
        for name, value in optional.items():
            body[name] = value if include_optional_metadata else None
        return dict(sorted(body.items()))


INSTITUTIONS: tuple[Institution, ...] = (
    Institution(
        "ins_109508",
        "First Platypus Bank",
        ("US",),
        "https://www.firstplatypus.example",
        "#1f6f8b",
        oauth=False,
        routing_numbers=("011401533",),
    ),
    # Look-alikes (R-CON-1): the same words, different banks, different web addresses.
    Institution(
        "ins_900001",
        "First Platypus Bank Business",
        ("US",),
        "https://business.firstplatypus.example",
        "#0b3c5d",
        oauth=False,
        routing_numbers=("011401546",),
    ),
    Institution(
        "ins_900002",
        "First Platipus Credit Union",
        ("US",),
        "https://www.platipus-cu.example",
        "#6b2d5c",
        oauth=False,
        routing_numbers=("021000021",),
    ),
    # Consent succeeds but no account is shared: "no accounts found" (R-CON-8).
    Institution(
        "ins_900003",
        "Empty Vault Bank",
        ("US",),
        "https://www.emptyvault.example",
        "#555555",
        oauth=False,
        account_count=0,
    ),
    Institution(
        "ins_900004", "Northwind Bank", ("GB",), "https://www.northwind.example", "#c0392b", oauth=True
    ),
    Institution(
        "ins_900005",
        "Northwind Bank Business",
        ("GB",),
        "https://business.northwind.example",
        "#922b21",
        oauth=True,
    ),
    Institution(
        "ins_900006",
        "Northwynd Building Society",
        ("GB",),
        "https://www.northwynd.example",
        "#117a65",
        oauth=True,
    ),
    Institution(
        "ins_900007", "Banque Démo", ("FR",), "https://www.banque-demo.example", "#2e4053", oauth=True
    ),
    Institution(
        "ins_900008",
        "Crédit Exemple",
        ("FR", "ES"),
        "https://www.credit-exemple.example",
        "#b9770e",
        oauth=True,
    ),
)

_INSTITUTIONS_BY_ID = {institution.institution_id: institution for institution in INSTITUTIONS}


def find_institution(institution_id: str) -> Institution | None:
    return _INSTITUTIONS_BY_ID.get(institution_id)


def search_institutions(query: str, country_codes: list[str], products: list[str]) -> list[Institution]:
    """Institutions whose name contains `query` (case and accents ignored), serving one of the
    countries and supporting every product; names starting with the query come first."""
    wanted = fold(query).strip()
    matching = [
        institution
        for institution in INSTITUTIONS
        if wanted in fold(institution.name)
        and set(country_codes) & set(institution.country_codes)
        and set(products) <= set(institution.products)
    ]
    return sorted(matching, key=lambda i: (not fold(i.name).startswith(wanted), i.name))


@cache
def logo_png_base64(colour: str) -> str:
    """A 152x152 PNG of one colour, base64-encoded as Plaid sends logos."""
    rgb = bytes.fromhex(colour.removeprefix("#"))
    rows = (b"\x00" + rgb * _LOGO_SIZE) * _LOGO_SIZE
    header = struct.pack(">IIBBBBB", _LOGO_SIZE, _LOGO_SIZE, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9))
    return base64.b64encode(png + _chunk(b"IEND", b"")).decode("ascii")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class AccountProfile:
    name: str
    official_name: str
    subtype: str
    type: str = "depository"


ACCOUNT_PROFILES = (
    AccountProfile("Everyday Checking", "Everyday Checking Account", "checking"),
    AccountProfile("Instant Saver", "Instant Access Saver", "savings"),
    AccountProfile("Travel Saver", "Travel Savings Pot", "savings"),
)


def account_profile(index: int) -> AccountProfile:
    return ACCOUNT_PROFILES[index % len(ACCOUNT_PROFILES)]


def account_id_for(item_id: str, index: int) -> str:
    return plaid_id("account", item_id, index)


def mask_for(account_id: str) -> str:
    return "".join(str(byte % 10) for byte in digest("mask", account_id)[:4])


def opening_balance(account_id: str) -> Decimal:
    """The balance before the first day of history."""
    cents = 150_000 + int.from_bytes(digest("opening", account_id)[:4], "big") % 500_000
    return (Decimal(cents) / 100).quantize(CENTS)


# --------------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class _Template:
    """A kind of movement; its amount is `base_cents` plus up to `spread_cents`.

    `name` is the raw descriptor the bank shows; `merchant_name` is Plaid's clean name. Card
    payments are authorised first (pending) and post one or two days later; the others post
    at once.
    """

    name: str
    merchant_name: str | None
    website: str | None
    category: tuple[str, str]
    payment_channel: str
    base_cents: int
    spread_cents: int = 0
    is_credit: bool = False
    card: bool = False


_FOOD = "FOOD_AND_DRINK"
_SHOPS = "GENERAL_MERCHANDISE"

_DAILY = (
    _Template(
        "CAFE MUNSTER 0412",
        "Café Münster",
        "cafe-muenster.example",
        (_FOOD, "FOOD_AND_DRINK_COFFEE"),
        "in store",
        250,
        1250,
        card=True,
    ),
    _Template(
        "TESCO STORES 3297",
        "Tesco",
        "tesco.example",
        (_FOOD, "FOOD_AND_DRINK_GROCERIES"),
        "in store",
        800,
        6200,
        card=True,
    ),
    _Template(
        "TFL TRAVEL CH",
        "Transport for London",
        "tfl.example",
        ("TRANSPORTATION", "TRANSPORTATION_PUBLIC_TRANSIT"),
        "in store",
        150,
        1050,
        card=True,
    ),
    _Template(
        "BOULANGERIE GENERALE PARIS",
        "Boulangerie Générale",
        "boulangerie-generale.example",
        (_FOOD, "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK"),
        "in store",
        300,
        1800,
        card=True,
    ),
    _Template(
        "BACKEREI MULLER GMBH",
        "Bäckerei Müller",
        None,
        (_FOOD, "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK"),
        "in store",
        200,
        1300,
        card=True,
    ),
    _Template(
        "ZOES PIZZERIA*ONLINE",
        "Zoë's Pizzeria 🍕",
        "zoes-pizzeria.example",
        (_FOOD, "FOOD_AND_DRINK_RESTAURANT"),
        "online",
        1200,
        2400,
        card=True,
    ),
    _Template(
        "DD NORTHERN ENERGY",
        "Northern Energy",
        "northern-energy.example",
        ("RENT_AND_UTILITIES", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY"),
        "other",
        4500,
        4500,
    ),
    _Template(
        "FASTER PAYMENT FROM S TAYLOR",
        None,
        None,
        ("TRANSFER_IN", "TRANSFER_IN_ACCOUNT_TRANSFER"),
        "other",
        1000,
        3000,
        is_credit=True,
    ),
    _Template(
        "ORSTED SHOP REFUND 4471",
        "Ørsted Shop",
        "orsted-shop.example",
        (_SHOPS, "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE"),
        "online",
        500,
        4500,
        is_credit=True,
    ),
)
_CARD_PAYMENTS = tuple(template for template in _DAILY if template.card)

_CHECKING_MONTHLY = {
    1: _Template(
        "STANDING ORDER HARBOUR LETTINGS",
        "Harbour Lettings",
        None,
        ("RENT_AND_UTILITIES", "RENT_AND_UTILITIES_RENT"),
        "other",
        135_000,
    ),
    28: _Template(
        "ACME PAYROLL LTD SALARY",
        "Acme Payroll",
        None,
        ("INCOME", "INCOME_WAGES"),
        "other",
        420_000,
        is_credit=True,
    ),
}

_SAVINGS_MONTHLY = {
    2: _Template(
        "TRANSFER FROM EVERYDAY CHECKING",
        None,
        None,
        ("TRANSFER_IN", "TRANSFER_IN_ACCOUNT_TRANSFER"),
        "other",
        20_000,
        30_000,
        is_credit=True,
    ),
    28: _Template(
        "INTEREST PAID",
        None,
        None,
        ("INCOME", "INCOME_INTEREST_EARNED"),
        "other",
        100,
        900,
        is_credit=True,
    ),
}


@dataclass(frozen=True)
class SandboxTransaction:
    """One movement, authorised on `authorized`; a card payment is pending until it posts."""

    account_id: str
    authorized: date
    index: int
    template: _Template
    amount: Decimal
    posting_lag_days: int

    @property
    def pending_transaction_id(self) -> str | None:
        return (
            plaid_id("pending", self.account_id, self.authorized, self.index) if self.template.card else None
        )

    @property
    def posted_transaction_id(self) -> str:
        return plaid_id("posted", self.account_id, self.authorized, self.index)

    @property
    def posted_on(self) -> date:
        return self.authorized + timedelta(days=self.posting_lag_days)

    def is_visible(self, today: date) -> bool:
        """Plaid learns of a day's movements once that day is over."""
        return self.authorized < today

    def is_pending(self, today: date) -> bool:
        return self.template.card and self.posted_on >= today

    def transaction_id(self, today: date) -> str:
        pending_id = self.pending_transaction_id
        return pending_id if pending_id is not None and self.is_pending(today) else self.posted_transaction_id

    def to_json(self, today: date, currency: str, *, original_description: bool) -> dict[str, Any]:
        """The transaction as Plaid shows it on `today`. A payment pending for two days is
        enriched (merchant, website, counterparty) on its second day: a `modified` update."""
        pending = self.is_pending(today)
        enriched = not pending or (today - self.authorized).days > 1
        template = self.template
        merchant = template.merchant_name if enriched else None
        website = template.website if merchant else None
        return {
            "account_id": self.account_id,
            "account_owner": None,
            "amount": self.amount,
            "authorized_date": self.authorized.isoformat(),
            "authorized_datetime": None,
            "category": None,
            "category_id": None,
            "check_number": None,
            "counterparties": _counterparties(merchant, website),
            "date": (self.authorized if pending else self.posted_on).isoformat(),
            "datetime": None,
            "iso_currency_code": currency,
            "location": dict.fromkeys(
                ("address", "city", "country", "lat", "lon", "postal_code", "region", "store_number")
            ),
            "logo_url": None,
            "merchant_entity_id": plaid_id("merchant", merchant) if merchant else None,
            "merchant_name": merchant,
            "name": template.name,
            "original_description": template.name if original_description else None,
            "payment_channel": template.payment_channel,
            "payment_meta": dict.fromkeys(
                (
                    "by_order_of",
                    "payee",
                    "payer",
                    "payment_method",
                    "payment_processor",
                    "ppd_id",
                    "reason",
                    "reference_number",
                )
            ),
            "pending": pending,
            "pending_transaction_id": None if pending else self.pending_transaction_id,
            "personal_finance_category": {
                "confidence_level": "VERY_HIGH" if enriched else "LOW",
                "detailed": template.category[1],
                "primary": template.category[0],
            },
            "transaction_code": None,
            "transaction_id": self.transaction_id(today),
            "transaction_type": _transaction_type(template),
            "unofficial_currency_code": None,
            "website": website,
        }


def _counterparties(merchant: str | None, website: str | None) -> list[dict[str, Any]]:
    if merchant is None:
        return []
    return [
        {
            "confidence_level": "VERY_HIGH",
            "entity_id": plaid_id("merchant", merchant),
            "logo_url": None,
            "name": merchant,
            "type": "merchant",
            "website": website,
        }
    ]


def _transaction_type(template: _Template) -> str:
    if not template.card:
        return "special"
    return "digital" if template.payment_channel == "online" else "place"


@lru_cache(maxsize=50_000)  # about 70 accounts' two-year histories
def transactions_on(account_id: str, subtype: str, day: date) -> tuple[SandboxTransaction, ...]:
    """The movements of one account authorised on `day`: checking accounts see 1 to 3 a day,
    the first a card payment (so whatever the day, yesterday's is still pending), plus rent and
    salary; savings accounts a monthly transfer and interest."""
    seed = digest("day", account_id, day.isoformat())
    if subtype == "checking":
        first = _CARD_PAYMENTS[seed[1] % len(_CARD_PAYMENTS)]
        templates = [first, *(_DAILY[seed[2 + n] % len(_DAILY)] for n in range(seed[0] % 3))]
        monthly = _CHECKING_MONTHLY.get(day.day)
    else:
        templates = []
        monthly = _SAVINGS_MONTHLY.get(day.day)
    if monthly is not None:
        templates.insert(0, monthly)
    return tuple(_transaction(account_id, day, index, template) for index, template in enumerate(templates))


def _transaction(account_id: str, day: date, index: int, template: _Template) -> SandboxTransaction:
    seed = digest("transaction", account_id, day.isoformat(), index)
    cents = template.base_cents + int.from_bytes(seed[:4], "big") % (template.spread_cents + 1)
    amount = (Decimal(cents) / 100).quantize(CENTS)
    return SandboxTransaction(
        account_id=account_id,
        authorized=day,
        index=index,
        template=template,
        amount=-amount if template.is_credit else amount,
        posting_lag_days=1 + seed[4] % MAX_POSTING_LAG_DAYS if template.card else 0,
    )


def transactions_between(account_id: str, subtype: str, first: date, last: date) -> list[SandboxTransaction]:
    """All movements authorised in [first, last], oldest first."""
    days = (last - first).days + 1
    return [
        tx
        for offset in range(max(days, 0))
        for tx in transactions_on(account_id, subtype, first + timedelta(offset))
    ]


def balances(account_id: str, subtype: str, since: date, today: date) -> tuple[Decimal, Decimal]:
    """(current, available) on `today`: `current` counts the posted movements since `since`,
    `available` also takes the pending payments off."""
    history = transactions_between(account_id, subtype, since, today - timedelta(days=1))
    posted = sum((tx.amount for tx in history if not tx.is_pending(today)), Decimal(0))
    held = sum((tx.amount for tx in history if tx.is_pending(today) and tx.amount > 0), Decimal(0))
    current = opening_balance(account_id) - posted
    return current, current - held
