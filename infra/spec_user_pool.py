"""The user pool of `infra/spec.py`: declared once, built by the CDK construct
(`infra/constructs/users.py`) and on moto by the local system (`local/provision.py`) from the
boto3 requests below. Plain Python, like the rest of the spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int
    require_lowercase: bool
    require_uppercase: bool
    require_digits: bool
    require_symbols: bool
    temporary_password_validity_days: int


@dataclass(frozen=True)
class UserPoolSpec:
    """The user pool people sign in through, and its one app client. Accounts are created only by
    an invitation's acceptance (self sign-up off); people sign in with their email."""

    env: str  # environment variable that carries the pool id to the functions that manage users
    password_policy: PasswordPolicy
    # The app client's sign-in flows (CDK `AuthFlow` keywords); refresh tokens are always allowed.
    # user_srp: the web app (the password never leaves the browser). admin_user_password: a signed-in
    # operator's IAM credentials sign a user in (`make token`, locally on moto and against a stack);
    # USER_PASSWORD_AUTH (the password sent to a public endpoint) stays off.
    client_auth_flows: tuple[str, ...]
    client_read_attributes: tuple[str, ...]  # what the ID token carries besides sub
    self_sign_up: bool = False
    mfa: Literal["OFF", "OPTIONAL", "ON"] = "OPTIONAL"
    mfa_totp: bool = True  # an authenticator app (TOTP) is offered; SMS is not


# The web app signs people in through the pool's hosted pages with the authorization code grant and
# PKCE only: a browser holds no client secret, and no implicit grant (tokens never travel in a URL).
# Cognito sends people back only to the app's own pages, on APP_BASE_URL.
OAUTH_CALLBACK_PATH = "/auth/callback"
OAUTH_SIGNED_OUT_PATH = "/auth/signed-out"
# aws.cognito.signin.user.admin: the access token may call the pool's API about its own user — what the
# console needs to enrol a staff member's authenticator app (AssociateSoftwareToken, VerifySoftwareToken,
# SetUserMFAPreference).
OAUTH_SCOPES = ("openid", "email", "profile", "aws.cognito.signin.user.admin")


def oauth_client_settings(app_base_url: str) -> dict[str, object]:
    """The app client's OAuth settings (boto3 `create_user_pool_client` names; the CDK construct sets
    the same): the code grant only, with callback and sign-out URLs on the app's origin."""
    base = app_base_url.rstrip("/")
    return {
        "AllowedOAuthFlowsUserPoolClient": True,
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": list(OAUTH_SCOPES),
        "CallbackURLs": [base + OAUTH_CALLBACK_PATH],
        "LogoutURLs": [base + OAUTH_SIGNED_OUT_PATH],
        "SupportedIdentityProviders": ["COGNITO"],
    }


# CDK AuthFlow keyword -> the ExplicitAuthFlows value it stands for.
AUTH_FLOWS = {
    "user_srp": "ALLOW_USER_SRP_AUTH",
    "admin_user_password": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "user_password": "ALLOW_USER_PASSWORD_AUTH",
    "custom": "ALLOW_CUSTOM_AUTH",
}


USER_POOL_KEY = "users"
USER_POOL = UserPoolSpec(
    env="USER_POOL_ID",
    password_policy=PasswordPolicy(
        min_length=12,
        require_lowercase=True,
        require_uppercase=True,
        require_digits=True,
        require_symbols=True,
        temporary_password_validity_days=3,
    ),
    client_auth_flows=("user_srp", "admin_user_password"),
    client_read_attributes=("email", "email_verified", "name"),
)
# The Cognito actions each user-pool grant allows, on the pool's ARN only.
USER_POOL_ACTIONS: dict[str, tuple[str, ...]] = {
    # An invitation's acceptance: find the invited email's user, or create it (undone if its password
    # is refused).
    "create_users": (
        "cognito-idp:ListUsers",
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminSetUserPassword",
        "cognito-idp:AdminDeleteUser",
    ),
}
# Confirming a staff member's second factor (POST /me/mfa/confirm): is TOTP enabled and preferred.
USER_POOL_ACTIONS["read_mfa"] = ("cognito-idp:AdminGetUser",)
# Staff administration besides: deactivating a member disables their user and signs them out everywhere;
# resetting a member's lost authenticator switches their TOTP off and signs them out everywhere.
USER_POOL_ACTIONS["manage_users"] = (
    *USER_POOL_ACTIONS["create_users"],
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:AdminSetUserMFAPreference",
)


def create_user_pool_request(pool_name: str) -> dict[str, object]:
    """boto3 `create_user_pool` arguments for USER_POOL (the local system and tests use moto). The
    CDK construct sets the same from the spec, plus what only AWS has (feature plan, threat
    protection, deletion protection); TOTP is switched on by `user_pool_mfa_request`."""
    policy = USER_POOL.password_policy
    return {
        "PoolName": pool_name,
        "UsernameAttributes": ["email"],
        "AutoVerifiedAttributes": ["email"],
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": not USER_POOL.self_sign_up},
        "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": policy.min_length,
                "RequireLowercase": policy.require_lowercase,
                "RequireUppercase": policy.require_uppercase,
                "RequireNumbers": policy.require_digits,
                "RequireSymbols": policy.require_symbols,
                "TemporaryPasswordValidityDays": policy.temporary_password_validity_days,
            }
        },
        "MfaConfiguration": USER_POOL.mfa,
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
    }


def user_pool_mfa_request(user_pool_id: str) -> dict[str, object]:
    """boto3 `set_user_pool_mfa_config` arguments: the pool's MFA mode with TOTP offered."""
    return {
        "UserPoolId": user_pool_id,
        "SoftwareTokenMfaConfiguration": {"Enabled": USER_POOL.mfa_totp},
        "MfaConfiguration": USER_POOL.mfa,
    }


def create_user_pool_client_request(
    user_pool_id: str, client_name: str, app_base_url: str | None = None
) -> dict[str, object]:
    """boto3 `create_user_pool_client` arguments for the pool's one app client (no secret: a browser
    holds it); with `app_base_url`, its OAuth settings too (the local system signs in with the admin
    flow only: moto has no hosted pages)."""
    flows = [AUTH_FLOWS[flow] for flow in USER_POOL.client_auth_flows]
    return {
        "UserPoolId": user_pool_id,
        "ClientName": client_name,
        "GenerateSecret": False,
        "ExplicitAuthFlows": [*flows, "ALLOW_REFRESH_TOKEN_AUTH"],
        "ReadAttributes": list(USER_POOL.client_read_attributes),
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
        **(oauth_client_settings(app_base_url) if app_base_url else {}),
    }
