"""Invitations of grantees: checking and accepting one (single use, R-INV-2), the daily
reminders and expiry (R-INV-4), and the invitation email."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import cache

from shared.domain.customers import (
    NOT_DUE,
    REMINDER_AGES,
    Customer,
    InvitationStatus,
    hash_token,
)
from shared.domain.errors import Conflict, FileChanged, UpstreamUnavailable
from shared.domain.file_access import grantee_kind
from shared.domain.files import Grant
from shared.domain.identity import Firm, Principal, UserProfile
from shared.observability import logger, metrics
from shared.services.customer_invitations import InvitationInvalid
from shared.services.emails import file_invitation_email, file_invitation_link
from shared.services.file_access.access_log import _record
from shared.services.file_access.ports import FileAccessPorts, FileInvitationCheck, MyFile

SYSTEM_ACTOR = "system"


def verify_file_invitation(ports: FileAccessPorts, token: str) -> FileInvitationCheck:
    """For the acceptance page, before signing in: a wrong, used or expired token gets one answer."""
    grant = _grant_for_token(ports, token)
    firm = ports.identities.get_firm(grant.firm_id)
    return FileInvitationCheck(firm_name=firm.name if firm else "", level=grant.level)


def accept_file_invitation(ports: FileAccessPorts, principal: Principal, token: str) -> MyFile:
    """Bind the grant to the signed-in person; the token is consumed (single use, R-INV-2)."""
    grant = _grant_for_token(ports, token)
    if any(
        link.firm_id == grant.firm_id and link.file_id == grant.file_id
        for link in ports.grants.links_of(principal.user_id)
    ):
        raise Conflict("You already have access to this file.", code="already_has_access")
    customer = ports.customers.get(grant.firm_id, grant.file_id)
    if customer is None:
        raise InvitationInvalid()
    bound = grant.bound_to(principal.user_id)
    assert grant.invitation is not None
    extra = [
        ports.grants.token_delete(grant.invitation.token_hash, must_exist=True),
        ports.grants.link_put(bound, customer.name),
    ]
    # The grantee index maps the address the invitation went to (the token proves it), never the
    # sign-in claim, and never takes an address already mapped to someone else.
    extra.append(ports.grants.account_put(grant.email, principal.user_id))
    try:
        saved = ports.grants.save_grant(bound, grant, *extra)
    except FileChanged:  # used or changed meanwhile: the same answer as a used token
        raise InvitationInvalid() from None
    ports.identities.put_profile_if_absent(
        UserProfile(principal.user_id, principal.email, grant.grantee_name)
    )
    _record(ports, saved.firm_id, saved.file_id, principal.user_id, "access.accepted", saved.subject, {})
    firm = ports.identities.get_firm(saved.firm_id)
    return MyFile(
        firm_id=saved.firm_id,
        firm_name=firm.name if firm else "",
        file_id=saved.file_id,
        file_label=customer.name,
        kind=grantee_kind(saved),
        level=saved.level,
    )


def send_due_file_reminders(ports: FileAccessPorts) -> dict[str, int]:
    """The daily run for grantee invitations: 7- and 30-day reminders once each (R-INV-4), expiry."""
    now = ports.clock()
    outcome = {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}
    firm_of = cache(ports.identities.get_firm)  # one read per firm per run
    for ref in ports.grants.due_for_reminders(now.date().isoformat()):
        grant = ports.grants.get_grant(ref.firm_id, ref.file_id, ref.subject)
        if grant is None or grant.invitation is None:
            continue
        try:
            if (done := _remind_or_expire(ports, grant, now, firm_of)) != NOT_DUE:
                outcome[done] += 1
        except FileChanged:
            outcome["skipped"] += 1  # a concurrent run or change handled it
    for name, value in outcome.items():
        metrics.add_metric(name=f"FileInvitation{name.title().replace('_', '')}", unit="Count", value=value)
    return outcome


def _grant_for_token(ports: FileAccessPorts, token: str) -> Grant:
    if not token or len(token) > 256:
        raise InvitationInvalid()
    token_hash = hash_token(token)
    ref = ports.grants.find_by_token_hash(token_hash)
    grant = ports.grants.get_grant(ref.firm_id, ref.file_id, ref.subject) if ref else None
    if grant is None or not grant.invitation_usable(token_hash, ports.clock()):
        raise InvitationInvalid()
    return grant


def _remind_or_expire(
    ports: FileAccessPorts, grant: Grant, now: datetime, firm_of: Callable[[str], Firm | None]
) -> str:
    grants = ports.grants
    invitation = grant.invitation
    assert invitation is not None
    if invitation.status is InvitationStatus.SENT and now >= invitation.expires_at:
        expired = grants.save_grant(
            grant.expired(), grant, grants.token_delete(invitation.token_hash, must_exist=False)
        )
        _record(
            ports,
            grant.firm_id,
            grant.file_id,
            SYSTEM_ACTOR,
            "access.invitation_expired",
            expired.subject,
            {},
        )
        return "expired"
    firm = firm_of(grant.firm_id)
    age = invitation.reminder_due(now, firm.timezone if firm else "UTC")
    if age is None:
        return NOT_DUE
    # The conditional save is the claim: a second run or a retry finds the reminder sent. Every
    # reminder due by now counts as sent (a missed day-7 run sends one on day 31). We keep only
    # the token's hash, so the reminder carries a fresh token (same expiry) replacing the old one.
    sent = tuple(sorted({*invitation.reminders_sent, *(a for a in REMINDER_AGES if a <= age)}))
    token, fresh = grant.reinvited(invitation.sent_at)
    assert fresh.invitation is not None
    reminded = replace(fresh, invitation=replace(fresh.invitation, reminders_sent=sent))
    # Everything the email needs is read before the claim: once it is taken, only the send may
    # fail, and that releases it (a read failing in between would lose the reminder for good).
    customer = ports.customers.get(grant.firm_id, grant.file_id)
    if customer is None:  # the client file is gone: nothing to invite to
        return "skipped"
    refreshed = grants.save_grant(
        reminded,
        grant,
        grants.token_delete(invitation.token_hash, must_exist=False),
        grants.token_put(reminded),
    )
    try:
        _send_invitation(ports, customer, refreshed, token, reminder=True, firm=firm)
    except UpstreamUnavailable:
        # Not sent: release the claim (the fresh token stays) so the next run tries again.
        assert refreshed.invitation is not None
        released = replace(
            refreshed, invitation=replace(refreshed.invitation, reminders_sent=invitation.reminders_sent)
        )
        grants.save_grant(released, refreshed)
        return "failed"
    _record(
        ports,
        grant.firm_id,
        grant.file_id,
        SYSTEM_ACTOR,
        "access.invitation_reminded",
        grant.subject,
        {"days": age},
    )
    return "reminders_sent"


def _send_invitation(
    ports: FileAccessPorts,
    customer: Customer,
    grant: Grant,
    token: str,
    *,
    firm: Firm | None,
    reminder: bool = False,
) -> None:
    assert grant.invitation is not None
    message = file_invitation_email(
        to=grant.email,
        grantee_name=grant.grantee_name,
        firm_name=firm.name if firm else "Your adviser",
        file_label=customer.name,
        level=grant.level.value,
        link=file_invitation_link(ports.app_base_url, token),
        expires_at=grant.invitation.expires_at,
        reminder=reminder,
    )
    try:
        ports.email.send(message)
    except Exception as error:  # the error's type only: a provider's message may quote the address
        logger.error(
            "File invitation email failed",
            extra={
                "file_id": grant.file_id,
                "subject_id": grant.subject.subject_id,
                "error": type(error).__name__,
            },
        )
        raise UpstreamUnavailable(
            "The access was saved but the invitation could not be emailed; save the access again to resend.",
            code="email_not_sent",
        ) from None
