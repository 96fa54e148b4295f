"""In-memory ports of staff invitations (issue 15), with the table's semantics (tests/fakes.py):
invitations under an optimistic lock, the firm's claim on an email, token rows, all written in one
all-or-nothing transaction with the membership an acceptance creates. `StaffInvitationFakes`
builds the ports of shared/services/staff_invitations.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.domain.customers import email_fingerprint
from shared.domain.errors import StaffInvitationChanged
from shared.domain.staff_invitations import StaffInvitation
from shared.ports.storage import TransactItem
from tests.fakes import (
    FakeAudit,
    FakeDirectory,
    FakeEmail,
    Has,
    absent,
    delete_item,
    present,
    put_item,
    transact_write,
)
from tests.limit_fakes import FakeLimiter
from tests.staff_fakes import StaffIdentities


@dataclass
class FakeStaffInvitations:
    rows: dict[tuple[str, str], StaffInvitation] = field(default_factory=dict)  # firm, invitation id
    emails: dict[tuple[str, str], str] = field(default_factory=dict)  # firm, email digest: invitation id
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token hash: firm, invitation id

    def get(self, firm_id: str, invitation_id: str) -> StaffInvitation | None:
        return self.rows.get((firm_id, invitation_id))

    def find_by_email(self, firm_id: str, email: str) -> StaffInvitation | None:
        invitation_id = self.emails.get((firm_id, email_fingerprint(email)))
        return self.get(firm_id, invitation_id) if invitation_id else None

    def find_by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        return self.tokens.get(token_hash)

    def list_for_firm(self, firm_id: str) -> list[StaffInvitation]:
        return [r for (f, _), r in sorted(self.rows.items()) if f == firm_id]

    def due_for_reminders(self, today: str) -> list[tuple[str, str]]:
        due = sorted(
            (day.isoformat(), *key)
            for key, r in self.rows.items()
            if not r.has_accepted
            and (day := r.invitation.next_due()) is not None
            and day.isoformat() <= today
        )
        return [(firm_id, invitation_id) for _, firm_id, invitation_id in due]

    def save(
        self, record: StaffInvitation, previous: StaffInvitation | None, *extra: TransactItem
    ) -> StaffInvitation:
        saved = replace(record, version=(previous.version + 1) if previous else 1)
        condition = Has("version", previous.version) if previous else absent
        put = put_item(self.rows, (saved.firm_id, saved.invitation_id), saved, condition)
        transact_write([put, *extra], canceled=StaffInvitationChanged)
        return saved

    def email_claim(self, record: StaffInvitation) -> TransactItem:
        return put_item(
            self.emails, (record.firm_id, email_fingerprint(record.email)), record.invitation_id, absent
        )

    def token_put(self, record: StaffInvitation) -> TransactItem:
        return put_item(self.tokens, record.invitation.token_hash, (record.firm_id, record.invitation_id))

    def token_delete(self, token_hash: str, *, must_exist: bool) -> TransactItem:
        return delete_item(self.tokens, token_hash, present if must_exist else None)

    def transact(self, items: list[TransactItem]) -> None:
        transact_write(items, canceled=StaffInvitationChanged)


@dataclass
class StaffInvitationFakes:
    invitations: FakeStaffInvitations = field(default_factory=FakeStaffInvitations)
    identities: StaffIdentities = field(default_factory=StaffIdentities)
    audit: FakeAudit = field(default_factory=FakeAudit)
    email: FakeEmail = field(default_factory=FakeEmail)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    limits: FakeLimiter = field(default_factory=FakeLimiter)

    def ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.staff_invitations import StaffInvitationPorts

        return StaffInvitationPorts(
            invitations=self.invitations,
            identities=self.identities,  # type: ignore[arg-type]  # the subset services call
            audit=self.audit,
            email=self.email,
            directory=self.directory,
            app_base_url="https://app.example",
            limits=self.limits,
            clock=clock,
        )
