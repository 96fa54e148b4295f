"""The client file of a customer and the grants that open it to people outside the firm (R-ACC-1..6).

The file of customer `<cust>` of firm `<firm>` has the id `<cust>`: every customer has exactly
one file, which exists as soon as the customer does; its items are written on first use (no
separate "create file" step). Sections: the family structure (members), the patrimony
inventory (assets and liabilities), the donations inventory, and stored documents
(simulations and reports). Grants open the file to a family member or to an external
adviser registered in it, at a level.

Pure rules: no boto3, no environment. Repositories store what these functions decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from shared.domain.customers import Invitation, issue_invitation


class Relation(StrEnum):
    """A member's place in the family structure. Holder and co-holder are the file's central people."""

    HOLDER = "holder"
    CO_HOLDER = "co_holder"
    SPOUSE_PARTNER = "spouse_partner"
    CHILD = "child"
    PARENT = "parent"
    OTHER = "other"

    @property
    def is_central(self) -> bool:
        return self in (Relation.HOLDER, Relation.CO_HOLDER)


class AccessLevel(StrEnum):
    READ_WRITE = "read_write"
    READ_ONLY = "read_only"


class AdviserType(StrEnum):
    BANKER = "banker"
    NOTARY = "notary"
    LAWYER = "lawyer"
    ACCOUNTANT = "accountant"
    INSURER = "insurer"
    OTHER = "other"


class PatrimonyKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"


class DocumentKind(StrEnum):
    SIMULATION = "simulation"
    REPORT = "report"


class SubjectType(StrEnum):
    """Who a grant is for: a member of the family structure, or an external adviser of the file."""

    MEMBER = "member"
    ADVISER = "adviser"


class GrantStatus(StrEnum):
    INVITED = "invited"  # no account yet: an invitation is out (or expired, to be sent again)
    ACTIVE = "active"  # bound to a person's identity: they can open the file


# E.164: "+", a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A non-negative amount with at most 4 decimals (no currency has more), up to 10^15.
_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,4})?$")

# ISO 4217 codes of currencies in circulation (funds, metals, test and "no currency" codes excluded).
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
    UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905 - a readable block of codes
)


def check_phone(phone: str) -> str:
    """The phone number if it is in E.164 form (R-ACC-2), else ValueError."""
    if not _E164.fullmatch(phone):
        raise ValueError("must be an E.164 phone number, like +33612345678")
    return phone


def check_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError("must be an ISO 4217 currency code, like EUR")
    return code


def parse_amount(text: str) -> Decimal:
    """A money amount from its decimal string (never a float), else ValueError."""
    if not _AMOUNT.fullmatch(text):
        raise ValueError("must be a decimal string with at most 4 decimals, like 1250.50")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError("must be a decimal string") from None


@dataclass(frozen=True)
class FamilyMember:
    firm_id: str
    file_id: str
    member_id: str
    name: str
    relation: Relation
    birth_date: date | None
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class ExternalAdviser:
    firm_id: str
    file_id: str
    adviser_id: str
    name: str
    email: str
    phone: str
    adviser_type: AdviserType
    registered_by: str
    registered_at: datetime


@dataclass(frozen=True)
class PatrimonyItem:
    firm_id: str
    file_id: str
    item_id: str
    kind: PatrimonyKind
    label: str
    value: Decimal
    currency: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class Donation:
    firm_id: str
    file_id: str
    donation_id: str
    donor: str
    beneficiary: str
    donated_on: date
    value: Decimal
    currency: str
    description: str | None
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class FileDocument:
    """A simulation or a report: its financial content is out of scope, its creation is not."""

    firm_id: str
    file_id: str
    document_id: str
    kind: DocumentKind
    title: str
    content: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Subject:
    type: SubjectType
    subject_id: str


@dataclass(frozen=True)
class Grant:
    """Access to one file for one member or adviser, at a level; bound to a person once accepted."""

    firm_id: str
    file_id: str
    subject: Subject
    grantee_name: str
    central: bool  # a holder or co-holder: once granted, never revoked (R-ACC-4)
    email: str
    phone: str
    level: AccessLevel
    granted_by: str
    granted_at: datetime
    user_id: str | None = None  # the person it is bound to (account found, or invitation accepted)
    invitation: Invitation | None = None  # while it waits for a person without an account
    version: int = 0  # optimistic lock: every write checks and bumps it

    @property
    def status(self) -> GrantStatus:
        return GrantStatus.ACTIVE if self.user_id else GrantStatus.INVITED

    def bound_to(self, user_id: str) -> Grant:
        return replace(self, user_id=user_id, invitation=None)

    def reinvited(self, now: datetime) -> tuple[str, Grant]:
        """A fresh invitation (token, 45 days, reminders from zero); the old token stops working."""
        token, invitation = issue_invitation(now, None)
        return token, replace(self, invitation=invitation)
