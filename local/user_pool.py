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
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from shared.adapters.cognito import CognitoDirectory

# Meets the pool's password policy (12+ characters, upper and lower case, a digit, a symbol).
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105  # nosec B105 # local only, printed in the banner and README
ADMIN_PASSWORD_FLOW = "ADMIN_USER_PASSWORD_AUTH"  # noqa: S105  # nosec B105 # a flow's name, not a password
TOTP_CHALLENGE = "SOFTWARE_TOKEN_MFA"  # nosec B105 # Cognito's challenge name, not a password
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
        return str(self._authenticate(email, password)["IdToken"])

    def enrol_totp(self, email: str, password: str = DEMO_PASSWORD) -> LocalPool:
        """Enrol an authenticator app for this user, with the calls the app makes with their access
        token; the pool asks for its code at every sign-in from then on. The pool, knowing the secret."""
        cognito, access = self._cognito(), {"AccessToken": self._authenticate(email, password)["AccessToken"]}
        secret = str(cognito.associate_software_token(**access)["SecretCode"])
        cognito.verify_software_token(**access, UserCode=totp_code(secret), FriendlyDeviceName="demo")
        cognito.set_user_mfa_preference(
            **access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
        return LocalPool(**{**asdict(self), "totp_secret": secret})

    def switch_totp_off(self, email: str, password: str = DEMO_PASSWORD) -> None:
        """What anyone may do with their own access token: TOTP no longer enabled nor preferred (the
        pool's sign-in then asks for the password alone; our record lapses at the next token)."""
        access = {"AccessToken": self._authenticate(email, password)["AccessToken"]}
        self._cognito().set_user_mfa_preference(
            **access, SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False}
        )

    def _authenticate(self, email: str, password: str) -> dict[str, Any]:
        cognito, username = self._cognito(), email.strip().lower()
        try:
            answer = cognito.admin_initiate_auth(
                UserPoolId=self.user_pool_id,
                ClientId=self.client_id,
                AuthFlow=ADMIN_PASSWORD_FLOW,
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
            if answer.get("ChallengeName") == TOTP_CHALLENGE and self.totp_secret:
                answer = self._answer_totp(cognito, username, answer["Session"])
        except (
            cognito.exceptions.NotAuthorizedException,
            cognito.exceptions.UserNotFoundException,
            cognito.exceptions.CodeMismatchException,
        ) as error:
            raise SignInRefused(f"{email} cannot sign in: {error.response['Error']['Message']}") from error
        if "AuthenticationResult" not in answer:  # a challenge: a new password required, an unknown TOTP
            challenge = answer.get("ChallengeName")
            raise SignInRefused(f"{email} cannot sign in with a password alone ({challenge})")
        return dict(answer["AuthenticationResult"])

    def _answer_totp(self, cognito: Any, username: str, session: str) -> dict[str, Any]:
        def respond() -> dict[str, Any]:
            code = totp_code(self.totp_secret)
            return dict(
                cognito.admin_respond_to_auth_challenge(
                    UserPoolId=self.user_pool_id,
                    ClientId=self.client_id,
                    ChallengeName=TOTP_CHALLENGE,
                    Session=session,
                    ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code},
                )
            )

        try:
            return respond()
        except (
            cognito.exceptions.CodeMismatchException
        ):  # computed at the end of its 30 s, checked in the next
            return respond()

    def _cognito(self) -> Any:
        return boto3.session.Session().client(  # a session per call: the pages call from many threads
            "cognito-idp",
            endpoint_url=self.aws_endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106  # nosec B106 # moto's fake credentials
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
