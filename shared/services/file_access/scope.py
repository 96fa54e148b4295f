"""Who is calling on a client file: every use case on a file starts with `open_file`, which
resolves the caller's kind from the service's own records (`shared.auth.file_caller`, the one
resolver of callers), asks the one policy (shared/domain/file_access.py) and binds the use case's
ports to the file's firm."""

from __future__ import annotations

from shared.auth import file_caller
from shared.domain.errors import NotFound
from shared.domain.file_access import FILE_READS, FileAction, authorize_entry, authorize_file
from shared.ports.firm_bound import bind_ports
from shared.services.file_access.ports import FileAccessPorts, FileActor, FileScope


def open_file(
    ports: FileAccessPorts, actor: FileActor, file_id: str, action: FileAction | None = None
) -> tuple[FileScope, FileAccessPorts]:
    """The file and the caller's kind on it, authorized for `action` (or, without one, only
    known to the caller: a stranger gets exactly the 404 of a missing file, R-ROLE-1), and the
    ports the rest of the use case runs on: bound to the file's firm. Any action but a read
    (`FILE_READS`; no action: a grant's change) is refused on a customer whose relationship ended
    (409 `relationship_ended`, R-PRIV-2): only admins still reach such a file, to read it."""
    caller = file_caller(
        actor.principal,
        actor.firm_id,
        file_id,
        memberships=ports.identities,
        customers=ports.customers,
        files=ports.grants,
        links=ports.identities,
    )
    if action is None:
        authorize_entry(caller.kind)
    else:
        authorize_file(caller.kind, action)
    if caller.customer is None:  # a stranger, already refused above
        raise NotFound()
    if action not in FILE_READS:  # a change (granting access included): not once the relationship ended
        caller.customer.check_open()
    scope = FileScope(
        customer=caller.customer, kind=caller.kind, actor_id=actor.principal.user_id, grant=caller.grant
    )
    return scope, bind_ports(ports, scope.firm_id)
