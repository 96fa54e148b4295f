"""Port: the user directory people sign in through (Cognito's user pool; locally the same pool on
moto). Our records say who belongs to which firm with which role; the directory only holds the
sign-in identity (`sub`, verified email, password, MFA) and can switch it off.

What services need from it; `shared/adapters/cognito.py` implements it, tests may fake it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str  # the pool's `sub`: the identity our records key on
    email: str  # verified
    enabled: bool


class UserDirectory(Protocol):
    """Accounts in the user pool. Nobody gets one but through a live invitation (self sign-up is
    off): `create_user` is called only by an invitation's acceptance."""

    def find_by_email(self, email: str) -> DirectoryUser | None:
        """The user whose verified email this is (emails are unique in the pool), if any."""
        ...

    def create_user(self, email: str, password: str) -> DirectoryUser:
        """A confirmed user with a verified email and a permanent password; no email is sent by
        the directory (our invitation was the message). Raises `InvalidRequest` with code
        `weak_password` when the pool's password policy refuses it, `Conflict` with code
        `account_exists` when the email already has a user."""
        ...

    def delete_user(self, user_id: str) -> None:
        """Remove a user just created for an invitation that could not be bound after all."""
        ...

    def disable_user(self, user_id: str) -> None:
        """The user can no longer sign in, and every session they have is signed out (their
        refresh tokens are revoked; access tokens already issued lapse within the hour and our
        own records refuse them at once)."""
        ...

    def enable_user(self, user_id: str) -> None: ...

    def totp_enabled(self, user_id: str) -> bool:
        """Whether the user's sign-in asks for a TOTP code: an authenticator app verified, enabled
        and preferred for them (what they set with their own access token: AssociateSoftwareToken,
        VerifySoftwareToken, SetUserMFAPreference). Raises `UpstreamUnavailable` when the pool
        cannot say."""
        ...

    def reset_totp(self, user_id: str) -> None:
        """A lost authenticator: TOTP switched off for the user (their next sign-in asks for the
        password alone, and they set up a new app) and every session they have signed out (refresh
        tokens revoked). Doing it again changes nothing."""
        ...
