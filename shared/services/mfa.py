"""Staff sign-in's second factor (R-ID-4): confirming that a person's sign-in asks for a TOTP code.

The app enrols the authenticator with the user pool itself, with the person's own access token
(AssociateSoftwareToken, VerifySoftwareToken with a first code, SetUserMFAPreference: enabled and
preferred); from then on every sign-in answers Cognito's SOFTWARE_TOKEN_MFA challenge. Then it calls
`POST /me/mfa/confirm`: we ask the pool (never the request) whether TOTP is enabled and preferred,
and record it, with an audit event in every firm the person works for, in one transaction. That
record is what `shared/auth.py` reads before any staff route answers.

The record lapses when the pool stops asking for the code (`check_at_token_issue`, run by the pool's
pre token generation trigger before every token it issues, sign-ins and refreshes alike), and a firm
admin resets a member's lost authenticator (`reset_member_mfa`): both remove it with their audit
events in one transaction, so the person's staff routes answer 403 `mfa_required` until they set up an
authenticator and confirm again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.auth import FirmAction, active_memberships, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.audit import AuditEvent
from shared.domain.errors import Conflict, Forbidden, UpstreamUnavailable
from shared.domain.identity import Principal, StaffContext, StaffMembership
from shared.domain.mfa import (
    ENROLLED,
    LAPSED,
    RESET,
    LapseReason,
    MfaEnrolment,
    MfaNotSetUp,
    OwnMfaReset,
    SignInCheck,
)
from shared.ports.audit import AuditTrail
from shared.ports.directory import UserDirectory
from shared.ports.identity import IdentityStore
from shared.ports.storage import TransactItem
from shared.services.audit import event_by
from shared.services.staff import StaffPorts, active_member


@dataclass
class MfaPorts:
    identities: IdentityStore
    directory: UserDirectory
    audit: AuditTrail
    clock: Now = field(default=business_now)


def confirm_mfa(ports: MfaPorts, principal: Principal) -> MfaEnrolment:
    """Record that the caller's sign-in has a TOTP second factor, as the pool says. Staff only (a
    customer may enrol in the pool, but nothing of ours depends on it); repeating it changes nothing."""
    user_id = principal.user_id
    memberships = active_memberships(ports.identities, user_id)
    if not memberships:
        raise Forbidden("Only firm staff confirm a second factor here.", code="staff_only")
    if (existing := ports.identities.get_mfa_enrolment(user_id)) is not None:
        return existing
    if not ports.directory.totp_enabled(user_id):
        raise MfaNotSetUp()
    enrolment = MfaEnrolment(user_id, ports.clock())
    details = {"method": enrolment.method}
    events = _in_each_firm(ports, memberships, ENROLLED, details, enrolment.enrolled_at)
    if ports.identities.save_mfa_enrolment(enrolment, events):
        return enrolment
    if (concurrent := ports.identities.get_mfa_enrolment(user_id)) is not None:
        return concurrent  # another confirm of theirs was written first: theirs stands
    raise Conflict("Your confirmation met another change; try again.", code="concurrent_update")


def check_at_token_issue(ports: MfaPorts, user_id: str) -> SignInCheck:
    """Before the pool issues a token (a sign-in or a refresh): when our record says the person's
    sign-in has a TOTP second factor and the pool no longer asks for it (they switched it off with
    their own access token), the record is removed with a `staff.mfa_lapsed` event in each firm they
    work for, in one transaction. When the pool cannot say, the same (fail closed: confirming again
    asks the pool anew). A person without a record (every customer) costs one read of ours and
    nothing of the pool. The token itself is never refused here: what it may reach is decided by our
    records, on each request."""
    enrolment = ports.identities.get_mfa_enrolment(user_id)
    if enrolment is None:
        return SignInCheck.NOT_ENROLLED
    try:
        reason = None if ports.directory.totp_enabled(user_id) else LapseReason.TOTP_OFF
    except UpstreamUnavailable:
        reason = LapseReason.POOL_UNREADABLE
    if reason is None:
        return SignInCheck.KEPT
    details = {"method": enrolment.method, "reason": reason.value}
    memberships = active_memberships(ports.identities, user_id)
    events = _in_each_firm(ports, memberships, LAPSED, details, ports.clock())
    if ports.identities.remove_mfa_enrolment(enrolment, events):
        return SignInCheck.LAPSED
    return SignInCheck.CHANGED_MEANWHILE  # removed or confirmed again by a concurrent call: that stands


def reset_member_mfa(ports: StaffPorts, staff: StaffContext, user_id: str) -> bool:
    """A member's lost authenticator (admins; R-ID-4): our record removed with a `staff.mfa_reset`
    event in the admin's firm (one transaction), then TOTP switched off in the pool and the person
    signed out everywhere; they sign in with their password, set up a new authenticator and confirm
    it. An active member of the admin's firm only (anyone else is a 404), never the admin themselves
    (409 `own_mfa_reset`). Again: the pool is reset again (a retry after it failed), nothing else is
    written. True when a record of ours was removed."""
    authorize(staff, FirmAction.RESET_STAFF_MFA)
    if user_id == staff.principal.user_id:
        raise OwnMfaReset()
    active_member(ports.identities, staff.firm_id, user_id)
    removed = False
    if (enrolment := ports.identities.get_mfa_enrolment(user_id)) is not None:
        event = event_by(staff, ports.clock(), RESET, ("staff", user_id), {"method": enrolment.method})
        removed = ports.identities.remove_mfa_enrolment(enrolment, [ports.audit.put_op(event)])
    ports.directory.reset_totp(user_id)
    return removed


def _in_each_firm(
    ports: MfaPorts,
    memberships: list[StaffMembership],
    action: str,
    details: dict[str, Any],
    at: datetime,
) -> list[TransactItem]:
    """The person's own event about their second factor, in each firm they work for now."""
    return [
        ports.audit.put_op(
            AuditEvent(m.firm_id, m.user_id, action, "staff", m.user_id, details, occurred_at=at)
        )
        for m in memberships
    ]
