"""What the file-access use cases take and return: their ports, the caller, the file in scope and
the small views of access (R-ACC-*, R-ROLE-*)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ulid import ULID

from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.customers import Customer
from shared.domain.email import EmailSender
from shared.domain.file_access import CallerKind
from shared.domain.files import AccessLevel, ExternalAdviser, FamilyMember, Grant
from shared.domain.identity import Principal
from shared.ports.audit import AuditTrail
from shared.ports.customers import CustomerStore
from shared.ports.directory import UserDirectory
from shared.ports.files import FileStore, GrantStore
from shared.ports.identity import IdentityStore
from shared.ports.limits import Limiter
from shared.ports.notifications import NotificationStore


@dataclass
class FileAccessPorts:
    files: FileStore
    grants: GrantStore
    customers: CustomerStore
    identities: IdentityStore
    notifications: NotificationStore
    audit: AuditTrail
    email: EmailSender
    directory: UserDirectory  # the accounts people sign in with (created on an invitation's acceptance)
    app_base_url: str
    limits: Limiter  # abuse limits, spent before an email or a provider call (shared/domain/limits.py)
    clock: Now = field(default=business_now)


@dataclass(frozen=True)
class FileActor:
    """The signed-in caller, and the firm they name in X-Firm-Id (staff of several firms)."""

    principal: Principal
    firm_id: str | None = None


@dataclass(frozen=True)
class FileScope:
    """The file acted on and the caller's kind on it, from our records (never the request)."""

    customer: Customer
    kind: CallerKind
    actor_id: str
    grant: Grant | None = None  # the caller's own grant, when they are a grantee

    @property
    def firm_id(self) -> str:
        return self.customer.firm_id

    @property
    def file_id(self) -> str:
        return self.customer.customer_id


@dataclass(frozen=True)
class MemberAccess:
    member: FamilyMember
    grant: Grant | None


@dataclass(frozen=True)
class AdviserAccess:
    adviser: ExternalAdviser
    grant: Grant | None


@dataclass(frozen=True)
class AccessView:
    members: list[MemberAccess]
    advisers: list[AdviserAccess]


@dataclass(frozen=True)
class MyFile:
    firm_id: str
    firm_name: str
    file_id: str
    file_label: str
    kind: CallerKind
    level: AccessLevel


@dataclass(frozen=True)
class FileInvitationCheck:
    firm_name: str
    level: AccessLevel


def new_id(now: datetime) -> str:
    return str(ULID.from_datetime(now))
