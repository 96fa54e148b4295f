"""Invite a customer, send again, revoke, verify and accept the invitation, remind (R-INV-1..4).

Every function takes its ports; none knows about Lambda, HTTP or environment variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.domain.customers import (
    NOT_DUE,
    REMINDER_AGES,
    Customer,
    InvitationStatus,
    hash_token,
    issue_invitation,
    normalise_email,
)
from shared.domain.errors import ConcurrentChange, Conflict, NotFound, UpstreamUnavailable
from shared.domain.identity import CustomerLink, Firm, Principal, StaffContext, UserProfile
from shared.observability import logger, metrics
from shared.services.customers import OnboardingPorts, audit_customer, visible_customer
from shared.services.emails import invitation_email, invitation_link

SYSTEM_ACTOR = "system"


class InvitationInvalid(NotFound):
    """One answer for a wrong, used, expired or revoked token: it reveals nothing (R-INV-2)."""

    code = "invitation_invalid"
    default_message = "This invitation link is not valid. Ask your adviser to send a new one."


@dataclass(frozen=True)
class InviteOutcome:
    customer: Customer
    created: bool  # False: an invitation to this email existed and was sent again (R-INV-3)


# invitations ---------------------------------------------------------------------------------
def invite_customer(
    ports: OnboardingPorts, staff: StaffContext, *, name: str, email: str, message: str | None
) -> InviteOutcome:
    authorize(staff, FirmAction.INVITE_CUSTOMER)
    existing = ports.customers.find_by_email(staff.firm_id, email)
    if existing is not None:
        if existing.has_accepted:
            raise Conflict("This person is already a customer of your firm.", code="customer_already_active")
        if not existing.visible_to(staff.principal.user_id, staff.is_admin):
            raise Conflict("A colleague has already invited this person.", code="invited_by_colleague")
        return InviteOutcome(_send_again(ports, staff, existing, message), created=False)
    now = ports.clock()
    token, invitation = issue_invitation(now, message)
    customer = Customer(
        firm_id=staff.firm_id,
        customer_id=str(ULID.from_datetime(now)),
        name=name.strip(),
        email=normalise_email(email),
        owner_id=staff.principal.user_id,
        created_at=now,
        invitation=invitation,
    )
    try:
        customer = ports.customers.save(
            customer, None, ports.customers.email_claim(customer), ports.customers.token_put(customer)
        )
    except ConcurrentChange:
        # Another request invited the same email at the same moment: that one won.
        raise Conflict("This person was invited a moment ago.", code="already_invited") from None
    _send_invitation(ports, customer, token, firm=ports.identities.get_firm(customer.firm_id))
    audit_customer(ports, staff.principal.user_id, customer, "invitation.sent")
    metrics.add_metric(name="InvitationsSent", unit="Count", value=1)
    return InviteOutcome(customer, created=True)


def resend_invitation(ports: OnboardingPorts, staff: StaffContext, customer_id: str) -> Customer:
    authorize(staff, FirmAction.INVITE_CUSTOMER)
    return _send_again(ports, staff, visible_customer(ports, staff, customer_id), None)


def revoke_invitation(ports: OnboardingPorts, staff: StaffContext, customer_id: str) -> Customer:
    authorize(staff, FirmAction.INVITE_CUSTOMER)
    customer = visible_customer(ports, staff, customer_id)
    if customer.has_accepted:
        raise Conflict("The customer already accepted this invitation.", code="invitation_already_accepted")
    revoked = replace(customer, invitation=replace(customer.invitation, status=InvitationStatus.REVOKED))
    saved = ports.customers.save(revoked, customer, _token_delete(ports, customer))
    audit_customer(ports, staff.principal.user_id, saved, "invitation.revoked")
    return saved


def verify_invitation(ports: OnboardingPorts, token: str) -> str:
    """The inviting firm's name, for the acceptance page. No sign-in needed to check a token."""
    customer = _customer_for_token(ports, token)
    firm = ports.identities.get_firm(customer.firm_id)
    return firm.name if firm else ""


def accept_invitation(ports: OnboardingPorts, principal: Principal, token: str) -> Customer:
    """Bind the invited customer to the signed-in person; the token is consumed (single use)."""
    customer = _customer_for_token(ports, token)
    now = ports.clock()
    link = CustomerLink(customer.firm_id, customer.customer_id)
    try:
        accepted = ports.customers.save(
            customer.accepted_by(principal.user_id, now),
            customer,
            ports.customers.token_delete(customer.invitation.token_hash),
            ports.identities.customer_link_op(principal.user_id, link),
        )
    except ConcurrentChange:
        raise InvitationInvalid() from None
    ports.identities.put_profile_if_absent(UserProfile(principal.user_id, principal.email, customer.name))
    audit_customer(ports, principal.user_id, accepted, "invitation.accepted")
    return accepted


def send_due_reminders(ports: OnboardingPorts) -> dict[str, int]:
    """The daily run: 7- and 30-day reminders, once each whatever the runs (R-INV-4), and expiry."""
    now = ports.clock()
    outcome = {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}
    firm_of = cache(ports.identities.get_firm)  # one read per firm per run
    for firm_id, customer_id in ports.customers.due_for_reminders(now.date().isoformat()):
        customer = ports.customers.get(firm_id, customer_id)
        if customer is None:
            continue
        try:
            if (done := _remind_or_expire(ports, customer, now, firm_of)) != NOT_DUE:
                outcome[done] += 1
        except ConcurrentChange:
            outcome["skipped"] += 1  # a concurrent run or change handled it
    for name, value in outcome.items():
        metrics.add_metric(name=f"Invitation{name.title().replace('_', '')}", unit="Count", value=value)
    return outcome


def _remind_or_expire(
    ports: OnboardingPorts, customer: Customer, now: datetime, firm_of: Callable[[str], Firm | None]
) -> str:
    invitation = customer.invitation
    if invitation.status is InvitationStatus.SENT and now >= invitation.expires_at:
        expired = replace(customer, invitation=replace(invitation, status=InvitationStatus.EXPIRED))
        ports.customers.save(expired, customer, _token_delete(ports, customer))
        audit_customer(ports, SYSTEM_ACTOR, expired, "invitation.expired")
        return "expired"
    firm = firm_of(customer.firm_id)
    age = invitation.reminder_due(now, firm.timezone if firm else "UTC")
    if age is None:
        return NOT_DUE
    # Every reminder due by now counts as sent: after a missed day-7 run, day 31 sends only one.
    # We keep only the token's hash, so the reminder carries a fresh token (same expiry) that
    # replaces the old one once the email is sent. The conditional save is the claim: a second
    # run or a retry finds the reminder already sent.
    sent = tuple(sorted({*invitation.reminders_sent, *(a for a in REMINDER_AGES if a <= age)}))
    token, fresh = issue_invitation(invitation.sent_at, invitation.message)
    reminded = replace(customer, invitation=replace(fresh, reminders_sent=sent))
    # Everything the email needs is read before the claim: once it is taken, only the send may
    # fail, and that releases it (a read failing in between would lose the reminder for good).
    refreshed = ports.customers.save(reminded, customer, ports.customers.token_put(reminded))
    try:
        _send_invitation(ports, refreshed, token, reminder=True, firm=firm)
    except UpstreamUnavailable:
        # Not sent: put everything back (the link already emailed keeps working) so that the
        # next run tries again.
        ports.customers.save(
            replace(refreshed, invitation=invitation), refreshed, _token_delete(ports, refreshed)
        )
        return "failed"
    ports.customers.transact([_token_delete(ports, customer)])  # the previous link stops working now
    audit_customer(ports, SYSTEM_ACTOR, refreshed, "invitation.reminded", {"days": age})
    return "reminders_sent"


# helpers -------------------------------------------------------------------------------------
def _send_again(
    ports: OnboardingPorts, staff: StaffContext, customer: Customer, message: str | None
) -> Customer:
    if customer.has_accepted:
        raise Conflict("The customer already accepted the invitation.", code="invitation_already_accepted")
    token, reinvited = customer.reinvited(ports.clock(), message)
    saved = ports.customers.save(
        reinvited, customer, _token_delete(ports, customer), ports.customers.token_put(reinvited)
    )
    _send_invitation(ports, saved, token, firm=ports.identities.get_firm(saved.firm_id))
    audit_customer(ports, staff.principal.user_id, saved, "invitation.resent")
    return saved


def _token_delete(ports: OnboardingPorts, customer: Customer) -> dict:
    """Remove the current token, whether or not it is still there (it may have expired away)."""
    operation = ports.customers.token_delete(customer.invitation.token_hash)
    operation["Delete"].pop("ConditionExpression")
    return operation


def _customer_for_token(ports: OnboardingPorts, token: str) -> Customer:
    if not token or len(token) > 256:
        raise InvitationInvalid()
    token_hash = hash_token(token)
    found = ports.customers.find_by_token_hash(token_hash)
    customer = ports.customers.get(*found) if found else None
    if (
        customer is None
        or customer.invitation.token_hash != token_hash
        or not customer.invitation.is_usable(ports.clock())
    ):
        raise InvitationInvalid()
    return customer


def _send_invitation(
    ports: OnboardingPorts,
    customer: Customer,
    token: str,
    *,
    firm: Firm | None,
    reminder: bool = False,
) -> None:
    message = invitation_email(
        to=customer.email,
        customer_name=customer.name,
        firm_name=firm.name if firm else "Your adviser",
        message=customer.invitation.message,
        link=invitation_link(ports.app_base_url, token),
        expires_at=customer.invitation.expires_at,
        reminder=reminder,
    )
    try:
        ports.email.send(message)
    except Exception as error:  # the type only: a provider's message may quote the address
        logger.error(
            "Invitation email failed",
            extra={"customer_id": customer.customer_id, "error_type": type(error).__name__},
        )
        raise UpstreamUnavailable(
            "The invitation was saved but the email could not be sent; resend it.", code="email_not_sent"
        ) from None
