"""Port: staff invitations (keys.py #46-#49), each with its token row, its email claim in the firm
and its reminders index entry."""

from __future__ import annotations

from typing import Protocol

from shared.domain.staff_invitations import StaffInvitation
from shared.ports.storage import TransactItem


class StaffInvitationStore(Protocol):
    def get(self, firm_id: str, invitation_id: str) -> StaffInvitation | None: ...

    def find_by_email(self, firm_id: str, email: str) -> StaffInvitation | None:
        """The firm's invitation to this email (one per email: the claim, #47)."""
        ...

    def find_by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        """(firm_id, invitation_id) of the invitation this token hash belongs to (#48)."""
        ...

    def list_for_firm(self, firm_id: str) -> list[StaffInvitation]:
        """Every staff invitation of the firm, oldest first (#46)."""
        ...

    def due_for_reminders(self, today: str) -> list[tuple[str, str]]:
        """(firm_id, invitation_id) of invitations whose reminder or expiry is due by `today` (#49)."""
        ...

    def save(
        self, record: StaffInvitation, previous: StaffInvitation | None, *extra: TransactItem
    ) -> StaffInvitation:
        """Write `record` (new if `previous` is None, else only if unchanged since read) with
        `extra`, in one transaction; `StaffInvitationChanged` when a condition fails."""
        ...

    def email_claim(self, record: StaffInvitation) -> TransactItem:
        """The firm's one invitation per email: fails if another invitation holds the email."""
        ...

    def token_put(self, record: StaffInvitation) -> TransactItem: ...

    def token_delete(self, token_hash: str, *, must_exist: bool) -> TransactItem: ...

    def transact(self, items: list[TransactItem]) -> None: ...
