"""Who is calling on a client file, and access grants: members, external advisers, invitations,
reminders, the access log (R-ACC-1..6, R-INV-2/4, R-ROLE-1..3).

Every use case on a file starts with `open_file` (scope.py), which resolves the caller's kind from
the service's own records and asks the one policy (shared/domain/file_access.py). Every function
takes its ports (ports.py); none knows about Lambda, HTTP or environment variables. By aggregate:
grants.py grants and revokes access, invitations.py invites the grantees, access_log.py reads who
has access and records every change of it.
"""

from shared.services.file_access.access_log import list_access, list_my_files, read_access_log
from shared.services.file_access.grants import (
    grant_adviser_access,
    grant_member_access,
    member_in_file,
    register_adviser,
    revoke_adviser_access,
    revoke_member_access,
)
from shared.services.file_access.invitations import (
    accept_file_invitation,
    accept_file_invitation_with_new_account,
    send_due_file_reminders,
    verify_file_invitation,
)
from shared.services.file_access.ports import (
    AccessView,
    AdviserAccess,
    FileAccessPorts,
    FileActor,
    FileInvitationCheck,
    FileScope,
    MemberAccess,
    MyFile,
    new_id,
)
from shared.services.file_access.scope import open_file

__all__ = [
    "AccessView",
    "AdviserAccess",
    "FileAccessPorts",
    "FileActor",
    "FileInvitationCheck",
    "FileScope",
    "MemberAccess",
    "MyFile",
    "accept_file_invitation",
    "accept_file_invitation_with_new_account",
    "grant_adviser_access",
    "grant_member_access",
    "list_access",
    "list_my_files",
    "member_in_file",
    "new_id",
    "open_file",
    "read_access_log",
    "register_adviser",
    "revoke_adviser_access",
    "revoke_member_access",
    "send_due_file_reminders",
    "verify_file_invitation",
]
