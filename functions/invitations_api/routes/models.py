"""Request and response bodies of the invitations API (validation and OpenAPI come from these)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.api.fields import EmailAddress, FreeText, Password, SingleLineText
from shared.api.history import ConsentHistoryOut, history
from shared.domain.accounts import (
    ACCOUNT_FIXES,
    AccountProblem,
    AccountStatus,
    BankTransaction,
    SharedAccount,
)
from shared.domain.customers import Customer, InvitationStatus, Section
from shared.domain.identity import StaffMember, StaffRole
from shared.domain.money import format_amount

# Amounts on the wire (shared/domain/money.py): the stored value, written with the currency's decimals.
MONEY_TEXT = (
    "Decimal as a string with the currency's ISO 4217 decimals, like -150.00 GBP or -1500 JPY "
    "(more only when the bank gave more, never rounded)"
)


class StrictBody(BaseModel):
    # Unknown fields are refused: nobody sets an owner, a firm or a status through a body.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InvitationIn(StrictBody):
    name: SingleLineText = Field(min_length=1, max_length=200)
    email: EmailAddress
    message: FreeText | None = Field(
        default=None, max_length=1000, description="Personal message in the email"
    )


class LinkIn(StrictBody):
    ledger_account: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9 ._/-]+$",
        description="The code of the firm's bank ledger account it feeds (GET /ledger-accounts)",
    )


class TokenIn(StrictBody):
    token: str = Field(min_length=1, max_length=256)


class NewAccountIn(TokenIn):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)  # a password is taken as typed
    password: Password


class InvitationOut(BaseModel):
    status: InvitationStatus
    sent_at: datetime
    expires_at: datetime
    reminders_sent: list[int]


STAFF_NAMES = "staff user ids: their names and emails are in GET /staff"


class CustomerOut(BaseModel):
    customer_id: str
    name: str
    email: str
    owner_id: str = Field(description=f"The owner, also the client file's manager ({STAFF_NAMES})")
    assignee_ids: list[str] = Field(description=f"Advisers assigned to the customer ({STAFF_NAMES})")
    section: Section | None
    accepted: bool
    new_accounts: int
    accepted_accounts: int
    created_at: datetime
    invitation: InvitationOut

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        invitation = customer.invitation
        return cls(
            customer_id=customer.customer_id,
            name=customer.name,
            email=customer.email,
            owner_id=customer.owner_id,
            assignee_ids=list(customer.assignee_ids),
            section=customer.section,
            accepted=customer.has_accepted,
            new_accounts=customer.new_accounts,
            accepted_accounts=customer.accepted_accounts,
            created_at=customer.created_at,
            invitation=InvitationOut(
                status=invitation.status,
                sent_at=invitation.sent_at,
                expires_at=invitation.expires_at,
                reminders_sent=list(invitation.reminders_sent),
            ),
        )


class CustomerRow(BaseModel):
    customer_id: str
    name: str
    email: str
    owner_id: str | None = Field(default=None, description=f"The owner ({STAFF_NAMES})")
    assignee_ids: list[str] = Field(default_factory=list, description=f"Assigned advisers ({STAFF_NAMES})")
    section: Section
    invitation_status: InvitationStatus
    invitation_expires_at: datetime
    accepted: bool
    new_accounts: int
    accepted_accounts: int
    created_at: datetime
    ended_at: datetime | None = Field(default=None, description="When the relationship ended (`ended` only)")
    ended_by: str | None = Field(default=None, description="`firm` or `customer` (`ended` only)")
    erasure_due: date | None = Field(
        default=None,
        description="The firm-local day its retention ends, its data erased (`ended` only)",
    )


class SectionCounts(BaseModel):
    invited: int
    pending: int
    customers: int
    ended: int | None = Field(
        default=None, description="Ended relationships (admins only; null for advisers)"
    )


class CustomerListOut(BaseModel):
    items: list[CustomerRow]
    counts: SectionCounts
    next_cursor: str | None


class InvitationCheckOut(BaseModel):
    firm_name: str


class AccountOut(BaseModel):
    account_id: str
    institution: str
    masked_identifier: str
    name: str
    currency: str
    balance: str | None = Field(description=MONEY_TEXT)
    last_updated: datetime | None
    status: AccountStatus
    ledger_account: str | None
    problem: AccountProblem | None = Field(
        default=None, description="Why this account is not importing while its connection is fine"
    )
    fix: str | None = Field(default=None, description="What to do about the problem")

    @classmethod
    def of(cls, account: SharedAccount) -> AccountOut:
        return cls(
            account_id=account.account_id,
            institution=account.institution_name,
            masked_identifier=account.masked_identifier,
            name=account.name,
            currency=account.currency,
            balance=format_amount(account.balance, account.currency) if account.balance is not None else None,
            last_updated=account.last_updated,
            status=account.status,
            ledger_account=account.ledger_account,
            problem=account.problem,
            fix=ACCOUNT_FIXES[account.problem] if account.problem else None,
        )


class AccountViewOut(AccountOut, ConsentHistoryOut):
    """An account as the listing shows it: historical when its connection's consent ended (R-PRIV-1)."""

    @classmethod
    def shown(cls, account: SharedAccount, ended_on: Mapping[str, date]) -> AccountViewOut:
        return cls(**AccountOut.of(account).model_dump(), **history(ended_on.get(account.connection_id)))


class AccountListOut(BaseModel):
    new_accounts: list[AccountViewOut]
    connected_accounts: list[AccountViewOut]


class TransactionOut(BaseModel):
    account_id: str
    transaction_id: str
    line_id: str = Field(description="Identifies the line for assignment")
    booking_date: date
    amount: str = Field(description=f"{MONEY_TEXT}; negative is money out")
    currency: str
    description: str
    counterparty: str | None
    pending: bool
    ledger_account: str | None
    category: str | None
    assigned_by: str | None = Field(description='"rule:<id>" or the person who assigned it')

    @classmethod
    def of(cls, transaction: BankTransaction) -> TransactionOut:
        return cls(
            account_id=transaction.account_id,
            transaction_id=transaction.transaction_key,
            line_id=transaction.line_id,
            booking_date=transaction.booking_date,
            amount=format_amount(transaction.amount, transaction.currency),
            currency=transaction.currency,
            description=transaction.description,
            counterparty=transaction.counterparty,
            pending=transaction.pending,
            ledger_account=transaction.ledger_account,
            category=transaction.category,
            assigned_by=transaction.assigned_by,
        )


class TransactionViewOut(TransactionOut, ConsentHistoryOut):
    """A line as the customer's transactions show it: historical when its account is (R-PRIV-1)."""

    @classmethod
    def shown(cls, transaction: BankTransaction, ended_on: Mapping[str, date]) -> TransactionViewOut:
        """`ended_on`: by account id."""
        return cls(
            **TransactionOut.of(transaction).model_dump(), **history(ended_on.get(transaction.account_id))
        )


class TransactionListOut(BaseModel):
    items: list[TransactionViewOut]
    next_cursor: str | None


class AuditEventOut(BaseModel):
    actor_id: str
    action: str
    target_type: str
    target_id: str
    customer_id: str | None
    details: dict[str, str | int]
    occurred_at: datetime


class AuditListOut(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


# staff and who looks after a customer ------------------------------------------------------------
class StaffMemberOut(BaseModel):
    user_id: str
    name: str | None = Field(description="From the person's profile (None if they have none yet)")
    email: str | None
    role: StaffRole
    active: bool = Field(description="False: deactivated, every request of theirs is refused")

    @classmethod
    def of(cls, member: StaffMember) -> StaffMemberOut:
        return cls.model_validate(member, from_attributes=True)


class StaffListOut(BaseModel):
    items: list[StaffMemberOut]


class MfaResetOut(BaseModel):
    user_id: str
    mfa_enrolled: bool = Field(
        description="Always false: staff routes answer 403 mfa_required until they enrol a new app"
    )
    record_removed: bool = Field(description="False: they had no enrolment on record (a repeated reset)")


class RoleIn(StrictBody):
    role: StaffRole


class TransferIn(StrictBody):
    owner_id: str = Field(
        min_length=1, max_length=128, description="The staff member who takes the customer over"
    )
