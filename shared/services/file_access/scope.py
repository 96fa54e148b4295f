"""Who is calling on a client file: every use case on a file starts with `open_file`, which
resolves the caller's kind from the service's own records and asks the one policy
(shared/domain/file_access.py)."""

from __future__ import annotations

from shared.domain.customers import Customer
from shared.domain.errors import NotFound
from shared.domain.file_access import (
    CallerKind,
    FileAction,
    authorize_entry,
    authorize_file,
    grantee_kind,
    staff_kind,
)
from shared.domain.files import Grant
from shared.domain.identity import StaffRole
from shared.services.file_access.ports import FileAccessPorts, FileActor, FileScope


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
    for link in ports.grants.links_of(user_id):  # a grant bound to the caller
        if link.file_id != file_id:
            continue
        grant = ports.grants.get_grant(link.firm_id, link.file_id, link.subject)
        customer = ports.customers.get(link.firm_id, file_id)
        if grant is not None and grant.user_id == user_id and customer is not None:
            return grantee_kind(grant), customer, grant
    return CallerKind.STRANGER, None, None
