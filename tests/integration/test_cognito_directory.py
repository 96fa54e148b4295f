"""The user directory on the spec's user pool, on moto: the calls the deployed functions make."""

from __future__ import annotations

import boto3
import pytest

from infra.spec_user_pool import USER_POOL
from local.provision import ProvisionedUserPool
from shared.adapters.cognito import CognitoDirectory, email_filter
from shared.domain.errors import Conflict, InvalidRequest
from shared.ports.directory import DirectoryUser
from shared.settings import get_settings

GOOD_PASSWORD = "Correct-Horse-9!"


@pytest.fixture
def pool(user_pool: ProvisionedUserPool) -> ProvisionedUserPool:
    return user_pool


@pytest.fixture
def directory(pool: ProvisionedUserPool) -> CognitoDirectory:
    """Built as bootstrap will build it: from the USER_POOL_ID setting."""
    return CognitoDirectory(get_settings().user_pool_id)


def sign_in(pool: ProvisionedUserPool, email: str, password: str) -> dict:
    return boto3.client("cognito-idp").admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )


def assert_signed_out(pool: ProvisionedUserPool, refresh_token: str) -> None:
    """The refresh token was revoked: the session gets no new token."""
    cognito = boto3.client("cognito-idp")
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.admin_initiate_auth(
            UserPoolId=pool.user_pool_id,
            ClientId=pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )


def test_a_created_user_is_confirmed_verified_and_signs_in_with_its_password(pool, directory):
    created = directory.create_user(" Jane@Example.org ", GOOD_PASSWORD)
    assert created.email == "jane@example.org" and created.enabled and created.user_id

    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=pool.user_pool_id, Username=created.user_id)
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert user["UserStatus"] == "CONFIRMED"
    assert (attributes["sub"], attributes["email"], attributes["email_verified"]) == (
        created.user_id,
        "jane@example.org",
        "true",
    )
    assert sign_in(pool, "jane@example.org", GOOD_PASSWORD)["AuthenticationResult"]["IdToken"]
    assert directory.find_by_email("JANE@example.org") == created


def test_find_by_email_is_exact(directory):
    directory.create_user("jane@example.org", GOOD_PASSWORD)
    assert directory.find_by_email("ane@example.org") is None
    assert directory.find_by_email("nobody@example.org") is None


def test_quotes_in_an_email_are_escaped_in_the_filter(directory):
    assert email_filter('a"b@example.org') == 'email = "a\\"b@example.org"'
    assert email_filter("a\\b@example.org") == 'email = "a\\\\b@example.org"'
    assert directory.find_by_email('x" or email ^= "@example.org') is None


def test_a_weak_password_is_refused_and_leaves_no_user_behind(directory):
    with pytest.raises(InvalidRequest) as refused:
        directory.create_user("weak@example.org", "short")
    assert refused.value.code == "weak_password"
    assert directory.find_by_email("weak@example.org") is None
    assert directory.create_user("weak@example.org", GOOD_PASSWORD).email == "weak@example.org"


def test_a_second_account_for_one_email_is_a_conflict(directory):
    first = directory.create_user("jane@example.org", GOOD_PASSWORD)
    with pytest.raises(Conflict) as refused:
        directory.create_user("JANE@example.org", GOOD_PASSWORD + "x")
    assert refused.value.code == "account_exists"
    assert directory.find_by_email("jane@example.org") == first


def test_a_disabled_user_cannot_sign_in_nor_refresh_until_enabled(pool, directory):
    created = directory.create_user("jane@example.org", GOOD_PASSWORD)
    # moto revokes only the refresh tokens of sign-ins that named the user as the sign-out does (by
    # username, i.e. the sub); Cognito revokes every session of the user, however they signed in.
    refresh_token = sign_in(pool, created.user_id, GOOD_PASSWORD)["AuthenticationResult"]["RefreshToken"]
    cognito = boto3.client("cognito-idp")

    directory.disable_user(created.user_id)

    assert directory.find_by_email("jane@example.org") == DirectoryUser(
        created.user_id, "jane@example.org", enabled=False
    )
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        sign_in(pool, "jane@example.org", GOOD_PASSWORD)
    assert_signed_out(pool, refresh_token)

    directory.enable_user(created.user_id)
    assert directory.find_by_email("jane@example.org") == created
    assert sign_in(pool, "jane@example.org", GOOD_PASSWORD)["AuthenticationResult"]["IdToken"]


def test_the_pool_is_the_spec_s_nobody_signs_themselves_up_and_totp_is_offered(pool):
    cognito = boto3.client("cognito-idp")
    described = cognito.describe_user_pool(UserPoolId=pool.user_pool_id)["UserPool"]
    # moto stores AllowAdminCreateUserOnly but does not refuse SignUp by it; Cognito does.
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert described["UsernameAttributes"] == ["email"]
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == USER_POOL.password_policy.min_length
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool.user_pool_id)
    assert (mfa["MfaConfiguration"], mfa["SoftwareTokenMfaConfiguration"]) == ("OPTIONAL", {"Enabled": True})
    client = cognito.describe_user_pool_client(UserPoolId=pool.user_pool_id, ClientId=pool.client_id)
    assert set(client["UserPoolClient"]["ExplicitAuthFlows"]) == {
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }


def test_totp_counts_once_an_authenticator_is_verified_enabled_and_preferred(pool, directory):
    """What POST /me/mfa/confirm asks the pool (R-ID-4), after the app's calls with the user's access
    token; moto keeps the flags as Cognito does (it checks codes only when told to)."""
    user = directory.create_user("sam@example.org", GOOD_PASSWORD)
    cognito = boto3.client("cognito-idp")
    access = {
        "AccessToken": sign_in(pool, "sam@example.org", GOOD_PASSWORD)["AuthenticationResult"]["AccessToken"]
    }
    assert directory.totp_enabled(user.user_id) is False
    cognito.associate_software_token(**access)
    cognito.verify_software_token(**access, UserCode="123456")
    assert directory.totp_enabled(user.user_id) is False  # verified, not switched on
    cognito.set_user_mfa_preference(
        **access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False}
    )
    assert directory.totp_enabled(user.user_id) is False  # on, but not the factor the pool asks for
    cognito.set_user_mfa_preference(
        **access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert directory.totp_enabled(user.user_id) is True
    assert sign_in(pool, "sam@example.org", GOOD_PASSWORD)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    cognito.set_user_mfa_preference(
        **access, SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False}
    )
    assert directory.totp_enabled(user.user_id) is False
