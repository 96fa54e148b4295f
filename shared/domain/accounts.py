"""Bank accounts a customer shared with a firm, and the firm's review of them (R-INV-5/6)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class AccountStatus(StrEnum):
    NEW = "new"  # shared by the customer, awaiting the firm's decision
    ACCEPTED = "accepted"  # connected: imported from now on
    DECLINED = "declined"  # hidden from the firm and never imported for it


class AccountProblem(StrEnum):
    """Why one accepted account is not importing while its connection is fine (R-CON-8)."""

    UNAVAILABLE = "account_unavailable"  # closed, suspended, inactive or unknown at the bank
    PROCESSING = "account_processing"  # the provider is still preparing it: retried later


ACCOUNT_FIXES: dict[AccountProblem, str] = {
    AccountProblem.UNAVAILABLE: "check_with_bank",  # reauthorising would not help
    AccountProblem.PROCESSING: "retry_later",  # nothing to do: imports retry it
}


class Decision(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


def stable_account_id(connection_id: str, masked_identifier: str, currency: str, name: str) -> str:
    """Our id for a bank account of a connection, the same under every consent of that connection."""
    digest = hashlib.sha256("|".join((connection_id, masked_identifier, currency, name)).encode()).hexdigest()
    return f"acc_{digest[:24]}"


def identity_key(institution_id: str, identity: str | None) -> str | None:
    """The same bank account whatever connection or consent reaches it (same institution and
    IBAN, sort code and number, or Plaid persistent id): a one-way key, stored, never shown."""
    if not identity:
        return None
    return hashlib.sha256(f"bank-account|{institution_id}|{identity}".encode()).hexdigest()


def mask_identifier(identifier: str) -> str:
    """Only the last four characters of an IBAN or account number are ever stored or shown."""
    compact = "".join(identifier.split())
    return f"•••• {compact[-4:]}" if compact else ""


@dataclass(frozen=True)
class SharedAccount:
    firm_id: str
    customer_id: str
    account_id: str
    connection_id: str
    institution_name: str
    masked_identifier: str
    name: str
    currency: str
    balance: Decimal | None
    last_updated: datetime | None
    status: AccountStatus = AccountStatus.NEW
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    # The aggregator's id for the account under the current consent: a reauthorisation may
    # issue new ones (GoCardless does), while `account_id` stays ours and stable.
    provider_account_id: str = ""
    # R-CON-4: the firm's own (ledger) account this bank account feeds; set once, undone by an admin.
    ledger_account: str | None = None
    identity_key: str | None = None  # see identity_key(): one bank account, one account id
    problem: AccountProblem | None = None  # set by an import that could not read it, cleared by one that did


@dataclass(frozen=True)
class BankTransaction:
    """One booked or pending movement on an accepted account. `amount` < 0 is money out."""

    firm_id: str
    customer_id: str
    account_id: str
    transaction_key: str  # the aggregator's id, or a stable fingerprint when the bank gives none
    booking_date: date
    amount: Decimal
    currency: str
    description: str
    counterparty: str | None = None
    pending: bool = False
    ledger_account: str | None = None  # assigned (R-IMP-3) by a rule or a person
    category: str | None = None
    assigned_by: str | None = None  # "rule:<id>" or a user's sub; None: unassigned

    @property
    def line_id(self) -> str:
        """The line's id on the wire: enough to find it again (date, account, key)."""
        return f"{self.booking_date.isoformat()}~{self.account_id}~{self.transaction_key}"
