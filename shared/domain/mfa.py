"""Staff sign-in's second factor (R-ID-4): our record that a person enrolled an authenticator app.

The sign-in itself is the user pool's: once a person has a TOTP authenticator enabled and preferred
there, every sign-in asks for its code (Cognito's SOFTWARE_TOKEN_MFA challenge). The pool keeps MFA
optional, because customers and their families must not need an app; what makes it required for
staff is this record: until it exists, every staff route answers 403 `mfa_required`
(`shared/auth.py`), while `GET /me` and `POST /me/mfa/confirm` still answer, so the app can guide them.

The record cannot outlive the second factor: a person may switch TOTP off in the pool with their own
access token, so every token the pool issues (sign-in or refresh) is checked first (the pool's
pre token generation trigger, `functions/sign_in_check`): when the pool no longer asks for the code,
the record lapses. A firm admin may also reset a member's lost authenticator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.errors import Conflict, Forbidden

TOTP = "totp"  # the one method staff may enrol (an authenticator app; the pool offers no SMS)
ENROLLED = "staff.mfa_enrolled"  # the person confirmed it (in each firm they work for)
LAPSED = "staff.mfa_lapsed"  # a token was issued while the pool no longer asked for it (each firm)
RESET = "staff.mfa_reset"  # a firm admin reset a member's lost authenticator (the admin's firm)


class SignInCheck(StrEnum):
    """What the check made at each token issue (sign-in or refresh) found (`services/mfa.py`)."""

    NOT_ENROLLED = "not_enrolled"  # no record of ours (customers, staff still to enrol): nothing asked
    KEPT = "kept"  # the pool still asks for the TOTP code: nothing written
    LAPSED = "lapsed"  # our record removed, with its audit events: staff routes answer mfa_required
    CHANGED_MEANWHILE = "changed_meanwhile"  # the record changed under the check: left to that change


class LapseReason(StrEnum):
    TOTP_OFF = "totp_off"  # the pool says TOTP is no longer enabled and preferred
    POOL_UNREADABLE = "pool_unreadable"  # the pool could not say: fail closed (the person confirms again)


@dataclass(frozen=True)
class MfaEnrolment:
    """The person `user_id` confirmed, at `enrolled_at`, that their sign-in asks for a TOTP code."""

    user_id: str
    enrolled_at: datetime
    method: str = TOTP


class MfaRequired(Forbidden):
    code = "mfa_required"
    default_message = (
        "Set up an authenticator app for your sign-in, then confirm it (POST /me/mfa/confirm), "
        "before you reach the firm's data."
    )


class OwnMfaReset(Conflict):
    code = "own_mfa_reset"
    default_message = (
        "You cannot reset your own authenticator here: set up a new one with your sign-in, or ask "
        "another admin of the firm to reset it."
    )


class MfaNotSetUp(Conflict):
    code = "mfa_not_set_up"
    default_message = (
        "Your sign-in has no authenticator app enabled and preferred yet: set one up, then confirm again."
    )
