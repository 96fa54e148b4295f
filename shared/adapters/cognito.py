"""The user directory on Cognito's user pool (`cognito-idp`), the same calls locally on moto.

The pool signs people in with their email (`UsernameAttributes: email`, infra/spec.py `USER_POOL`):
each user's `Username` is the `sub` Cognito generated, so the admin calls take `user_id` (our records'
key) as the username. Emails are stored and looked up normalised (trimmed, lower case), as our
invitations store them.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.aws_clients import aws_client
from shared.domain.errors import Conflict, InvalidRequest, UpstreamUnavailable
from shared.ports.directory import DirectoryUser

SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"  # noqa: S105 - Cognito's name for TOTP, not a password
WEAK_PASSWORD_CODE = "weak_password"  # noqa: S105 - an error code, not a password
ACCOUNT_EXISTS_CODE = "account_exists"


class CognitoDirectory:
    def __init__(self, user_pool_id: str):
        self._user_pool_id = user_pool_id

    @property
    def _cognito(self) -> Any:
        return aws_client("cognito-idp")

    def find_by_email(self, email: str) -> DirectoryUser | None:
        found = self._cognito.list_users(
            UserPoolId=self._user_pool_id, Filter=email_filter(normalised(email)), Limit=2
        )["Users"]
        return _directory_user(found[0]) if found else None

    def create_user(self, email: str, password: str) -> DirectoryUser:
        user = self._admin_create(normalised(email))
        try:
            self._cognito.admin_set_user_password(
                UserPoolId=self._user_pool_id, Username=user.user_id, Password=password, Permanent=True
            )
        except ClientError as error:
            # No half-created user stays behind: the next attempt (a stronger password) starts afresh.
            self.delete_user(user.user_id)
            if _code(error) == "InvalidPasswordException":
                raise _weak_password(error) from error
            raise
        return user

    def _admin_create(self, address: str) -> DirectoryUser:
        try:
            created = self._cognito.admin_create_user(
                UserPoolId=self._user_pool_id,
                Username=address,
                UserAttributes=[
                    {"Name": "email", "Value": address},
                    {"Name": "email_verified", "Value": "true"},
                ],
                MessageAction="SUPPRESS",  # our invitation was the message
            )["User"]
        except ClientError as error:
            if _code(error) == "UsernameExistsException":
                raise Conflict(
                    "An account with this email already exists.", code=ACCOUNT_EXISTS_CODE
                ) from error
            raise
        return _directory_user(created)

    def delete_user(self, user_id: str) -> None:
        self._cognito.admin_delete_user(UserPoolId=self._user_pool_id, Username=user_id)

    def disable_user(self, user_id: str) -> None:
        self._cognito.admin_disable_user(UserPoolId=self._user_pool_id, Username=user_id)
        self._sign_out_everywhere(user_id)

    def enable_user(self, user_id: str) -> None:
        self._cognito.admin_enable_user(UserPoolId=self._user_pool_id, Username=user_id)

    def totp_enabled(self, user_id: str) -> bool:
        from botocore.exceptions import BotoCoreError

        try:
            user = self._cognito.admin_get_user(UserPoolId=self._user_pool_id, Username=user_id)
        except (ClientError, BotoCoreError) as error:
            # The error's type only: its text may name the user.
            raise UpstreamUnavailable(
                "The sign-in service cannot say whether your authenticator app is set up; try again.",
                code="user_pool_unavailable",
            ) from error
        enabled = SOFTWARE_TOKEN_MFA in (user.get("UserMFASettingList") or [])
        return enabled and user.get("PreferredMfaSetting") == SOFTWARE_TOKEN_MFA

    def reset_totp(self, user_id: str) -> None:
        self._cognito.admin_set_user_mfa_preference(
            UserPoolId=self._user_pool_id,
            Username=user_id,
            SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False},
        )
        self._sign_out_everywhere(user_id)

    def _sign_out_everywhere(self, user_id: str) -> None:
        # Revokes their refresh tokens: no new ID or access token for any session they have.
        self._cognito.admin_user_global_sign_out(UserPoolId=self._user_pool_id, Username=user_id)


def normalised(email: str) -> str:
    return email.strip().lower()


def email_filter(email: str) -> str:
    """A ListUsers filter matching exactly this email: `"` and `\\` escaped inside the quotes."""
    escaped = email.replace("\\", "\\\\").replace('"', '\\"')
    return f'email = "{escaped}"'


def _weak_password(error: ClientError) -> InvalidRequest:
    # Cognito's message names the rule the password broke (length, a symbol, …); it never echoes it.
    reason = str(error.response.get("Error", {}).get("Message") or "")
    return InvalidRequest(
        reason or "The password does not meet the password policy.", code=WEAK_PASSWORD_CODE
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _directory_user(user: dict[str, Any]) -> DirectoryUser:
    attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", user.get("UserAttributes", []))}
    return DirectoryUser(
        user_id=attributes.get("sub") or user["Username"],
        email=attributes.get("email", ""),
        enabled=bool(user.get("Enabled", True)),
    )
