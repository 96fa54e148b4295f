"""The user pool people sign in through and its app client, built from `spec_user_pool.USER_POOL`
(the local system builds the same on moto from the same declaration)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import cast

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.nag import acknowledge
from infra.spec_user_pool import OAUTH_SCOPES, USER_POOL, USER_POOL_ACTIONS, oauth_client_settings

MFA = {"OFF": cognito.Mfa.OFF, "OPTIONAL": cognito.Mfa.OPTIONAL, "ON": cognito.Mfa.REQUIRED}


@dataclass(frozen=True)
class Users:
    user_pool: cognito.UserPool
    user_pool_client: cognito.UserPoolClient

    def grant(self, grantee: lambda_.Function, access: str, *, trigger: bool = False) -> None:
        """The grant's Cognito actions (`USER_POOL_ACTIONS`), on this pool's ARN only. A trigger of the
        pool gets them in a policy of its own, attached to its role: the function does not wait for
        that policy (as it does for its role's default policy), so the pool, which names the function,
        and the policy, which names the pool, make no circle."""
        actions = USER_POOL_ACTIONS[access]
        if not trigger:
            self.user_pool.grant(grantee, *actions)
            return
        statement = iam.PolicyStatement(actions=list(actions), resources=[self.user_pool.user_pool_arn])
        policy = iam.Policy(grantee, "UserPoolAccess", statements=[statement])
        if grantee.role is None:
            raise ValueError("a trigger of the user pool needs its own role")
        grantee.role.attach_inline_policy(policy)

    def check_tokens_with(self, function: lambda_.IFunction) -> None:
        """The pool's pre token generation trigger: `function` runs before every token the pool issues
        (sign-ins through any flow, and refreshes), with the V1_0 event (we change no claim; every
        feature plan sends it)."""
        self.user_pool.add_trigger(
            cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, function, cognito.LambdaVersion.V1_0
        )


def build_users(scope: Construct, app_base_urls: Sequence[str]) -> Users:
    """The pool and its client in `scope` (the API construct: their logical ids, hence the deployed
    pool and its users, stay those of the first deployments). The client signs in through the hosted
    pages with the code grant (and PKCE) only, back to the app at each of `app_base_urls`."""
    user_pool = _user_pool(scope)
    settings = [oauth_client_settings(url) for url in app_base_urls]
    oauth = {
        name: [url for setting in settings for url in cast("list[str]", setting[name])]
        for name in ("CallbackURLs", "LogoutURLs")
    }
    return Users(
        user_pool,
        user_pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(**{flow: True for flow in USER_POOL.client_auth_flows}),
            read_attributes=cognito.ClientAttributes().with_standard_attributes(
                email="email" in USER_POOL.client_read_attributes,
                email_verified="email_verified" in USER_POOL.client_read_attributes,
                fullname="name" in USER_POOL.client_read_attributes,
            ),
            prevent_user_existence_errors=True,
            # no secret (a browser holds the client: PKCE instead), as `GenerateSecret` absent says
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(
                    authorization_code_grant=True, implicit_code_grant=False, client_credentials=False
                ),
                scopes=[cognito.OAuthScope.custom(scope) for scope in OAUTH_SCOPES],
                callback_urls=oauth["CallbackURLs"],
                logout_urls=oauth["LogoutURLs"],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        ),
    )


def add_hosted_pages(users: Users, domain_prefix: str) -> cognito.UserPoolDomain:
    """The pool's managed login pages on a Cognito prefix domain (<prefix>.auth.<region>.amazoncognito
    .com), styled with Cognito's defaults for the app client: where the console signs people in."""
    domain = users.user_pool.add_domain(
        "HostedPages",
        cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix),
        managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    )
    branding = cognito.CfnManagedLoginBranding(
        users.user_pool,
        "HostedPagesBranding",
        user_pool_id=users.user_pool.user_pool_id,
        client_id=users.user_pool_client.user_pool_client_id,
        use_cognito_provided_values=True,
    )
    branding.node.add_dependency(domain)
    return domain


def _user_pool(scope: Construct) -> cognito.UserPool:
    policy = USER_POOL.password_policy
    # The spec's rules carry CDK's keyword names (min_length, require_digits, …).
    rules = {
        name: value for name, value in asdict(policy).items() if name != "temporary_password_validity_days"
    }
    user_pool = cognito.UserPool(
        scope,
        "UserPool",
        # Accounts are created by an invitation's acceptance (AdminCreateUser), never by sign-up.
        self_sign_up_enabled=USER_POOL.self_sign_up,
        sign_in_aliases=cognito.SignInAliases(email=True),
        auto_verify=cognito.AutoVerifiedAttrs(email=True),
        # An email change takes effect only once verified: the `email` claim stays trustworthy.
        keep_original=cognito.KeepOriginalAttrs(email=True),
        standard_attributes=cognito.StandardAttributes(
            email=cognito.StandardAttribute(required=True, mutable=True)
        ),
        password_policy=cognito.PasswordPolicy(
            **rules, temp_password_validity=Duration.days(policy.temporary_password_validity_days)
        ),
        mfa=MFA[USER_POOL.mfa],
        mfa_second_factor=cognito.MfaSecondFactor(otp=USER_POOL.mfa_totp, sms=False),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        feature_plan=cognito.FeaturePlan.PLUS,
        standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(
        user_pool,
        "AwsSolutions-COG2",
        "The pool offers TOTP to everyone and requires it of nobody, because one pool serves two kinds "
        "of user. Firm staff: the API requires it (R-ID-4): every staff route answers 403 mfa_required "
        "until our records hold their confirmed TOTP enrolment, checked with the pool "
        "(POST /me/mfa/confirm), and their sign-ins then answer the TOTP challenge; a pre token generation "
        "trigger removes that record at the first token issued while the pool no longer asks for the code. "
        "Customers, family "
        "members and external advisers join by an emailed invitation and need no authenticator app: "
        "optional for them. Threat protection (Plus plan, full function) blocks risky sign-ins.",
    )
    return user_pool
