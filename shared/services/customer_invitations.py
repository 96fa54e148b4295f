"""Invite a customer, send again, revoke, verify and accept the invitation, remind (R-INV-1..4).

The steps are the one invitation lifecycle (`shared/services/invitations.py`); what is a customer's
own is here: the `Customer` record carries the invitation (`CustomerInvitee`), accepting links the
person to the customer, the email invites them to share their bank data, and one customer per
email in a firm (R-INV-3). Every function takes its ports; none knows about Lambda, HTTP or
environment variables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.domain.customers import Customer, Invitation, normalise_email
from shared.domain.email import EmailMessage
from shared.domain.errors import ConcurrentChange, Conflict
from shared.domain.identity import CustomerLink, Firm, Principal, StaffContext
from shared.observability import metrics
from shared.ports.firm_bound import bind_ports
from shared.ports.storage import TransactItem
from shared.services import invitations
from shared.services.customers import OnboardingPorts, changeable_customer, customer_event
from shared.services.emails import invitation_email, invitation_link
from shared.services.invitations import Events, RecordStore
from shared.services.invitations import InvitationInvalid as InvitationInvalid
from shared.services.staff_notifications import invitation_accepted

CUSTOMER_EVENTS = Events.prefixed("invitation.")


@dataclass(frozen=True)
class InviteOutcome:
    customer: Customer
    created: bool  # False: an invitation to this email existed and was sent again (R-INV-3)


@dataclass(frozen=True)
class CustomerInvitee:
    """The customer kind of invitee: the `Customer` carries its invitation (an `InvitationKind`)."""

    ports: OnboardingPorts
    events = CUSTOMER_EVENTS
    metric_prefix = "Invitation"
    not_sent = "The invitation was saved but the email could not be sent; resend it."
    concurrent = ConcurrentChange

    def find(self, token_hash: str) -> Customer | None:
        found = self.ports.customers.find_by_token_hash(token_hash)
        return self.ports.customers.get(*found) if found else None

    def due(self, today: str) -> Iterator[Customer]:
        for firm_id, customer_id in self.ports.customers.due_for_reminders(today):
            if (customer := self.ports.customers.get(firm_id, customer_id)) is not None:
                yield customer

    @property
    def store(self) -> RecordStore[Customer]:
        customers = self.ports.customers
        return RecordStore(customers.save, customers.token_put, self._token_drop, customers.transact)

    def _token_drop(self, token_hash: str) -> TransactItem:
        operation = self.ports.customers.token_delete(token_hash)
        operation["Delete"].pop("ConditionExpression")
        return operation

    def invitation(self, record: Customer) -> Invitation:
        return record.invitation

    def with_invitation(self, record: Customer, invitation: Invitation) -> Customer:
        return replace(record, invitation=invitation)

    def invitee_name(self, record: Customer) -> str:
        return record.name

    def bind(self, record: Customer, user_id: str, *extra: TransactItem) -> Customer:
        """Accepting makes the person this firm's customer (their link to it)."""
        link = CustomerLink(record.firm_id, record.customer_id)
        return self.ports.customers.save(
            record.accepted_by(user_id, self.ports.clock()),
            record,
            self.ports.customers.token_delete(record.invitation.token_hash),
            self.ports.identities.customer_link_op(user_id, link),
            *extra,
        )

    def letter(self, record: Customer, token: str, *, firm: Firm | None, reminder: bool) -> EmailMessage:
        return invitation_email(
            to=record.email,
            customer_name=record.name,
            firm_name=firm.name if firm else "Your adviser",
            message=record.invitation.message,
            link=invitation_link(self.ports.app_base_url, token),
            expires_at=record.invitation.expires_at,
            reminder=reminder,
        )

    def audit_op(
        self, record: Customer, actor_id: str, action: str, details: Mapping[str, Any]
    ) -> TransactItem:
        return self.ports.audit.put_op(customer_event(self.ports, actor_id, record, action, dict(details)))

    def audit_alone(self, record: Customer, actor_id: str, action: str, details: Mapping[str, Any]) -> None:
        self.ports.audit.record(customer_event(self.ports, actor_id, record, action, dict(details)))

    def log_ref(self, record: Customer) -> dict[str, str]:
        return {"customer_id": record.customer_id}


# invitations ---------------------------------------------------------------------------------
def invite_customer(
    ports: OnboardingPorts, staff: StaffContext, *, name: str, email: str, message: str | None
) -> InviteOutcome:
    authorize(staff, FirmAction.INVITE_CUSTOMER)
    existing = ports.customers.find_by_email(staff.firm_id, email)
    if existing is not None:
        existing.check_open()  # an ended relationship's email stays the firm's record until erased
        if existing.has_accepted:
            raise Conflict("This person is already a customer of your firm.", code="customer_already_active")
        if not existing.visible_to(staff.principal.user_id, staff.is_admin):
            raise Conflict("A colleague has already invited this person.", code="invited_by_colleague")
        return InviteOutcome(_send_again(ports, staff, existing, message), created=False)
    now = ports.clock()

    def invited(invitation: Invitation) -> Customer:
        return Customer(
            firm_id=staff.firm_id,
            customer_id=str(ULID.from_datetime(now)),
            name=name.strip(),
            email=normalise_email(email),
            owner_id=staff.principal.user_id,
            created_at=now,
            invitation=invitation,
        )

    try:
        customer = invitations.issue(
            CustomerInvitee(ports),
            invited,
            None,
            actor_id=staff.principal.user_id,
            message=message,
            also_write=lambda customer: [ports.customers.email_claim(customer)],
        )
    except ConcurrentChange:
        # Another request invited the same email at the same moment: that one won.
        raise Conflict("This person was invited a moment ago.", code="already_invited") from None
    metrics.add_metric(name="InvitationsSent", unit="Count", value=1)
    return InviteOutcome(customer, created=True)


def resend_invitation(ports: OnboardingPorts, staff: StaffContext, customer_id: str) -> Customer:
    authorize(staff, FirmAction.INVITE_CUSTOMER)
    return _send_again(ports, staff, changeable_customer(ports, staff, customer_id), None)


def revoke_invitation(ports: OnboardingPorts, staff: StaffContext, customer_id: str) -> Customer:
    authorize(staff, FirmAction.INVITE_CUSTOMER)
    customer = changeable_customer(ports, staff, customer_id)
    _not_accepted(customer)
    return invitations.revoke(CustomerInvitee(ports), customer, actor_id=staff.principal.user_id)


def verify_invitation(ports: OnboardingPorts, token: str) -> str:
    """The inviting firm's name, for the acceptance page. No sign-in needed to check a token."""
    customer = invitations.verify(CustomerInvitee(ports), token)
    firm = ports.identities.get_firm(customer.firm_id)
    return firm.name if firm else ""


def accept_invitation(ports: OnboardingPorts, principal: Principal, token: str) -> Customer:
    """Bind the invited customer to the signed-in person (signed in with the invited email); the
    token is consumed (single use). The customer's owner and advisers are told."""
    return _accepted(ports, invitations.accept(CustomerInvitee(ports), principal, token))


def accept_invitation_with_new_account(ports: OnboardingPorts, token: str, password: str) -> Customer:
    """No account yet: create the invited person's account with `password`, then accept."""
    return _accepted(ports, invitations.accept_with_new_account(CustomerInvitee(ports), token, password))


def send_due_reminders(ports: OnboardingPorts) -> dict[str, int]:
    """The daily run: 7- and 30-day reminders, once each whatever the runs (R-INV-4), and expiry."""
    return invitations.send_due_reminders(CustomerInvitee(ports))


def _accepted(ports: OnboardingPorts, customer: Customer) -> Customer:
    invitation_accepted(bind_ports(ports.staff_notices, customer.firm_id), customer)
    return customer


def _send_again(
    ports: OnboardingPorts, staff: StaffContext, customer: Customer, message: str | None
) -> Customer:
    _not_accepted(customer)
    return invitations.resend(
        CustomerInvitee(ports), customer, actor_id=staff.principal.user_id, message=message
    )


def _not_accepted(customer: Customer) -> None:
    if customer.has_accepted:
        raise Conflict("The customer already accepted the invitation.", code="invitation_already_accepted")
