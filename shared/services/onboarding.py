"""Invite a customer, remind, accept, review shared accounts, browse (R-INV-1..7, R-ROLE-1..3).

Every function takes its ports; none knows about Lambda, HTTP or environment variables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.accounts import AccountStatus, Decision, SharedAccount
from shared.domain.audit import AuditEvent
from shared.domain.customers import (
    NOT_DUE,
    REMINDER_AGES,
    Customer,
    InvitationStatus,
    Section,
    hash_token,
    issue_invitation,
    normalise_email,
)
from shared.domain.email import EmailSender
from shared.domain.errors import ConcurrentChange, Conflict, NotFound, UpstreamUnavailable
from shared.domain.identity import CustomerLink, Firm, Principal, StaffContext, UserProfile
from shared.domain.notifications import Notification
from shared.observability import logger, metrics
from shared.ports.accounts import AccountStore, TransactionPage
from shared.ports.audit import AuditTrail
from shared.ports.customers import CustomerPage, CustomerStore
from shared.ports.identity import IdentityStore
from shared.ports.notifications import NotificationStore
from shared.services.emails import account_decision_email, invitation_email, invitation_link

SYSTEM_ACTOR = "system"


class InvitationInvalid(NotFound):
    """One answer for a wrong, used, expired or revoked token: it reveals nothing (R-INV-2)."""

    code = "invitation_invalid"
    default_message = "This invitation link is not valid. Ask your adviser to send a new one."


@dataclass
class OnboardingPorts:
    customers: CustomerStore
    accounts: AccountStore
    identities: IdentityStore
    notifications: NotificationStore
    audit: AuditTrail
    email: EmailSender
    app_base_url: str
    clock: Now = field(default=business_now)


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
    _audit(ports, staff.principal.user_id, customer, "invitation.sent")
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
    _audit(ports, staff.principal.user_id, saved, "invitation.revoked")
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
    _audit(ports, principal.user_id, accepted, "invitation.accepted")
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
        _audit(ports, SYSTEM_ACTOR, expired, "invitation.expired")
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
    _audit(ports, SYSTEM_ACTOR, refreshed, "invitation.reminded", {"days": age})
    return "reminders_sent"


# dashboard and browsing ----------------------------------------------------------------------
def list_customers(
    ports: OnboardingPorts,
    staff: StaffContext,
    *,
    section: Section,
    search: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[CustomerPage, dict[str, int]]:
    authorize(staff, FirmAction.VIEW_CUSTOMERS)
    scope = None if staff.is_admin else staff.principal.user_id
    page = ports.customers.list_section(
        staff.firm_id, section, staff_id=scope, search=search, cursor=cursor, limit=limit
    )
    return page, ports.customers.counts(staff.firm_id, scope)


def visible_customer(ports: OnboardingPorts, staff: StaffContext, customer_id: str) -> Customer:
    """The customer if this staff member may see it; otherwise exactly like a missing one (R-ROLE-1/2)."""
    authorize(staff, FirmAction.VIEW_CUSTOMERS)
    customer = ports.customers.get(staff.firm_id, customer_id)
    if customer is None or not customer.visible_to(staff.principal.user_id, staff.is_admin):
        raise NotFound()
    return customer


def list_shared_accounts(
    ports: OnboardingPorts, staff: StaffContext, customer_id: str
) -> list[SharedAccount]:
    """New and connected accounts; declined ones are gone from the firm's view (R-INV-6)."""
    visible_customer(ports, staff, customer_id)
    accounts = ports.accounts.list_for_customer(staff.firm_id, customer_id)
    return [account for account in accounts if account.status is not AccountStatus.DECLINED]


def list_transactions(
    ports: OnboardingPorts,
    staff: StaffContext,
    customer_id: str,
    *,
    account_id: str | None,
    date_from: date | None,
    date_to: date | None,
    cursor: str | None,
    limit: int,
) -> TransactionPage:
    visible_customer(ports, staff, customer_id)
    if account_id is not None:
        account = ports.accounts.get(staff.firm_id, customer_id, account_id)
        if account is None or account.status is not AccountStatus.ACCEPTED:
            raise NotFound()
    return ports.accounts.list_transactions(
        staff.firm_id,
        customer_id,
        account_id=account_id,
        date_from=date_from,
        date_to=date_to,
        cursor=cursor,
        limit=limit,
    )


# shared accounts -----------------------------------------------------------------------------
def offer_accounts(
    ports: OnboardingPorts, firm_id: str, customer_id: str, accounts: list[SharedAccount]
) -> int:
    """Accounts a connection discovered become New accounts of the firm (R-INV-5), once each.

    An account offered before (the same id, or the same bank account reached through another
    connection: same identity key) keeps its id, status and review, so a declined account stays
    declined; only where it is reached (connection, provider id) is brought up to date. Returns
    how many accounts are new.
    """
    customer = ports.customers.get(firm_id, customer_id)
    if customer is None:
        raise NotFound()
    stored = ports.accounts.list_for_customer(firm_id, customer_id)
    known = {account.account_id: account for account in stored}
    # Identity keys that name one account only (two look-alikes sharing one are matched by id).
    stored_keys = Counter(a.identity_key for a in stored if a.identity_key)
    incoming = Counter(a.identity_key for a in accounts if a.identity_key)
    by_identity = {
        a.identity_key: a
        for a in stored
        if a.identity_key and stored_keys[a.identity_key] == incoming[a.identity_key] == 1
    }
    fresh: list[SharedAccount] = []
    moved: list[SharedAccount] = []
    for account in accounts:
        previous = (by_identity.get(account.identity_key) if account.identity_key else None) or known.get(
            account.account_id
        )
        if previous is None:
            fresh.append(replace(account, status=AccountStatus.NEW))
            continue
        reached = replace(
            previous,
            provider_account_id=account.provider_account_id,
            connection_id=account.connection_id,
            identity_key=previous.identity_key or account.identity_key,
        )
        if reached != previous:
            moved.append(reached)
    operations = [ports.accounts.put_op(account, expected_status=None) for account in fresh]
    operations += [ports.accounts.put_op(account, expected_status=account.status) for account in moved]
    if operations:
        ports.customers.save(
            replace(customer, new_accounts=customer.new_accounts + len(fresh)), customer, *operations
        )
    return len(fresh)


def review_account(
    ports: OnboardingPorts, staff: StaffContext, customer_id: str, account_id: str, decision: Decision
) -> SharedAccount:
    """Accept (imported from now on) or decline (hidden, never imported) a new account (R-INV-6)."""
    authorize(staff, FirmAction.REVIEW_ACCOUNTS)
    customer = visible_customer(ports, staff, customer_id)
    account = ports.accounts.get(staff.firm_id, customer_id, account_id)
    if account is None or account.status is AccountStatus.DECLINED:
        raise NotFound()
    if account.status is not AccountStatus.NEW:
        raise Conflict("This account was already reviewed.", code="account_already_reviewed")
    accepted = decision is Decision.ACCEPT
    now = ports.clock()
    reviewed = replace(
        account,
        status=AccountStatus.ACCEPTED if accepted else AccountStatus.DECLINED,
        reviewed_by=staff.principal.user_id,
        reviewed_at=now,
    )
    ports.customers.save(
        replace(
            customer,
            new_accounts=customer.new_accounts - 1,
            accepted_accounts=customer.accepted_accounts + (1 if accepted else 0),
        ),
        customer,
        ports.accounts.put_op(reviewed, expected_status=AccountStatus.NEW),
    )
    _notify_decision(ports, customer, reviewed, accepted, now)
    _audit(
        ports,
        staff.principal.user_id,
        customer,
        f"account.{'accepted' if accepted else 'declined'}",
        {"account_id": account_id},
        target=("account", account_id),
    )
    return reviewed


def link_account(
    ports: OnboardingPorts, staff: StaffContext, customer_id: str, account_id: str, ledger_account: str | None
) -> SharedAccount:
    """R-CON-4: link a connected account to one of the firm's ledger accounts (or undo, admins only)."""
    authorize(staff, FirmAction.LINK_ACCOUNT if ledger_account else FirmAction.UNLINK_ACCOUNT)
    customer = visible_customer(ports, staff, customer_id)
    accounts = ports.accounts.list_for_customer(staff.firm_id, customer_id)
    account = next((a for a in accounts if a.account_id == account_id), None)
    if account is None or account.status is AccountStatus.DECLINED:
        raise NotFound()
    if account.status is not AccountStatus.ACCEPTED:
        raise Conflict("Accept the account before linking it.", code="account_not_connected")
    if ledger_account and account.ledger_account:
        raise Conflict(
            "This account is already linked; a firm admin can undo the link.", code="account_already_linked"
        )
    if ledger_account and any(a.ledger_account == ledger_account for a in accounts):
        raise Conflict(
            "That ledger account is already linked to another account.", code="ledger_account_taken"
        )
    linked = replace(account, ledger_account=ledger_account)
    ports.customers.save(
        customer, customer, ports.accounts.put_op(linked, expected_status=AccountStatus.ACCEPTED)
    )
    _audit(
        ports,
        staff.principal.user_id,
        customer,
        f"account.{'linked' if ledger_account else 'unlinked'}",
        {"account_id": account_id},
        target=("account", account_id),
    )
    return linked


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
    _audit(ports, staff.principal.user_id, saved, "invitation.resent")
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


def _notify_decision(
    ports: OnboardingPorts, customer: Customer, account: SharedAccount, accepted: bool, now: datetime
) -> None:
    if customer.user_id is None:
        return
    firm = ports.identities.get_firm(customer.firm_id)
    firm_name = firm.name if firm else "Your adviser"
    label = f"{account.name} ({account.masked_identifier})"
    email = account_decision_email(
        to=customer.email,
        customer_name=customer.name,
        firm_name=firm_name,
        account_label=label,
        accepted=accepted,
    )
    ports.notifications.add(
        Notification(
            user_id=customer.user_id,
            notification_id=str(ULID.from_datetime(now)),
            kind=f"account.{'accepted' if accepted else 'declined'}",
            title=email.subject,
            body=email.text.split("\n\n", 1)[-1],
            created_at=now,
            firm_id=customer.firm_id,
        )
    )
    try:
        ports.email.send(email)
    except Exception as error:  # the decision stands; the in-app notification carries it
        logger.error(
            "Decision email failed",
            extra={"customer_id": customer.customer_id, "error_type": type(error).__name__},
        )


def _audit(
    ports: OnboardingPorts,
    actor_id: str,
    customer: Customer,
    action: str,
    details: dict | None = None,
    target: tuple[str, str] | None = None,
) -> None:
    target_type, target_id = target or ("customer", customer.customer_id)
    ports.audit.record(
        AuditEvent(
            firm_id=customer.firm_id,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details or {},
            customer_id=customer.customer_id,
            occurred_at=ports.clock(),
        )
    )
