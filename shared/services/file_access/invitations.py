"""Invitations of grantees (family members, external advisers: R-ACC-3): the grantee kind of the
one invitation lifecycle (`shared/services/invitations.py`), and its use cases: check and accept a
link (single use, R-INV-2), the daily reminders and expiry (R-INV-4).

What is a grantee's own: the `Grant` carries the invitation until its person accepts (then it is
dropped), accepting binds the grant to the person, lets them find the file and indexes the invited
address; the email names the file and the level."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from shared.domain.customers import Customer, Invitation
from shared.domain.email import EmailMessage
from shared.domain.errors import Conflict, FileChanged
from shared.domain.file_access import grantee_kind
from shared.domain.files import Grant
from shared.domain.identity import Firm, Principal
from shared.ports.storage import TransactItem
from shared.services import invitations
from shared.services.emails import file_invitation_email, file_invitation_link
from shared.services.file_access.access_log import access_event
from shared.services.file_access.ports import FileAccessPorts, FileInvitationCheck, MyFile
from shared.services.invitations import Events, InvitationInvalid, RecordStore

GRANTEE_EVENTS = Events.prefixed(
    "access.invitation_", sent="access.granted", revoked="access.revoked", accepted="access.accepted"
)


@dataclass(frozen=True)
class GranteeInvitee:
    """The grantee kind of invitee: the `Grant` carries its invitation (an `InvitationKind`).
    `customer` is the file, when the caller has already read it."""

    ports: FileAccessPorts
    customer: Customer | None = None
    _files: dict[tuple[str, str], Customer | None] = field(default_factory=dict, compare=False, repr=False)
    events = GRANTEE_EVENTS
    metric_prefix = "FileInvitation"
    not_sent = (
        "The access was saved but the invitation could not be emailed; save the access again to resend."
    )
    concurrent = FileChanged

    def find(self, token_hash: str) -> Grant | None:
        ref = self.ports.grants.find_by_token_hash(token_hash)
        grant = self.ports.grants.get_grant(ref.firm_id, ref.file_id, ref.subject) if ref else None
        if grant is None or self.file_of(grant) is None:  # the client file is gone: nothing to accept
            return None
        return grant

    def due(self, today: str) -> Iterator[Grant]:
        grants = self.ports.grants
        for ref in grants.due_for_reminders(today):
            grant = grants.get_grant(ref.firm_id, ref.file_id, ref.subject)
            if grant is not None and grant.invitation is not None:
                yield grant

    @property
    def store(self) -> RecordStore[Grant]:
        grants = self.ports.grants
        return RecordStore(
            grants.save_grant,
            grants.token_put,
            partial(grants.token_delete, must_exist=False),
            grants.transact,
        )

    def invitation(self, record: Grant) -> Invitation | None:
        return record.invitation if record.user_id is None else None

    def with_invitation(self, record: Grant, invitation: Invitation) -> Grant:
        return replace(record, invitation=invitation)

    def invitee_name(self, record: Grant) -> str:
        return record.grantee_name

    def bind(self, record: Grant, user_id: str, *extra: TransactItem) -> Grant:
        """Accepting gives the person the access: the grant bound to them, their link to the file,
        and the grantee index for the address the invitation went to (the token proves it), which
        never takes an address already mapped to someone else. One person, one grant per file."""
        grants = self.ports.grants
        if any(
            link.firm_id == record.firm_id and link.file_id == record.file_id
            for link in grants.links_of(user_id)
        ):
            raise Conflict("You already have access to this file.", code="already_has_access")
        customer = self.file_of(record)
        if customer is None:
            raise InvitationInvalid()
        assert record.invitation is not None
        return grants.save_grant(
            record.bound_to(user_id),
            record,
            grants.token_delete(record.invitation.token_hash, must_exist=True),
            grants.link_put(record.bound_to(user_id), customer.name),
            grants.account_put(record.email, user_id),
            *extra,
        )

    def letter(self, record: Grant, token: str, *, firm: Firm | None, reminder: bool) -> EmailMessage | None:
        customer = self.file_of(record)
        if customer is None or record.invitation is None:
            return None
        return file_invitation_email(
            to=record.email,
            grantee_name=record.grantee_name,
            firm_name=firm.name if firm else "Your adviser",
            file_label=customer.name,
            level=record.level.value,
            link=file_invitation_link(self.ports.app_base_url, token),
            expires_at=record.invitation.expires_at,
            reminder=reminder,
        )

    def audit_op(self, record: Grant, actor_id: str, action: str, details: Mapping[str, Any]) -> TransactItem:
        event = access_event(
            self.ports, record.firm_id, record.file_id, actor_id, action, record.subject, details
        )
        return self.ports.audit.put_op(event)

    def audit_alone(self, record: Grant, actor_id: str, action: str, details: Mapping[str, Any]) -> None:
        event = access_event(
            self.ports, record.firm_id, record.file_id, actor_id, action, record.subject, details
        )
        self.ports.audit.record(event)

    def log_ref(self, record: Grant) -> dict[str, str]:
        return {"file_id": record.file_id, "subject_id": record.subject.subject_id}

    def file_of(self, grant: Grant) -> Customer | None:
        """The grant's client file (the customer), read once per use case."""
        key = (grant.firm_id, grant.file_id)
        known = self.customer
        if known is not None and (known.firm_id, known.customer_id) == key:
            return known
        if key not in self._files:
            self._files[key] = self.ports.customers.get(*key)
        return self._files[key]


def verify_file_invitation(ports: FileAccessPorts, token: str) -> FileInvitationCheck:
    """For the acceptance page, before signing in: a wrong, used or expired token gets one answer."""
    grant = invitations.verify(GranteeInvitee(ports), token)
    firm = ports.identities.get_firm(grant.firm_id)
    return FileInvitationCheck(firm_name=firm.name if firm else "", level=grant.level)


def accept_file_invitation(ports: FileAccessPorts, principal: Principal, token: str) -> MyFile:
    """Bind the grant to the signed-in person (signed in with the invited email); the token is
    consumed (single use, R-INV-2)."""
    kind = GranteeInvitee(ports)
    return _my_file(kind, invitations.accept(kind, principal, token))


def accept_file_invitation_with_new_account(ports: FileAccessPorts, token: str, password: str) -> MyFile:
    """No account yet: create the invited person's account with `password`, then accept."""
    kind = GranteeInvitee(ports)
    return _my_file(kind, invitations.accept_with_new_account(kind, token, password))


def send_due_file_reminders(ports: FileAccessPorts) -> dict[str, int]:
    """The daily run for grantee invitations: 7- and 30-day reminders once each (R-INV-4), expiry."""
    return invitations.send_due_reminders(GranteeInvitee(ports))


def _my_file(kind: GranteeInvitee, grant: Grant) -> MyFile:
    firm = kind.ports.identities.get_firm(grant.firm_id)
    customer = kind.file_of(grant)
    return MyFile(
        firm_id=grant.firm_id,
        firm_name=firm.name if firm else "",
        file_id=grant.file_id,
        file_label=customer.name if customer else "",
        kind=grantee_kind(grant),
        level=grant.level,
    )
