"""Staff sign-in's second factor (R-ID-4): confirming that a person's sign-in asks for a TOTP code.

The app enrols the authenticator with the user pool itself, with the person's own access token
(AssociateSoftwareToken, VerifySoftwareToken with a first code, SetUserMFAPreference: enabled and
preferred); from then on every sign-in answers Cognito's SOFTWARE_TOKEN_MFA challenge. Then it calls
`POST /me/mfa/confirm`: we ask the pool (never the request) whether TOTP is enabled and preferred,
and record it, with an audit event in every firm the person works for, in one transaction. That
record is what `shared/auth.py` reads before any staff route answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.auth import active_memberships
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.audit import AuditEvent
from shared.domain.errors import Conflict, Forbidden
from shared.domain.identity import Principal
from shared.domain.mfa import MfaEnrolment, MfaNotSetUp
from shared.ports.audit import AuditTrail
from shared.ports.directory import UserDirectory
from shared.ports.identity import IdentityStore


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
    events = [
        ports.audit.put_op(
            AuditEvent(
                m.firm_id,
                user_id,
                "staff.mfa_enrolled",
                "staff",
                user_id,
                {"method": enrolment.method},
                occurred_at=enrolment.enrolled_at,
            )
        )
        for m in memberships
    ]
    if ports.identities.save_mfa_enrolment(enrolment, events):
        return enrolment
    if (concurrent := ports.identities.get_mfa_enrolment(user_id)) is not None:
        return concurrent  # another confirm of theirs was written first: theirs stands
    raise Conflict("Your confirmation met another change; try again.", code="concurrent_update")
