"""Invite staff by email (issue 15): the staff kind of the one invitation lifecycle
(`shared/services/invitations.py`), and its use cases: invite (admins), resend, revoke, list the
firm's open invitations, check and accept a link, the daily reminders and expiry.

What is a staff invitee's own: the `StaffInvitation` record carries the invitation (one per email in
a firm, like customers: inviting a pending email again sends it again, with the new name and role);
accepting creates the person's active membership with the invited role, in the same transaction
that consumes the token (and only if they have no membership in the firm); the email names the
firm and the role.

A firm's first admin is invited by the operator (`python -m tools.firms`, `invite_first_admin`): the
invitation's `invited_by` is `OPERATOR`, and it can be accepted only while the firm has no active
admin (409 `firm_has_admin` when the operator asks again; the dead link when accepting): from then on
the firm's admins invite their staff. Any other invitation dies with the rights of the admin who
sent it (accepting after they were deactivated or demoted is the dead link); an admin who resends an
invitation becomes the one who sent it.

Members are never re-admitted by an invitation: an email that is an active member is refused
(409 `already_staff`), and so is a deactivated member's (409 `deactivated_member`, when inviting and
when accepting): an admin reactivates them (`POST /staff/{user_id}/reactivate`), the one audited
way back into the firm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.audit import AuditEvent
from shared.domain.customers import Invitation, InvitationStatus, normalise_email
from shared.domain.email import EmailMessage, EmailSender
from shared.domain.errors import Conflict, NotFound, StaffInvitationChanged
from shared.domain.identity import Firm, Principal, StaffContext, StaffMembership, StaffRole
from shared.domain.staff_invitations import StaffInvitation
from shared.ports.audit import AuditTrail
from shared.ports.directory import UserDirectory
from shared.ports.identity import IdentityStore
from shared.ports.limits import Limiter
from shared.ports.staff_invitations import StaffInvitationStore
from shared.ports.storage import TransactItem
from shared.services import invitations
from shared.services.emails import staff_invitation_email, staff_invitation_link
from shared.services.invitations import Events, InvitationInvalid, RecordStore

STAFF_EVENTS = Events.prefixed("staff.invitation_")
OPERATOR = "operator"  # who invites a firm's first admin: the operator's command (the audit actor too)


class AlreadyStaff(Conflict):
    code = "already_staff"
    default_message = "This person is already a member of your firm's staff."


class FirmHasAdmin(Conflict):
    code = "firm_has_admin"
    default_message = "This firm has an active admin: its admins invite their staff themselves."


class DeactivatedMember(Conflict):
    code = "deactivated_member"
    default_message = (
        "This person is a deactivated member of the firm: an admin reactivates them instead of inviting them."
    )


@dataclass
class StaffInvitationPorts:
    invitations: StaffInvitationStore
    identities: IdentityStore
    audit: AuditTrail
    email: EmailSender
    directory: UserDirectory
    app_base_url: str
    limits: Limiter  # abuse limits, spent before an email or a provider call (shared/domain/limits.py)
    clock: Now = field(default=business_now)


@dataclass(frozen=True)
class InviteOutcome:
    invitation: StaffInvitation
    created: bool  # False: this email was invited before and the invitation was sent again


@dataclass(frozen=True)
class StaffInvitationCheck:
    firm_name: str
    role: StaffRole


@dataclass(frozen=True)
class StaffInvitee:
    """The staff kind of invitee: the `StaffInvitation` carries its invitation (an `InvitationKind`)."""

    ports: StaffInvitationPorts
    events = STAFF_EVENTS
    metric_prefix = "StaffInvitation"
    not_sent = "The invitation was saved but the email could not be sent; resend it."
    concurrent = StaffInvitationChanged

    def find(self, token_hash: str) -> StaffInvitation | None:
        found = self.ports.invitations.find_by_token_hash(token_hash)
        return self.ports.invitations.get(*found) if found else None

    def due(self, today: str) -> Iterator[StaffInvitation]:
        store = self.ports.invitations
        for firm_id, invitation_id in store.due_for_reminders(today):
            if (record := store.get(firm_id, invitation_id)) is not None:
                yield record

    @property
    def store(self) -> RecordStore[StaffInvitation]:
        store = self.ports.invitations
        return RecordStore(
            store.save, store.token_put, partial(store.token_delete, must_exist=False), store.transact
        )

    def invitation(self, record: StaffInvitation) -> Invitation | None:
        return None if record.has_accepted else record.invitation

    def with_invitation(self, record: StaffInvitation, invitation: Invitation) -> StaffInvitation:
        return replace(record, invitation=invitation)

    def invitee_name(self, record: StaffInvitation) -> str:
        return record.name

    def bind(self, record: StaffInvitation, user_id: str, *extra: TransactItem) -> StaffInvitation:
        """Accepting makes the person an active member with the invited role; refused if they
        already are a member of the firm, active or deactivated."""
        identities = self.ports.identities
        _not_a_member(identities.get_membership(user_id, record.firm_id))
        if record.invited_by == OPERATOR:
            if _has_active_admin(identities, record.firm_id):
                raise InvitationInvalid()  # the firm has its admin: the operator's link is spent
        else:
            inviter = identities.get_membership(record.invited_by, record.firm_id)
            if inviter is None or not inviter.is_active_admin:
                # The admin who invited has since been deactivated or demoted: their invitations
                # die with their rights (else a departing admin could let themselves back in as
                # another address). The same answer as any dead link.
                raise InvitationInvalid()
        membership = StaffMembership(record.firm_id, user_id, record.role, active=True)
        now = self.ports.clock()
        accepted = replace(
            record,
            user_id=user_id,
            accepted_at=now,
            invitation=replace(record.invitation, status=InvitationStatus.ACCEPTED),
        )
        return self.ports.invitations.save(
            accepted,
            record,
            self.ports.invitations.token_delete(record.invitation.token_hash, must_exist=True),
            identities.new_membership_op(membership),
            *extra,
        )

    def letter(
        self, record: StaffInvitation, token: str, *, firm: Firm | None, reminder: bool
    ) -> EmailMessage:
        return staff_invitation_email(
            to=record.email,
            name=record.name,
            firm_name=firm.name if firm else "Your firm",
            role=record.role.value,
            link=staff_invitation_link(self.ports.app_base_url, token),
            expires_at=record.invitation.expires_at,
            reminder=reminder,
        )

    def audit_op(
        self, record: StaffInvitation, actor_id: str, action: str, details: Mapping[str, Any]
    ) -> TransactItem:
        return self.ports.audit.put_op(self._event(record, actor_id, action, details))

    def audit_alone(
        self, record: StaffInvitation, actor_id: str, action: str, details: Mapping[str, Any]
    ) -> None:
        self.ports.audit.record(self._event(record, actor_id, action, details))

    def _event(
        self, record: StaffInvitation, actor_id: str, action: str, details: Mapping[str, Any]
    ) -> AuditEvent:
        issued = action in (self.events.sent, self.events.resent)  # the role the link offers
        event_details = {**({"role": record.role.value} if issued else {}), **details}
        return AuditEvent(
            record.firm_id,
            actor_id,
            action,
            "staff_invitation",
            record.invitation_id,
            event_details,
            self.ports.clock(),
        )

    def log_ref(self, record: StaffInvitation) -> dict[str, str]:
        return {"staff_invitation_id": record.invitation_id}


# admins ----------------------------------------------------------------------------------------
def invite_staff(
    ports: StaffInvitationPorts, staff: StaffContext, *, email: str, name: str, role: StaffRole
) -> InviteOutcome:
    """Invite a person to join the firm with `role`; an email invited before (not accepted) gets
    a fresh link with the new name and role, the old link dies."""
    authorize(staff, FirmAction.INVITE_STAFF)
    return _invite(ports, staff.firm_id, staff.principal.user_id, email=email, name=name, role=role)


def invite_first_admin(ports: StaffInvitationPorts, firm_id: str, *, email: str, name: str) -> InviteOutcome:
    """The operator invites a firm's admin while the firm has none active (its first, or again
    when that invitation was lost or went to a wrong address); 409 `firm_has_admin` otherwise."""
    if ports.identities.get_firm(firm_id) is None:
        raise NotFound("No firm with this id.", code="firm_not_found")
    if _has_active_admin(ports.identities, firm_id):
        raise FirmHasAdmin()
    return _invite(ports, firm_id, OPERATOR, email=email, name=name, role=StaffRole.ADMIN)


def _invite(
    ports: StaffInvitationPorts, firm_id: str, actor: str, *, email: str, name: str, role: StaffRole
) -> InviteOutcome:
    address = normalise_email(email)
    _not_a_member(_member_with_email(ports, firm_id, address))
    previous = ports.invitations.find_by_email(firm_id, address)
    now = ports.clock()
    kind = StaffInvitee(ports)
    if previous is not None:

        def again(invitation: Invitation) -> StaffInvitation:
            fresh = replace(previous, name=name.strip(), role=role, invited_by=actor, invitation=invitation)
            return replace(fresh, user_id=None, accepted_at=None)

        return InviteOutcome(invitations.issue(kind, again, previous, actor_id=actor), created=False)

    def invited(invitation: Invitation) -> StaffInvitation:
        return StaffInvitation(
            firm_id=firm_id,
            invitation_id=str(ULID.from_datetime(now)),
            email=address,
            name=name.strip(),
            role=role,
            invited_by=actor,
            created_at=now,
            invitation=invitation,
        )

    try:
        record = invitations.issue(
            kind, invited, None, actor_id=actor, also_write=lambda r: [ports.invitations.email_claim(r)]
        )
    except StaffInvitationChanged:  # another request invited the same email at the same moment
        raise Conflict("This person was invited a moment ago.", code="already_invited") from None
    return InviteOutcome(record, created=True)


def resend_staff_invitation(
    ports: StaffInvitationPorts, staff: StaffContext, invitation_id: str
) -> StaffInvitation:
    """A fresh link, the lifetime and the reminders from zero; the old link stops working. The admin
    who resends it becomes its sender (the link lives as long as their rights)."""
    sender = staff.principal.user_id
    resend = partial(invitations.resend, update=lambda r: replace(r, invited_by=sender))
    return _step(resend, ports, staff, invitation_id)


def revoke_staff_invitation(
    ports: StaffInvitationPorts, staff: StaffContext, invitation_id: str
) -> StaffInvitation:
    return _step(invitations.revoke, ports, staff, invitation_id)


def list_staff_invitations(ports: StaffInvitationPorts, staff: StaffContext) -> list[StaffInvitation]:
    """The firm's invitations not accepted nor revoked: pending, or expired (to resend)."""
    authorize(staff, FirmAction.INVITE_STAFF)
    now = ports.clock()
    found = ports.invitations.list_for_firm(staff.firm_id)
    return [r for r in found if r.status(now) in ("pending", "expired")]


# the invitee -----------------------------------------------------------------------------------
def verify_staff_invitation(ports: StaffInvitationPorts, token: str) -> StaffInvitationCheck:
    """For the acceptance page, before signing in: the firm and the role."""
    record = invitations.verify(StaffInvitee(ports), token)
    return _check(ports, record)


def accept_staff_invitation(
    ports: StaffInvitationPorts, principal: Principal, token: str
) -> StaffInvitationCheck:
    """Join the firm as the signed-in person (signed in with the invited email)."""
    return _check(ports, invitations.accept(StaffInvitee(ports), principal, token))


def accept_staff_invitation_with_new_account(
    ports: StaffInvitationPorts, token: str, password: str
) -> StaffInvitationCheck:
    """No account yet: create the invited person's account with `password`, then join the firm."""
    return _check(ports, invitations.accept_with_new_account(StaffInvitee(ports), token, password))


def send_due_staff_reminders(ports: StaffInvitationPorts) -> dict[str, int]:
    """The daily run for staff invitations: 7- and 30-day reminders once each, expiry."""
    return invitations.send_due_reminders(StaffInvitee(ports))


# helpers ---------------------------------------------------------------------------------------
def _check(ports: StaffInvitationPorts, record: StaffInvitation) -> StaffInvitationCheck:
    firm = ports.identities.get_firm(record.firm_id)
    return StaffInvitationCheck(firm_name=firm.name if firm else "", role=record.role)


def _step(
    step: Callable[..., StaffInvitation], ports: StaffInvitationPorts, staff: StaffContext, invitation_id: str
) -> StaffInvitation:
    """Resend or revoke an invitation of the caller's firm (another firm's id: 404)."""
    authorize(staff, FirmAction.INVITE_STAFF)
    record = ports.invitations.get(staff.firm_id, invitation_id)
    if record is None:
        raise NotFound()
    return step(StaffInvitee(ports), record, actor_id=staff.principal.user_id)


def _member_with_email(ports: StaffInvitationPorts, firm_id: str, email: str) -> StaffMembership | None:
    """The firm's member whose profile has this email (a firm's staff is one Query and one batch read)."""
    memberships = ports.identities.list_staff(firm_id)
    profiles = ports.identities.get_profiles([m.user_id for m in memberships]) if memberships else {}
    for membership in memberships:
        profile = profiles.get(membership.user_id)
        if profile is not None and normalise_email(profile.email) == email:
            return membership
    return None


def _has_active_admin(identities: IdentityStore, firm_id: str) -> bool:
    return any(m.is_active_admin for m in identities.list_staff(firm_id))


def _not_a_member(membership: StaffMembership | None) -> None:
    if membership is None:
        return
    raise AlreadyStaff() if membership.active else DeactivatedMember()
