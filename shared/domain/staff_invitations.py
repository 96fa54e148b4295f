"""A staff invitation (issue 15): an admin invites a person by email to join the firm with a role.

Accepting it makes the person an active member with that role (shared/services/staff_invitations.py).
Pure data: no boto3, no environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.customers import Invitation, InvitationStatus
from shared.domain.identity import StaffRole


@dataclass(frozen=True)
class StaffInvitation:
    firm_id: str
    invitation_id: str
    email: str  # normalised: the address the invitation went to
    name: str
    role: StaffRole
    invited_by: str  # the admin's `sub`
    created_at: datetime
    invitation: Invitation
    user_id: str | None = None  # bound when the invitation is accepted
    accepted_at: datetime | None = None
    version: int = 0  # optimistic lock: every write checks and bumps it

    @property
    def has_accepted(self) -> bool:
        return self.user_id is not None

    def status(self, now: datetime) -> str:
        """pending, accepted, revoked or expired (an unaccepted link past its date is expired)."""
        if self.has_accepted:
            return "accepted"
        if self.invitation.status is InvitationStatus.SENT:
            return "pending" if now < self.invitation.expires_at else "expired"
        return self.invitation.status.value
