"""Staff sign-in's second factor (R-ID-4): our record that a person enrolled an authenticator app.

The sign-in itself is the user pool's: once a person has a TOTP authenticator enabled and preferred
there, every sign-in asks for its code (Cognito's SOFTWARE_TOKEN_MFA challenge). The pool keeps MFA
optional, because customers and their families must not need an app; what makes it required for
staff is this record: until it exists, every staff route answers 403 `mfa_required`
(`shared/auth.py`), while `GET /me` and `POST /me/mfa/confirm` still answer, so the app can guide them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.errors import Conflict, Forbidden

TOTP = "totp"  # the one method staff may enrol (an authenticator app; the pool offers no SMS)


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


class MfaNotSetUp(Conflict):
    code = "mfa_not_set_up"
    default_message = (
        "Your sign-in has no authenticator app enabled and preferred yet: set one up, then confirm again."
    )
