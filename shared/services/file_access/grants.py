"""Granting and revoking access to a client file: family members and external advisers
(R-ACC-2..5). A grant goes to the person's account when we know one, else by invitation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.domain.customers import Customer, normalise_email
from shared.domain.errors import Conflict, NotFound
from shared.domain.file_access import FileAction, access_action, authorize_file
from shared.domain.files import (
    AccessLevel,
    AdviserType,
    ExternalAdviser,
    FamilyMember,
    Grant,
    Subject,
    SubjectType,
)
from shared.domain.notifications import Notification
from shared.observability import logger, metrics
from shared.services import invitations
from shared.services.emails import file_access_email
from shared.services.file_access.access_log import access_op, record_access
from shared.services.file_access.invitations import GranteeInvitee
from shared.services.file_access.ports import FileAccessPorts, FileActor, FileScope, new_id
from shared.services.file_access.scope import open_file


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
    scope, ports = open_file(ports, actor, file_id)
    member = member_in_file(ports, scope, member_id)
    central = member.relation.is_central
    authorize_file(scope.kind, access_action(SubjectType.MEMBER, central))
    subject = Subject(SubjectType.MEMBER, member_id)
    return _grant(
        ports, scope, subject, name=member.name, central=central, email=email, phone=phone, level=level
    )


def revoke_member_access(ports: FileAccessPorts, actor: FileActor, file_id: str, member_id: str) -> None:
    scope, ports = open_file(ports, actor, file_id)
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
    scope, ports = open_file(ports, actor, file_id, FileAction.REGISTER_ADVISER)
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
    subject = Subject(SubjectType.ADVISER, adviser.adviser_id)
    details = {"adviser_type": adviser_type.value}
    ports.files.put_entry(
        adviser, access_op(ports, scope, "access.adviser_registered", subject, details), new=True
    )
    return adviser


def grant_adviser_access(
    ports: FileAccessPorts, actor: FileActor, file_id: str, adviser_id: str, *, level: AccessLevel
) -> Grant:
    scope, ports = open_file(ports, actor, file_id, FileAction.MANAGE_ADVISER_ACCESS)
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
    scope, ports = open_file(ports, actor, file_id, FileAction.MANAGE_ADVISER_ACCESS)
    _adviser(ports, scope, adviser_id)
    _revoke(ports, scope, Subject(SubjectType.ADVISER, adviser_id))


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
    grants = ports.grants
    email = normalise_email(email)
    previous = grants.get_grant(scope.firm_id, scope.file_id, subject)
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
        audited = [access_op(ports, scope, "access.level_changed", subject, level_change)]
        return grants.save_grant(changed, previous, *(audited if level is not previous.level else []))
    # Still waiting for its person: saving it again sends a fresh invitation (the old link dies).
    audit: list[tuple[str, dict[str, Any]]] = []
    if level is not previous.level:
        audit.append(("access.level_changed", level_change))
    audit.append(("access.invitation_resent", {}))
    return invitations.issue(
        GranteeInvitee(ports, scope.customer),
        lambda invitation: replace(changed, invitation=invitation),
        previous,
        actor_id=scope.actor_id,
        audit=audit,
    )


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
    grants = ports.grants
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
            for link in grants.links_of(user_id)
        ):
            raise Conflict("This person already has access to this file.", code="already_has_access")
        invitations.spend_email(ports, firm_id=scope.firm_id, actor_id=scope.actor_id, to=email)
        bound = grant.bound_to(user_id)
        saved = grants.save_grant(
            bound,
            None,
            grants.subject_exists(scope.firm_id, scope.file_id, subject),
            grants.link_put(bound, scope.customer.name),
            access_op(ports, scope, "access.granted", subject, details | {"via": "account"}),
        )
        _notify_access(ports, scope.customer, saved, now)
    else:  # no account: an invitation, reminded after 7 and 30 days
        saved = invitations.issue(
            GranteeInvitee(ports, scope.customer),
            lambda invitation: replace(grant, invitation=invitation),
            None,
            actor_id=scope.actor_id,
            also_write=lambda _: [grants.subject_exists(scope.firm_id, scope.file_id, subject)],
            audit=[("access.granted", details | {"via": "invitation"})],
        )
    metrics.add_metric(name="FileAccessGranted", unit="Count", value=1)
    return saved


def _account_for(ports: FileAccessPorts, firm_id: str, email: str) -> str | None:
    """The identity behind this email, if we know one: someone who accepted a file invitation
    with it (the grantee index), or a customer of this firm who accepted their invitation."""
    user_id = ports.grants.find_account(email)
    if user_id is not None:
        return user_id
    customer = ports.customers.find_by_email(firm_id, email)
    return customer.user_id if customer is not None and customer.has_accepted else None


def _revoke(ports: FileAccessPorts, scope: FileScope, subject: Subject) -> None:
    grants = ports.grants
    grant = grants.get_grant(scope.firm_id, scope.file_id, subject)
    if grant is None:
        raise NotFound("This person has no access to revoke.", code="access_not_found")
    if grant.central:  # R-ACC-4
        record_access(
            ports, scope, "access.revoke_refused", subject, {"reason": "holder_access_is_permanent"}
        )
        raise Conflict(
            "Access granted to the holder or a co-holder of a file can never be revoked.",
            code="access_irrevocable",
        )
    operations = [grants.delete_grant_op(grant)]
    if grant.user_id is not None:
        operations.append(grants.link_delete(grant))
    if grant.invitation is not None:
        operations.append(grants.token_delete(grant.invitation.token_hash, must_exist=False))
    details = {"subject_type": subject.type.value, "level": grant.level.value}
    grants.transact([*operations, access_op(ports, scope, "access.revoked", subject, details)])


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
            customer_id=grant.file_id,  # the file's customer: erased with it (R-PRIV-3)
        )
    )
    try:
        ports.email.send(email)
    except Exception as error:  # the access stands; the in-app notification carries it
        logger.error(
            "File access email failed", extra={"file_id": grant.file_id, "error": type(error).__name__}
        )
