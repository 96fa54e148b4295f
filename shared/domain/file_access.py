"""Who may do what on a client file: one table, caller kinds x actions (R-ACC-1..6, R-ROLE-1/2).

Every route on a file resolves the caller's kind (from the service's own records: staff
membership, the customer's owner and assignees, the file's grants, the customer record the
caller accepted) and asks this table; no other code decides a file permission. A kind with no
allowed action at all (a stranger: another firm's staff, an adviser not assigned, anyone else
without a grant) gets exactly the 404 of a file that does not exist (R-ROLE-1); a known kind
refused an action gets a 403.

Beyond the table, two rules about the *target* of a grant, not the caller, live in the
services: a holder's or co-holder's access is never revoked once granted (R-ACC-4: a 409,
audited), and a member already granted keeps their relation (so nobody edits their way
around R-ACC-4).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.domain.errors import Forbidden, NotFound
from shared.domain.files import AccessLevel, Grant, SubjectType


class CallerKind(StrEnum):
    FILE_MANAGER = "file_manager"  # the adviser who owns the file (the customer's owner)
    FIRM_STAFF = "firm_staff_with_visibility"  # an adviser assigned to the customer (R-ROLE-2)
    FIRM_ADMIN = "firm_admin"  # an admin of the firm, not the manager of this file
    HOLDER_RW = "holder_rw"  # the holder or a co-holder, granted read_write
    HOLDER_RO = "holder_ro"
    MEMBER_RW = "member_rw"  # another family member, granted read_write
    MEMBER_RO = "member_ro"
    ADVISER_RW = "adviser_rw"  # an external adviser registered in the file, granted read_write
    ADVISER_RO = "adviser_ro"
    # The file's own customer (file id = customer id), not granted access by the manager: reads
    # their file, changes nothing; a grant (holder, co-holder...) gives them its level instead.
    CUSTOMER = "customer"
    STRANGER = "stranger"  # anyone else, including every other firm's staff


class FileAction(StrEnum):
    VIEW_FILE = "view_file"  # the file and all its sections
    EDIT_FAMILY = "edit_family"  # add, change, remove family members
    EDIT_PATRIMONY = "edit_patrimony"
    EDIT_DONATIONS = "edit_donations"
    CREATE_SIMULATION = "create_simulation"
    CREATE_REPORT = "create_report"
    VIEW_ACCESS = "view_access"  # who has access, with their contact details
    MANAGE_CENTRAL_ACCESS = "manage_central_access"  # grant/change a holder's or co-holder's access
    MANAGE_FAMILY_ACCESS = "manage_family_access"  # grant/change/revoke another family member's
    REGISTER_ADVISER = "register_adviser"
    MANAGE_ADVISER_ACCESS = "manage_adviser_access"  # grant/change/revoke an external adviser's
    VIEW_ACCESS_LOG = "view_access_log"


# The actions that change nothing: the only ones left on a file whose relationship ended (R-PRIV-2).
FILE_READS = frozenset({FileAction.VIEW_FILE, FileAction.VIEW_ACCESS, FileAction.VIEW_ACCESS_LOG})

_K = CallerKind
FIRM = frozenset({_K.FILE_MANAGER, _K.FIRM_STAFF, _K.FIRM_ADMIN})
HOLDERS = frozenset({_K.HOLDER_RW, _K.HOLDER_RO})
READ_WRITE_GRANTEES = frozenset({_K.HOLDER_RW, _K.MEMBER_RW, _K.ADVISER_RW})
GRANTEES = READ_WRITE_GRANTEES | {_K.HOLDER_RO, _K.MEMBER_RO, _K.ADVISER_RO}
MANAGER = frozenset({_K.FILE_MANAGER})
OWN_CUSTOMER = frozenset({_K.CUSTOMER})

# The whole policy. Read it as: action -> the caller kinds allowed to do it.
FILE_POLICY: Mapping[FileAction, frozenset[CallerKind]] = {
    FileAction.VIEW_FILE: FIRM | GRANTEES | OWN_CUSTOMER,
    # R-ACC-6: read_write grantees, external advisers included, change these three sections only;
    # read_only changes nothing.
    FileAction.EDIT_FAMILY: FIRM | READ_WRITE_GRANTEES,
    FileAction.EDIT_PATRIMONY: FIRM | READ_WRITE_GRANTEES,
    FileAction.EDIT_DONATIONS: FIRM | READ_WRITE_GRANTEES,
    # R-ACC-6: nobody outside the firm creates simulations or reports.
    FileAction.CREATE_SIMULATION: FIRM,
    FileAction.CREATE_REPORT: FIRM,
    FileAction.VIEW_ACCESS: FIRM | HOLDERS,
    # R-ACC-1: only the file manager manages access for people outside the firm, not other staff;
    # R-ACC-4: a holder/co-holder with (read_write) access grants the *other* family members.
    FileAction.MANAGE_CENTRAL_ACCESS: MANAGER,
    FileAction.MANAGE_FAMILY_ACCESS: MANAGER | {_K.HOLDER_RW},
    # R-ACC-5: external advisers are registered and granted by the file manager only.
    FileAction.REGISTER_ADVISER: MANAGER,
    FileAction.MANAGE_ADVISER_ACCESS: MANAGER,
    # R-ROLE-3: the file's access log, for its manager and the firm's admins.
    FileAction.VIEW_ACCESS_LOG: MANAGER | {_K.FIRM_ADMIN},
}


def is_allowed(kind: CallerKind, action: FileAction) -> bool:
    return kind in FILE_POLICY[action]


def allowed_actions(kind: CallerKind) -> list[FileAction]:
    return [action for action in FileAction if is_allowed(kind, action)]


def authorize_entry(kind: CallerKind) -> None:
    """A caller with nothing allowed on the file cannot learn that it exists (R-ROLE-1)."""
    if not allowed_actions(kind):
        raise NotFound()


def authorize_file(kind: CallerKind, action: FileAction) -> None:
    authorize_entry(kind)
    if not is_allowed(kind, action):
        raise Forbidden("Your access to this file does not allow this.", code="file_action_forbidden")


def staff_kind(*, owner_id: str, assignee_ids: tuple[str, ...], staff_id: str, is_admin: bool) -> CallerKind:
    """A member of the file's firm: its manager, an admin, an assigned adviser, or a stranger (R-ROLE-2)."""
    if staff_id == owner_id:
        return CallerKind.FILE_MANAGER
    if is_admin:
        return CallerKind.FIRM_ADMIN
    if staff_id in assignee_ids:
        return CallerKind.FIRM_STAFF
    return CallerKind.STRANGER


def grantee_kind(grant: Grant) -> CallerKind:
    """The kind of the person an active grant is bound to."""
    read_write = grant.level is AccessLevel.READ_WRITE
    if grant.subject.type is SubjectType.ADVISER:
        return CallerKind.ADVISER_RW if read_write else CallerKind.ADVISER_RO
    if grant.central:
        return CallerKind.HOLDER_RW if read_write else CallerKind.HOLDER_RO
    return CallerKind.MEMBER_RW if read_write else CallerKind.MEMBER_RO


def access_action(subject_type: SubjectType, central: bool) -> FileAction:
    """The action that managing this subject's access is, so the table decides who may."""
    if subject_type is SubjectType.ADVISER:
        return FileAction.MANAGE_ADVISER_ACCESS
    return FileAction.MANAGE_CENTRAL_ACCESS if central else FileAction.MANAGE_FAMILY_ACCESS
