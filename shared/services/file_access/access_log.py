"""Reading access: who has which access to a file, its access log, the grantee's own files; and
the audit record every change of access writes (R-ROLE-3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.auth import customer_records
from shared.domain.audit import AuditEvent, AuditKind
from shared.domain.file_access import CallerKind, FileAction, grantee_kind
from shared.domain.files import AccessLevel, Subject, SubjectType
from shared.domain.identity import Principal
from shared.ports.files import GrantRef
from shared.ports.storage import TransactItem
from shared.services.file_access.ports import (
    AccessView,
    AdviserAccess,
    FileAccessPorts,
    FileActor,
    FileScope,
    MemberAccess,
    MyFile,
)
from shared.services.file_access.scope import open_file


def list_access(ports: FileAccessPorts, actor: FileActor, file_id: str) -> AccessView:
    scope, ports = open_file(ports, actor, file_id, FileAction.VIEW_ACCESS)
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
    """The file's access events, newest first: the customer's audit events of kind `access`, one
    Query a page on the customer-and-kind index (the customer's other events, such as the audited
    reads of its file and bank data, are never read here)."""
    scope, ports = open_file(ports, actor, file_id, FileAction.VIEW_ACCESS_LOG)
    return ports.audit.page(
        scope.firm_id, customer_id=scope.file_id, kind=AuditKind.ACCESS.value, cursor=cursor, limit=limit
    )


# the grantee's side --------------------------------------------------------------------------
def list_my_files(ports: FileAccessPorts, principal: Principal) -> list[MyFile]:
    """The files the caller is the customer of (#6; read-only, unless a grant gives them more) and
    those they were granted and accepted (#30), with their level: one batch read of the customers,
    one of the grants the links point at, one of the firms; each checked to be theirs."""
    links = ports.grants.links_of(principal.user_id)
    grants = {
        (grant.firm_id, grant.file_id): grant
        for grant in ports.grants.get_grants(
            GrantRef(link.firm_id, link.file_id, link.subject) for link in links
        )
        if grant.user_id == principal.user_id
    }
    records = customer_records(
        principal, ports.customers, ports.identities.list_customer_links(principal.user_id)
    )
    own = sorted(
        (c for c in records if (c.firm_id, c.customer_id) not in grants),
        key=lambda c: (c.firm_id, c.customer_id),
    )
    firms = ports.identities.get_firms({link.firm_id for link in links} | {c.firm_id for c in own})
    found = [
        MyFile(
            firm_id=customer.firm_id,
            firm_name=firms[customer.firm_id].name,
            file_id=customer.customer_id,
            file_label=customer.name,
            kind=CallerKind.CUSTOMER,
            level=AccessLevel.READ_ONLY,
        )
        for customer in own
        if customer.firm_id in firms
    ]
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


def access_op(
    ports: FileAccessPorts, scope: FileScope, action: str, subject: Subject, details: Mapping[str, Any]
) -> TransactItem:
    """The audit event of a change to the file's access, written in the change's own transaction."""
    return ports.audit.put_op(
        access_event(ports, scope.firm_id, scope.file_id, scope.actor_id, action, subject, details)
    )


def record_access(
    ports: FileAccessPorts, scope: FileScope, action: str, subject: Subject, details: Mapping[str, Any]
) -> None:
    """An audit event with no change to write with (a refused revoke)."""
    ports.audit.record(
        access_event(ports, scope.firm_id, scope.file_id, scope.actor_id, action, subject, details)
    )


def access_event(
    ports: FileAccessPorts,
    firm_id: str,
    file_id: str,
    actor_id: str,
    action: str,
    subject: Subject,
    details: Mapping[str, Any],
) -> AuditEvent:
    """Who did what to whose access, when (R-ROLE-3): ids and levels only, never contact details."""
    return AuditEvent(
        firm_id=firm_id,
        actor_id=actor_id,
        action=action,
        target_type=subject.type.value,
        target_id=subject.subject_id,
        details=dict(details),
        customer_id=file_id,
        occurred_at=ports.clock(),
    )
