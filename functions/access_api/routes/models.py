"""Request and response bodies of the access API (validation and OpenAPI come from these).

Names are prefixed where another API has a model of the same idea: the merged OpenAPI
document refuses two different schemas with one name.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.api.fields import EmailAddress, FreeText, Password, SingleLineText
from shared.domain.audit import AuditEvent
from shared.domain.file_access import CallerKind, FileAction, allowed_actions
from shared.domain.files import (
    AccessLevel,
    AdviserType,
    DocumentKind,
    Donation,
    ExternalAdviser,
    FamilyMember,
    FileDocument,
    Grant,
    GrantStatus,
    PatrimonyItem,
    PatrimonyKind,
    Relation,
    SubjectType,
    check_currency,
    check_phone,
    parse_amount,
)
from shared.domain.money import format_amount
from shared.services.file_access import AccessView, FileInvitationCheck, MyFile
from shared.services.files import FileView


def _amount_text(text: str) -> str:
    parse_amount(text)
    return text


Phone = Annotated[
    str,
    Field(min_length=8, max_length=16, description="E.164, like +33612345678"),
    AfterValidator(check_phone),
]
Amount = Annotated[
    str,
    Field(max_length=20, description="Decimal as a string (never a number), like 250000.00"),
    AfterValidator(_amount_text),
]
Currency = Annotated[
    str,
    Field(min_length=3, max_length=3, description="ISO 4217 code, like EUR"),
    AfterValidator(check_currency),
]
Name = Annotated[SingleLineText, Field(min_length=1, max_length=200)]


class StrictBody(BaseModel):
    # Unknown fields are refused: nobody sets a firm, a grantee's identity or a status through a body.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# requests ------------------------------------------------------------------------------------
class MemberIn(StrictBody):
    name: Name
    relation: Relation
    birth_date: date | None = None

    def fields(self) -> dict[str, Any]:
        return {"name": self.name, "relation": self.relation, "birth_date": self.birth_date}


class MemberAccessIn(StrictBody):
    """R-ACC-2: both the email and the phone number, and a level."""

    email: EmailAddress
    phone: Phone
    level: AccessLevel


class AdviserIn(StrictBody):
    name: Name
    email: EmailAddress
    phone: Phone
    type: AdviserType


class AdviserAccessIn(StrictBody):
    level: AccessLevel


class PatrimonyIn(StrictBody):
    kind: PatrimonyKind
    label: Name
    value: Amount
    currency: Currency

    def fields(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "value": parse_amount(self.value),
            "currency": self.currency,
        }


class DonationIn(StrictBody):
    donor: Name
    beneficiary: Name
    donated_on: date
    value: Amount
    currency: Currency
    description: FreeText | None = Field(default=None, max_length=1000)

    def fields(self) -> dict[str, Any]:
        return {
            "donor": self.donor,
            "beneficiary": self.beneficiary,
            "donated_on": self.donated_on,
            "value": parse_amount(self.value),
            "currency": self.currency,
            "description": self.description,
        }


class DocumentIn(StrictBody):
    title: Name
    content: FreeText = Field(min_length=1, max_length=50_000)


class FileTokenIn(StrictBody):
    token: str = Field(min_length=1, max_length=256)


class FileNewAccountIn(FileTokenIn):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)  # a password is taken as typed
    password: Password


# responses -----------------------------------------------------------------------------------
# Amounts on the wire (shared/domain/money.py): the stored value, written with the currency's decimals.
VALUE_TEXT = (
    "Decimal as a string with the currency's ISO 4217 decimals, like 250000.00 EUR or 1500 JPY "
    "(more only when it was given with more, never rounded)"
)


class MemberOut(BaseModel):
    member_id: str
    name: str
    relation: Relation
    birth_date: date | None

    @classmethod
    def of(cls, member: FamilyMember) -> MemberOut:
        return cls(
            member_id=member.member_id,
            name=member.name,
            relation=member.relation,
            birth_date=member.birth_date,
        )


class PatrimonyItemOut(BaseModel):
    item_id: str
    kind: PatrimonyKind
    label: str
    value: str = Field(description=VALUE_TEXT)
    currency: str

    @classmethod
    def of(cls, item: PatrimonyItem) -> PatrimonyItemOut:
        return cls(
            item_id=item.item_id,
            kind=item.kind,
            label=item.label,
            value=format_amount(item.value, item.currency),
            currency=item.currency,
        )


class DonationOut(BaseModel):
    donation_id: str
    donor: str
    beneficiary: str
    donated_on: date
    value: str = Field(description=VALUE_TEXT)
    currency: str
    description: str | None

    @classmethod
    def of(cls, donation: Donation) -> DonationOut:
        return cls(
            donation_id=donation.donation_id,
            donor=donation.donor,
            beneficiary=donation.beneficiary,
            donated_on=donation.donated_on,
            value=format_amount(donation.value, donation.currency),
            currency=donation.currency,
            description=donation.description,
        )


class FileDocumentOut(BaseModel):
    document_id: str
    kind: DocumentKind
    title: str
    content: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, document: FileDocument) -> FileDocumentOut:
        return cls(
            document_id=document.document_id,
            kind=document.kind,
            title=document.title,
            content=document.content,
            created_by=document.created_by,
            created_at=document.created_at,
        )


class CallerOut(BaseModel):
    kind: CallerKind
    level: AccessLevel | None
    allowed_actions: list[FileAction] = Field(description="What the policy lets you do on this file")


class FileOut(BaseModel):
    file_id: str = Field(description="The customer's id: every customer of the firm has one file")
    firm_id: str
    customer_name: str
    manager_id: str
    you: CallerOut
    members: list[MemberOut]
    patrimony: list[PatrimonyItemOut]
    donations: list[DonationOut]
    documents: list[FileDocumentOut]

    @classmethod
    def of(cls, view: FileView) -> FileOut:
        scope, contents = view.scope, view.contents
        return cls(
            file_id=scope.file_id,
            firm_id=scope.firm_id,
            customer_name=scope.customer.name,
            manager_id=scope.customer.owner_id,
            you=CallerOut(
                kind=scope.kind,
                level=scope.grant.level if scope.grant else None,
                allowed_actions=allowed_actions(scope.kind),
            ),
            members=[MemberOut.of(m) for m in contents.members],
            patrimony=[PatrimonyItemOut.of(p) for p in contents.patrimony],
            donations=[DonationOut.of(d) for d in contents.donations],
            documents=[FileDocumentOut.of(d) for d in contents.documents],
        )


class GrantOut(BaseModel):
    subject_type: SubjectType
    subject_id: str
    level: AccessLevel
    status: GrantStatus
    email: str
    phone: str
    granted_by: str
    granted_at: datetime
    invitation_expires_at: datetime | None = Field(description="While the invitation waits for its person")
    reminders_sent: list[int]

    @classmethod
    def of(cls, grant: Grant) -> GrantOut:
        invitation = grant.invitation
        return cls(
            subject_type=grant.subject.type,
            subject_id=grant.subject.subject_id,
            level=grant.level,
            status=grant.status,
            email=grant.email,
            phone=grant.phone,
            granted_by=grant.granted_by,
            granted_at=grant.granted_at,
            invitation_expires_at=invitation.expires_at if invitation else None,
            reminders_sent=list(invitation.reminders_sent) if invitation else [],
        )


class AdviserOut(BaseModel):
    adviser_id: str
    name: str
    email: str
    phone: str
    type: AdviserType
    access: GrantOut | None

    @classmethod
    def of(cls, adviser: ExternalAdviser, grant: Grant | None = None) -> AdviserOut:
        return cls(
            adviser_id=adviser.adviser_id,
            name=adviser.name,
            email=adviser.email,
            phone=adviser.phone,
            type=adviser.adviser_type,
            access=GrantOut.of(grant) if grant else None,
        )


class MemberAccessOut(BaseModel):
    member_id: str
    name: str
    relation: Relation
    access: GrantOut | None


class FileAccessOut(BaseModel):
    members: list[MemberAccessOut]
    advisers: list[AdviserOut]

    @classmethod
    def of(cls, view: AccessView) -> FileAccessOut:
        return cls(
            members=[
                MemberAccessOut(
                    member_id=row.member.member_id,
                    name=row.member.name,
                    relation=row.member.relation,
                    access=GrantOut.of(row.grant) if row.grant else None,
                )
                for row in view.members
            ],
            advisers=[AdviserOut.of(row.adviser, row.grant) for row in view.advisers],
        )


class AccessEventOut(BaseModel):
    actor_id: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    occurred_at: datetime

    @classmethod
    def of(cls, event: AuditEvent) -> AccessEventOut:
        return cls(
            actor_id=event.actor_id,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            details={k: int(v) if isinstance(v, Decimal) else v for k, v in event.details.items()},
            occurred_at=event.occurred_at,
        )


class AccessLogOut(BaseModel):
    items: list[AccessEventOut]
    next_cursor: str | None


class MyFileOut(BaseModel):
    file_id: str
    firm_id: str
    firm_name: str
    file_label: str = Field(description="Whose file it is: the customer's name")
    kind: CallerKind
    level: AccessLevel

    @classmethod
    def of(cls, found: MyFile) -> MyFileOut:
        return cls(
            file_id=found.file_id,
            firm_id=found.firm_id,
            firm_name=found.firm_name,
            file_label=found.file_label,
            kind=found.kind,
            level=found.level,
        )


class MyFilesOut(BaseModel):
    items: list[MyFileOut]


class FileInvitationCheckOut(BaseModel):
    firm_name: str
    level: AccessLevel

    @classmethod
    def of(cls, check: FileInvitationCheck) -> FileInvitationCheckOut:
        return cls(firm_name=check.firm_name, level=check.level)
