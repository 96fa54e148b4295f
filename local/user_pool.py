"""Signing in locally: the spec's user pool on moto, with the calls made against a deployed stack.

The local system creates the pool and its app client (`local/provision.py`), its demo users (with
`DEMO_PASSWORD`), and trusts the pool's tokens in its gateway as API Gateway's JWT authorizer does:
issuer `https://cognito-idp.<region>.amazonaws.com/<pool id>` (what moto puts in `iss`), audience the
app client, keys from the pool's JWKS (moto serves it at `<moto>/<pool id>/.well-known/jwks.json`).

Other processes (`make token`, tests) find the running system's pool at `GET /_local/user-pool` on its
API port and sign in with `AdminInitiateAuth` (ADMIN_USER_PASSWORD_AUTH), as an operator does with
IAM credentials against a deployed pool (docs/deploy.md).

Staff have a TOTP authenticator (R-ID-4): `enrol_totp` makes the calls the app makes with the person's
access token (AssociateSoftwareToken, VerifySoftwareToken with a first code, SetUserMFAPreference), and
`sign_in` answers the SOFTWARE_TOKEN_MFA challenge with the current code (RFC 6238, computed here).
moto gives every authenticator one and the same secret, which the pool's description publishes
(`totp_secret`) so another process can answer too; the local system has moto check the codes
(`MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP`, `local/fake_aws.py`).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from shared.adapters.cognito import CognitoDirectory

# Meets the pool's password policy (12+ characters, upper and lower case, a digit, a symbol).
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105  # nosec B105 # local only, printed in the banner and README
ADMIN_PASSWORD_FLOW = "ADMIN_USER_PASSWORD_AUTH"  # noqa: S105  # nosec B105 # a flow's name, not a password
TOTP_CHALLENGE = "SOFTWARE_TOKEN_MFA"  # nosec B105 # Cognito's challenge name, not a password
REFRESH_FLOW = "REFRESH_TOKEN_AUTH"
TOTP_STEP_SECONDS = 30  # Cognito's authenticator codes: 6 digits, SHA-1, 30 seconds (RFC 6238 defaults)


def totp_code(secret: str, at: float | None = None) -> str:
    """The authenticator app's current code for `secret` (base32, as AssociateSoftwareToken gives
    it). The wall clock, not business time: the pool checks codes against its own clock."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    moment = time.time() if at is None else at  # noqa: TID251
    sha1 = SHA1()  # noqa: S303  # nosec B303 # what RFC 6238 and Cognito's authenticator codes use
    return TOTP(key, 6, sha1, TOTP_STEP_SECONDS, enforce_key_length=False).generate(int(moment)).decode()


class SignInRefused(Exception):
    """The pool refused the sign-in (no such user, a wrong password, a disabled user)."""


class UnansweredChallenge(SignInRefused):
    """The password was right, but the pool asks for a step nobody here answers (a new password)."""


def username_of(email: str) -> str:
    """The username a person signs in with: their email, trimmed and in lower case."""
    return email.strip().lower()


@dataclass(frozen=True)
class PoolTokens:
    """What a successful sign-in or refresh gives (Cognito's AuthenticationResult)."""

    id_token: str
    access_token: str
    refresh_token: str  # "" after a refresh: Cognito does not rotate refresh tokens unless told to
    expires_in: int  # seconds the ID and access tokens are valid

    def __repr__(self) -> str:  # never a token in a log line or a failed assertion's text
        return f"PoolTokens(expires_in={self.expires_in})"


@dataclass(frozen=True)
class TotpChallenge:
    """The pool asks the signing-in person for their authenticator's code (SOFTWARE_TOKEN_MFA)."""

    username: str
    session: str

    def __repr__(self) -> str:
        return "TotpChallenge(…)"


@dataclass(frozen=True)
class AppClient:
    """An app client's OAuth settings as the pool stores them."""

    client_id: str
    callback_urls: tuple[str, ...]
    logout_urls: tuple[str, ...]
    scopes: tuple[str, ...]
    code_grant: bool  # the authorization code grant is allowed (AllowedOAuthFlows has "code")


def _tokens(answer: dict[str, Any]) -> PoolTokens:
    if "AuthenticationResult" not in answer:  # a challenge the caller does not answer (a new password)
        raise UnansweredChallenge(f"the pool asks for {answer.get('ChallengeName')}")
    result = answer["AuthenticationResult"]
    return PoolTokens(
        id_token=str(result["IdToken"]),
        access_token=str(result["AccessToken"]),
        refresh_token=str(result.get("RefreshToken", "")),
        expires_in=int(result.get("ExpiresIn", 3600)),
    )


def _code(error: ClientError) -> str:
    return str(error.response["Error"].get("Code", "refused"))


@dataclass(frozen=True)
class LocalPool:
    """Where the running local system's pool is: enough for another process to sign in there."""

    aws_endpoint_url: str  # the moto server
    region: str
    user_pool_id: str
    client_id: str
    totp_secret: str = ""  # the secret moto gives every authenticator (learned at the first enrolment)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "issuer": self.issuer}

    def jwks(self) -> dict[str, Any]:
        """The pool's signing keys, as API Gateway reads them from `<issuer>/.well-known/jwks.json`."""
        url = f"{self.aws_endpoint_url}/{self.user_pool_id}/.well-known/jwks.json"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  # nosec B310 # the local moto server
            keys: dict[str, Any] = json.loads(response.read())
        return keys

    def directory(self) -> CognitoDirectory:
        """The functions' own adapter (this process's AWS SDK already points at moto)."""
        return CognitoDirectory(self.user_pool_id)

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> str:
        """The ID token of a sign-in through the pool: the password, then the authenticator's code
        when the pool asks for it (the person enrolled TOTP)."""
        return self._authenticate(email, password).id_token

    def enrol_totp(self, email: str, password: str = DEMO_PASSWORD) -> LocalPool:
        """Enrol an authenticator app for this user, with the calls the app makes with their access
        token; the pool asks for its code at every sign-in from then on. The pool, knowing the secret."""
        cognito, access = self._cognito(), {"AccessToken": self._authenticate(email, password).access_token}
        secret = str(cognito.associate_software_token(**access)["SecretCode"])
        cognito.verify_software_token(**access, UserCode=totp_code(secret), FriendlyDeviceName="demo")
        cognito.set_user_mfa_preference(
            **access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
        return LocalPool(**{**asdict(self), "totp_secret": secret})

    def switch_totp_off(self, email: str, password: str = DEMO_PASSWORD) -> None:
        """What anyone may do with their own access token: TOTP no longer enabled nor preferred (the
        pool's sign-in then asks for the password alone; our record lapses at the next token)."""
        access = {"AccessToken": self._authenticate(email, password).access_token}
        self._cognito().set_user_mfa_preference(
            **access, SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False}
        )

    # What the hosted pages' stand-in (local/hosted_ui.py) asks the pool: the calls Cognito's own
    # managed login makes, as the admin API offers them on moto.

    def start_sign_in(self, email: str, password: str) -> PoolTokens | TotpChallenge:
        """The password step (AdminInitiateAuth, ADMIN_USER_PASSWORD_AUTH): the tokens, or the
        authenticator challenge of a person who enrolled TOTP. SignInRefused for a wrong password, an
        unknown or disabled user, or a challenge the hosted pages do not answer (a new password)."""
        username = username_of(email)
        answer = self._call(
            "admin_initiate_auth",
            UserPoolId=self.user_pool_id,
            ClientId=self.client_id,
            AuthFlow=ADMIN_PASSWORD_FLOW,
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        if answer.get("ChallengeName") == TOTP_CHALLENGE:
            return TotpChallenge(username=username, session=str(answer["Session"]))
        return _tokens(answer)

    def answer_totp(self, challenge: TotpChallenge, code: str) -> PoolTokens:
        """The authenticator step (AdminRespondToAuthChallenge); SignInRefused for a wrong code (the
        challenge may be answered again) or a session the pool no longer knows."""
        answer = self._call(
            "admin_respond_to_auth_challenge",
            UserPoolId=self.user_pool_id,
            ClientId=self.client_id,
            ChallengeName=TOTP_CHALLENGE,
            Session=challenge.session,
            ChallengeResponses={"USERNAME": challenge.username, "SOFTWARE_TOKEN_MFA_CODE": code},
        )
        return _tokens(answer)

    def refresh(self, refresh_token: str) -> PoolTokens:
        """New ID and access tokens for a refresh token (REFRESH_TOKEN_AUTH; no new refresh token, as
        Cognito without rotation); SignInRefused for one the pool does not know or has revoked."""
        answer = self._call(
            "admin_initiate_auth",
            UserPoolId=self.user_pool_id,
            ClientId=self.client_id,
            AuthFlow=REFRESH_FLOW,
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
        return _tokens(answer)

    def user_info(self, access_token: str) -> dict[str, str]:
        """The attributes of the access token's user (GetUser); SignInRefused for a token the pool
        does not know, or a user who is disabled or signed out."""
        found = self._call("get_user", AccessToken=access_token)
        attributes = {item["Name"]: str(item["Value"]) for item in found["UserAttributes"]}
        return {"username": str(found["Username"]), **attributes}

    def app_client(self, client_id: str) -> AppClient | None:
        """The pool's app client with this id as the pool stores it (DescribeUserPoolClient), or None."""
        try:
            found = self._call("describe_user_pool_client", UserPoolId=self.user_pool_id, ClientId=client_id)
        except SignInRefused:
            return None
        client = found["UserPoolClient"]
        return AppClient(
            client_id=str(client["ClientId"]),
            callback_urls=tuple(client.get("CallbackURLs", ())),
            logout_urls=tuple(client.get("LogoutURLs", ())),
            scopes=tuple(client.get("AllowedOAuthScopes", ())),
            code_grant="code" in client.get("AllowedOAuthFlows", ()),
        )

    def _authenticate(self, email: str, password: str) -> PoolTokens:
        try:
            step = self.start_sign_in(email, password)
        except SignInRefused as refused:
            raise SignInRefused(f"{email} cannot sign in: {refused}") from refused
        if isinstance(step, PoolTokens):
            return step
        if not self.totp_secret:
            raise SignInRefused(f"{email} cannot sign in with a password alone ({TOTP_CHALLENGE})")
        try:
            return self.answer_totp(step, totp_code(self.totp_secret))
        except SignInRefused:  # computed at the end of its 30 s, checked in the next
            return self.answer_totp(step, totp_code(self.totp_secret))

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        """One call to the pool; the pool's refusals (and moto's failures on a token it never issued)
        become SignInRefused with the pool's message, which carries no secret."""
        try:
            return dict(getattr(self._cognito(), operation)(**arguments))
        except ClientError as error:
            raise SignInRefused(error.response["Error"].get("Message") or _code(error)) from error

    def _cognito(self) -> Any:
        return boto3.session.Session().client(  # a session per call: the pages call from many threads
            "cognito-idp",
            endpoint_url=self.aws_endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106  # nosec B106 # moto's fake credentials
            # One attempt: moto answers a token it never issued with a 500, which is no reason to retry.
            config=Config(retries={"total_max_attempts": 1}),
        )


def running_pool(port: int, host: str = "127.0.0.1") -> LocalPool:
    """The pool of the local system serving its API on `port`."""
    url = f"http://{host}:{port}/_local/user-pool"
    with urllib.request.urlopen(url, timeout=10) as response:  # nosec B310 # the local system's API
        found = json.loads(response.read())
    return LocalPool(
        aws_endpoint_url=found["aws_endpoint_url"],
        region=found["region"],
        user_pool_id=found["user_pool_id"],
        client_id=found["client_id"],
        totp_secret=found.get("totp_secret", ""),
    )
