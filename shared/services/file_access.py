"""Who is calling on a client file, and access grants: members, external advisers, invitations,
reminders, the access log (R-ACC-1..6, R-INV-2/4, R-ROLE-1..3).

Every use case on a file starts with `open_file`, which resolves the caller's kind from the
service's own records and asks the one policy (shared/domain/file_access.py). Every function
takes its ports; none knows about Lambda, HTTP or environment variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from ulid import ULID

from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.audit import AuditEvent
from shared.domain.customers import (
    NOT_DUE,
    REMINDER_AGES,
    Customer,
    InvitationStatus,
    hash_token,
    normalise_email,
)
from shared.domain.email import EmailSender
from shared.domain.errors import Conflict, FileChanged, NotFound, UpstreamUnavailable
from shared.domain.file_access import (
    CallerKind,
    FileAction,
    access_action,
    authorize_entry,
    authorize_file,
    grantee_kind,
    staff_kind,
)
from shared.domain.files import (
    AccessLevel,
    AdviserType,
    ExternalAdviser,
    FamilyMember,
    Grant,
    Subject,
    SubjectType,
)
from shared.domain.identity import Firm, Principal, StaffRole, UserProfile
from shared.domain.notifications import Notification
from shared.observability import logger, metrics
from shared.ports.audit import AuditTrail
from shared.ports.customers import CustomerStore
from shared.ports.files import FileStore, GrantRef
from shared.ports.identity import IdentityStore
from shared.ports.notifications import NotificationStore
from shared.services.customer_invitations import InvitationInvalid
from shared.services.emails import file_access_email, file_invitation_email, file_invitation_link

SYSTEM_ACTOR = "system"
ACCESS_LOG_PREFIX = "access."  # every audit action of this module starts with it
_ACCESS_LOG_MAX_PAGES = 10  # pages of the customer's audit read to fill one access-log page


@dataclass
class FileAccessPorts:
    files: FileStore
    customers: CustomerStore
    identities: IdentityStore
    notifications: NotificationStore
    audit: AuditTrail
    email: EmailSender
    app_base_url: str
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


# who is calling ------------------------------------------------------------------------------
def open_file(
    ports: FileAccessPorts, actor: FileActor, file_id: str, action: FileAction | None = None
) -> FileScope:
    """The file and the caller's kind on it, authorized for `action` (or, without one, only
    known to the caller: a stranger gets exactly the 404 of a missing file, R-ROLE-1)."""
    kind, customer, grant = _resolve(ports, actor, file_id)
    if action is None:
        authorize_entry(kind)
    else:
        authorize_file(kind, action)
    if customer is None:  # a stranger, already refused above
        raise NotFound()
    return FileScope(customer=customer, kind=kind, actor_id=actor.principal.user_id, grant=grant)


def _resolve(
    ports: FileAccessPorts, actor: FileActor, file_id: str
) -> tuple[CallerKind, Customer | None, Grant | None]:
    user_id = actor.principal.user_id
    if actor.firm_id:
        membership = ports.identities.get_membership(user_id, actor.firm_id)
        memberships = [membership] if membership else []
    else:
        memberships = ports.identities.list_memberships(user_id)
    for membership in memberships:  # the file's firm, if the caller is on its staff
        customer = ports.customers.get(membership.firm_id, file_id)
        if customer is None:
            continue
        kind = staff_kind(
            owner_id=customer.owner_id,
            assignee_ids=customer.assignee_ids,
            staff_id=user_id,
            is_admin=membership.role is StaffRole.ADMIN,
        )
        if kind is not CallerKind.STRANGER:
            return kind, customer, None
    for link in ports.files.links_of(user_id):  # a grant bound to the caller
        if link.file_id != file_id:
            continue
        grant = ports.files.get_grant(link.firm_id, link.file_id, link.subject)
        customer = ports.customers.get(link.firm_id, file_id)
        if grant is not None and grant.user_id == user_id and customer is not None:
            return grantee_kind(grant), customer, grant
    return CallerKind.STRANGER, None, None


# member and adviser access -------------------------------------------------------------------
def grant_member_access(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    member_id: str,
    *,
    email: str,
    phone: str,
    level: AccessLevel,
) -> Grant:
    """Grant or change a family member's access (R-ACC-2..4); email and phone are both required."""
    scope = open_file(ports, actor, file_id)
    member = member_in_file(ports, scope, member_id)
    central = member.relation.is_central
    authorize_file(scope.kind, access_action(SubjectType.MEMBER, central))
    subject = Subject(SubjectType.MEMBER, member_id)
    return _grant(
        ports, scope, subject, name=member.name, central=central, email=email, phone=phone, level=level
    )


def revoke_member_access(ports: FileAccessPorts, actor: FileActor, file_id: str, member_id: str) -> None:
    scope = open_file(ports, actor, file_id)
    member = member_in_file(ports, scope, member_id)
    authorize_file(scope.kind, access_action(SubjectType.MEMBER, member.relation.is_central))
    _revoke(ports, scope, Subject(SubjectType.MEMBER, member_id))


def register_adviser(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    *,
    name: str,
    email: str,
    phone: str,
    adviser_type: AdviserType,
) -> ExternalAdviser:
    """An external adviser is registered in the file before any grant (R-ACC-5)."""
    scope = open_file(ports, actor, file_id, FileAction.REGISTER_ADVISER)
    now = ports.clock()
    adviser = ExternalAdviser(
        firm_id=scope.firm_id,
        file_id=scope.file_id,
        adviser_id=new_id(now),
        name=name.strip(),
        email=normalise_email(email),
        phone=phone,
        adviser_type=adviser_type,
        registered_by=scope.actor_id,
        registered_at=now,
    )
    ports.files.put_entry(adviser, new=True)
    subject = Subject(SubjectType.ADVISER, adviser.adviser_id)
    _audit(ports, scope, "access.adviser_registered", subject, {"adviser_type": adviser_type.value})
    return adviser


def grant_adviser_access(
    ports: FileAccessPorts, actor: FileActor, file_id: str, adviser_id: str, *, level: AccessLevel
) -> Grant:
    scope = open_file(ports, actor, file_id, FileAction.MANAGE_ADVISER_ACCESS)
    adviser = _adviser(ports, scope, adviser_id)
    subject = Subject(SubjectType.ADVISER, adviser_id)
    return _grant(
        ports,
        scope,
        subject,
        name=adviser.name,
        central=False,
        email=adviser.email,
        phone=adviser.phone,
        level=level,
    )


def revoke_adviser_access(ports: FileAccessPorts, actor: FileActor, file_id: str, adviser_id: str) -> None:
    scope = open_file(ports, actor, file_id, FileAction.MANAGE_ADVISER_ACCESS)
    _adviser(ports, scope, adviser_id)
    _revoke(ports, scope, Subject(SubjectType.ADVISER, adviser_id))


def list_access(ports: FileAccessPorts, actor: FileActor, file_id: str) -> AccessView:
    scope = open_file(ports, actor, file_id, FileAction.VIEW_ACCESS)
    contents = ports.files.contents(scope.firm_id, scope.file_id)
    return AccessView(
        members=[
            MemberAccess(m, contents.grant_for(Subject(SubjectType.MEMBER, m.member_id)))
            for m in contents.members
        ],
        advisers=[
            AdviserAccess(a, contents.grant_for(Subject(SubjectType.ADVISER, a.adviser_id)))
            for a in contents.advisers
        ],
    )


def read_access_log(
    ports: FileAccessPorts, actor: FileActor, file_id: str, *, cursor: str | None, limit: int
) -> tuple[list[AuditEvent], str | None]:
    """The file's access events, newest first: the customer's audit events whose action is an
    access one. Each read asks only for the rows still missing, so no row is skipped."""
    scope = open_file(ports, actor, file_id, FileAction.VIEW_ACCESS_LOG)
    events: list[AuditEvent] = []
    next_cursor = cursor
    for _ in range(_ACCESS_LOG_MAX_PAGES):
        page, next_cursor = ports.audit.page(
            scope.firm_id, customer_id=scope.file_id, cursor=next_cursor, limit=limit - len(events)
        )
        events += [event for event in page if event.action.startswith(ACCESS_LOG_PREFIX)]
        if next_cursor is None or len(events) >= limit:
            break
    return events, next_cursor


# the grantee's side --------------------------------------------------------------------------
def list_my_files(ports: FileAccessPorts, principal: Principal) -> list[MyFile]:
    """The files the caller was granted and accepted, with their level (keys.py #30)."""
    links = ports.files.links_of(principal.user_id)
    grants = {
        (grant.firm_id, grant.file_id): grant
        for grant in ports.files.get_grants(
            GrantRef(link.firm_id, link.file_id, link.subject) for link in links
        )
        if grant.user_id == principal.user_id
    }
    firms = ports.identities.get_firms(link.firm_id for link in links)
    found = []
    for link in links:
        grant = grants.get((link.firm_id, link.file_id))
        if grant is None or link.firm_id not in firms:
            continue
        found.append(
            MyFile(
                firm_id=link.firm_id,
                firm_name=firms[link.firm_id].name,
                file_id=link.file_id,
                file_label=link.file_label,
                kind=grantee_kind(grant),
                level=grant.level,
            )
        )
    return found


def verify_file_invitation(ports: FileAccessPorts, token: str) -> FileInvitationCheck:
    """For the acceptance page, before signing in: a wrong, used or expired token gets one answer."""
    grant = _grant_for_token(ports, token)
    firm = ports.identities.get_firm(grant.firm_id)
    return FileInvitationCheck(firm_name=firm.name if firm else "", level=grant.level)


def accept_file_invitation(ports: FileAccessPorts, principal: Principal, token: str) -> MyFile:
    """Bind the grant to the signed-in person; the token is consumed (single use, R-INV-2)."""
    grant = _grant_for_token(ports, token)
    if any(
        link.firm_id == grant.firm_id and link.file_id == grant.file_id
        for link in ports.files.links_of(principal.user_id)
    ):
        raise Conflict("You already have access to this file.", code="already_has_access")
    customer = ports.customers.get(grant.firm_id, grant.file_id)
    if customer is None:
        raise InvitationInvalid()
    bound = grant.bound_to(principal.user_id)
    assert grant.invitation is not None
    extra = [
        ports.files.token_delete(grant.invitation.token_hash, must_exist=True),
        ports.files.link_put(bound, customer.name),
    ]
    # The grantee index maps the address the invitation went to (the token proves it), never the
    # sign-in claim, and never takes an address already mapped to someone else.
    extra.append(ports.files.account_put(grant.email, principal.user_id))
    try:
        saved = ports.files.save_grant(bound, grant, *extra)
    except FileChanged:  # used or changed meanwhile: the same answer as a used token
        raise InvitationInvalid() from None
    ports.identities.put_profile_if_absent(
        UserProfile(principal.user_id, principal.email, grant.grantee_name)
    )
    _record(ports, saved.firm_id, saved.file_id, principal.user_id, "access.accepted", saved.subject, {})
    firm = ports.identities.get_firm(saved.firm_id)
    return MyFile(
        firm_id=saved.firm_id,
        firm_name=firm.name if firm else "",
        file_id=saved.file_id,
        file_label=customer.name,
        kind=grantee_kind(saved),
        level=saved.level,
    )


def send_due_file_reminders(ports: FileAccessPorts) -> dict[str, int]:
    """The daily run for grantee invitations: 7- and 30-day reminders once each (R-INV-4), expiry."""
    now = ports.clock()
    outcome = {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}
    firm_of = cache(ports.identities.get_firm)  # one read per firm per run
    for ref in ports.files.due_for_reminders(now.date().isoformat()):
        grant = ports.files.get_grant(ref.firm_id, ref.file_id, ref.subject)
        if grant is None or grant.invitation is None:
            continue
        try:
            if (done := _remind_or_expire(ports, grant, now, firm_of)) != NOT_DUE:
                outcome[done] += 1
        except FileChanged:
            outcome["skipped"] += 1  # a concurrent run or change handled it
    for name, value in outcome.items():
        metrics.add_metric(name=f"FileInvitation{name.title().replace('_', '')}", unit="Count", value=value)
    return outcome


# helpers -------------------------------------------------------------------------------------
def member_in_file(ports: FileAccessPorts, scope: FileScope, member_id: str) -> FamilyMember:
    member = ports.files.get_member(scope.firm_id, scope.file_id, member_id)
    if member is None:
        raise NotFound("This file has no such family member.", code="member_not_found")
    return member


def _adviser(ports: FileAccessPorts, scope: FileScope, adviser_id: str) -> ExternalAdviser:
    adviser = ports.files.get_adviser(scope.firm_id, scope.file_id, adviser_id)
    if adviser is None:
        raise NotFound("This file has no such external adviser.", code="adviser_not_found")
    return adviser


def _grant(
    ports: FileAccessPorts,
    scope: FileScope,
    subject: Subject,
    *,
    name: str,
    central: bool,
    email: str,
    phone: str,
    level: AccessLevel,
) -> Grant:
    files = ports.files
    email = normalise_email(email)
    previous = files.get_grant(scope.firm_id, scope.file_id, subject)
    if previous is None:
        return _new_grant(
            ports, scope, subject, name=name, central=central, email=email, phone=phone, level=level
        )
    changed = replace(previous, grantee_name=name, email=email, phone=phone, level=level)
    level_change = {"from": previous.level.value, "to": level.value}
    if previous.user_id is not None:  # bound to a person: change the level (and phone number)
        if email != previous.email:
            raise Conflict(
                "This access belongs to the person who accepted it; to give it to someone else, revoke it "
                "and grant it again.",
                code="access_bound_to_person",
            )
        if changed == previous:
            return previous
        saved = files.save_grant(changed, previous)
        if level is not previous.level:
            _audit(ports, scope, "access.level_changed", subject, level_change)
        return saved
    # Still waiting for its person: saving it again sends a fresh invitation (the old link dies).
    assert previous.invitation is not None
    token, reinvited = changed.reinvited(ports.clock())
    saved = files.save_grant(
        reinvited,
        previous,
        files.token_delete(previous.invitation.token_hash, must_exist=False),
        files.token_put(reinvited),
    )
    if level is not previous.level:
        _audit(ports, scope, "access.level_changed", subject, level_change)
    _audit(ports, scope, "access.invitation_resent", subject, {})
    _send_invitation(ports, scope.customer, saved, token, firm=ports.identities.get_firm(saved.firm_id))
    return saved


def _new_grant(
    ports: FileAccessPorts,
    scope: FileScope,
    subject: Subject,
    *,
    name: str,
    central: bool,
    email: str,
    phone: str,
    level: AccessLevel,
) -> Grant:
    files = ports.files
    now = ports.clock()
    grant = Grant(
        firm_id=scope.firm_id,
        file_id=scope.file_id,
        subject=subject,
        grantee_name=name,
        central=central,
        email=email,
        phone=phone,
        level=level,
        granted_by=scope.actor_id,
        granted_at=now,
    )
    user_id = _account_for(ports, scope.firm_id, email)
    details: dict[str, Any] = {"subject_type": subject.type.value, "level": level.value}
    if user_id is not None:  # R-ACC-3: an account exists: the access is theirs now, and they are told
        if any(
            link.firm_id == scope.firm_id and link.file_id == scope.file_id
            for link in files.links_of(user_id)
        ):
            raise Conflict("This person already has access to this file.", code="already_has_access")
        bound = grant.bound_to(user_id)
        saved = files.save_grant(
            bound,
            None,
            files.subject_exists(scope.firm_id, scope.file_id, subject),
            files.link_put(bound, scope.customer.name),
        )
        _audit(ports, scope, "access.granted", subject, details | {"via": "account"})
        _notify_access(ports, scope.customer, saved, now)
    else:  # no account: an invitation, reminded after 7 and 30 days
        token, invited = grant.reinvited(now)
        saved = files.save_grant(
            invited,
            None,
            files.subject_exists(scope.firm_id, scope.file_id, subject),
            files.token_put(invited),
        )
        _audit(ports, scope, "access.granted", subject, details | {"via": "invitation"})
        _send_invitation(ports, scope.customer, saved, token, firm=ports.identities.get_firm(saved.firm_id))
    metrics.add_metric(name="FileAccessGranted", unit="Count", value=1)
    return saved


def _account_for(ports: FileAccessPorts, firm_id: str, email: str) -> str | None:
    """The identity behind this email, if we know one: someone who accepted a file invitation
    with it (the grantee index), or a customer of this firm who accepted their invitation."""
    user_id = ports.files.find_account(email)
    if user_id is not None:
        return user_id
    customer = ports.customers.find_by_email(firm_id, email)
    return customer.user_id if customer is not None and customer.has_accepted else None


def _revoke(ports: FileAccessPorts, scope: FileScope, subject: Subject) -> None:
    files = ports.files
    grant = files.get_grant(scope.firm_id, scope.file_id, subject)
    if grant is None:
        raise NotFound("This person has no access to revoke.", code="access_not_found")
    if grant.central:  # R-ACC-4
        _audit(ports, scope, "access.revoke_refused", subject, {"reason": "holder_access_is_permanent"})
        raise Conflict(
            "Access granted to the holder or a co-holder of a file can never be revoked.",
            code="access_irrevocable",
        )
    operations = [files.delete_grant_op(grant)]
    if grant.user_id is not None:
        operations.append(files.link_delete(grant))
    if grant.invitation is not None:
        operations.append(files.token_delete(grant.invitation.token_hash, must_exist=False))
    files.transact(operations)
    _audit(
        ports,
        scope,
        "access.revoked",
        subject,
        {"subject_type": subject.type.value, "level": grant.level.value},
    )


def _grant_for_token(ports: FileAccessPorts, token: str) -> Grant:
    if not token or len(token) > 256:
        raise InvitationInvalid()
    token_hash = hash_token(token)
    ref = ports.files.find_by_token_hash(token_hash)
    grant = ports.files.get_grant(ref.firm_id, ref.file_id, ref.subject) if ref else None
    if grant is None or not grant.invitation_usable(token_hash, ports.clock()):
        raise InvitationInvalid()
    return grant


def _remind_or_expire(
    ports: FileAccessPorts, grant: Grant, now: datetime, firm_of: Callable[[str], Firm | None]
) -> str:
    files = ports.files
    invitation = grant.invitation
    assert invitation is not None
    if invitation.status is InvitationStatus.SENT and now >= invitation.expires_at:
        expired = files.save_grant(
            grant.expired(), grant, files.token_delete(invitation.token_hash, must_exist=False)
        )
        _record(
            ports,
            grant.firm_id,
            grant.file_id,
            SYSTEM_ACTOR,
            "access.invitation_expired",
            expired.subject,
            {},
        )
        return "expired"
    firm = firm_of(grant.firm_id)
    age = invitation.reminder_due(now, firm.timezone if firm else "UTC")
    if age is None:
        return NOT_DUE
    # The conditional save is the claim: a second run or a retry finds the reminder sent. Every
    # reminder due by now counts as sent (a missed day-7 run sends one on day 31). We keep only
    # the token's hash, so the reminder carries a fresh token (same expiry) replacing the old one.
    sent = tuple(sorted({*invitation.reminders_sent, *(a for a in REMINDER_AGES if a <= age)}))
    token, fresh = grant.reinvited(invitation.sent_at)
    assert fresh.invitation is not None
    reminded = replace(fresh, invitation=replace(fresh.invitation, reminders_sent=sent))
    # Everything the email needs is read before the claim: once it is taken, only the send may
    # fail, and that releases it (a read failing in between would lose the reminder for good).
    customer = ports.customers.get(grant.firm_id, grant.file_id)
    if customer is None:  # the client file is gone: nothing to invite to
        return "skipped"
    refreshed = files.save_grant(
        reminded,
        grant,
        files.token_delete(invitation.token_hash, must_exist=False),
        files.token_put(reminded),
    )
    try:
        _send_invitation(ports, customer, refreshed, token, reminder=True, firm=firm)
    except UpstreamUnavailable:
        # Not sent: release the claim (the fresh token stays) so the next run tries again.
        assert refreshed.invitation is not None
        released = replace(
            refreshed, invitation=replace(refreshed.invitation, reminders_sent=invitation.reminders_sent)
        )
        files.save_grant(released, refreshed)
        return "failed"
    _record(
        ports,
        grant.firm_id,
        grant.file_id,
        SYSTEM_ACTOR,
        "access.invitation_reminded",
        grant.subject,
        {"days": age},
    )
    return "reminders_sent"


def _send_invitation(
    ports: FileAccessPorts,
    customer: Customer,
    grant: Grant,
    token: str,
    *,
    firm: Firm | None,
    reminder: bool = False,
) -> None:
    assert grant.invitation is not None
    message = file_invitation_email(
        to=grant.email,
        grantee_name=grant.grantee_name,
        firm_name=firm.name if firm else "Your adviser",
        file_label=customer.name,
        level=grant.level.value,
        link=file_invitation_link(ports.app_base_url, token),
        expires_at=grant.invitation.expires_at,
        reminder=reminder,
    )
    try:
        ports.email.send(message)
    except Exception as error:  # the error's type only: a provider's message may quote the address
        logger.error(
            "File invitation email failed",
            extra={
                "file_id": grant.file_id,
                "subject_id": grant.subject.subject_id,
                "error": type(error).__name__,
            },
        )
        raise UpstreamUnavailable(
            "The access was saved but the invitation could not be emailed; save the access again to resend.",
            code="email_not_sent",
        ) from None


def _notify_access(ports: FileAccessPorts, customer: Customer, grant: Grant, now: datetime) -> None:
    assert grant.user_id is not None
    firm = ports.identities.get_firm(grant.firm_id)
    email = file_access_email(
        to=grant.email,
        grantee_name=grant.grantee_name,
        firm_name=firm.name if firm else "Your adviser",
        file_label=customer.name,
        level=grant.level.value,
    )
    ports.notifications.add(
        Notification(
            user_id=grant.user_id,
            notification_id=new_id(now),
            kind="file_access.granted",
            title=email.subject,
            body=email.text.split("\n\n", 1)[-1],
            created_at=now,
            firm_id=grant.firm_id,
        )
    )
    try:
        ports.email.send(email)
    except Exception as error:  # the access stands; the in-app notification carries it
        logger.error(
            "File access email failed", extra={"file_id": grant.file_id, "error": type(error).__name__}
        )


def _audit(
    ports: FileAccessPorts, scope: FileScope, action: str, subject: Subject, details: dict[str, Any]
) -> None:
    _record(ports, scope.firm_id, scope.file_id, scope.actor_id, action, subject, details)


def _record(
    ports: FileAccessPorts,
    firm_id: str,
    file_id: str,
    actor_id: str,
    action: str,
    subject: Subject,
    details: dict[str, Any],
) -> None:
    """Who did what to whose access, when (R-ROLE-3): ids and levels only, never contact details."""
    ports.audit.record(
        AuditEvent(
            firm_id=firm_id,
            actor_id=actor_id,
            action=action,
            target_type=subject.type.value,
            target_id=subject.subject_id,
            details=details,
            customer_id=file_id,
            occurred_at=ports.clock(),
        )
    )
