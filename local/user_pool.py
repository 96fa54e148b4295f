"""Signing in locally: the spec's user pool on moto, with the calls made against a deployed stack.

The local system creates the pool and its app client (`local/provision.py`), its demo users (with
`DEMO_PASSWORD`), and trusts the pool's tokens in its gateway as API Gateway's JWT authorizer does:
issuer `https://cognito-idp.<region>.amazonaws.com/<pool id>` (what moto puts in `iss`), audience the
app client, keys from the pool's JWKS (moto serves it at `<moto>/<pool id>/.well-known/jwks.json`).

Other processes (`make token`, tests) find the running system's pool at `GET /_local/user-pool` on its
API port and sign in with `AdminInitiateAuth` (ADMIN_USER_PASSWORD_AUTH), as an operator does with
IAM credentials against a deployed pool (docs/deploy.md).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import boto3

from shared.adapters.cognito import CognitoDirectory

# Meets the pool's password policy (12+ characters, upper and lower case, a digit, a symbol).
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105  # nosec B105 # local only, printed in the banner and README
ADMIN_PASSWORD_FLOW = "ADMIN_USER_PASSWORD_AUTH"  # noqa: S105  # nosec B105 # a flow's name, not a password


class SignInRefused(Exception):
    """The pool refused the sign-in (no such user, a wrong password, a disabled user)."""


@dataclass(frozen=True)
class LocalPool:
    """Where the running local system's pool is: enough for another process to sign in there."""

    aws_endpoint_url: str  # the moto server
    region: str
    user_pool_id: str
    client_id: str

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
        """The ID token of a password sign-in through the pool."""
        cognito = boto3.session.Session().client(  # a session per call: the pages call from many threads
            "cognito-idp",
            endpoint_url=self.aws_endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106  # nosec B106 # moto's fake credentials
        )
        try:
            answer = cognito.admin_initiate_auth(
                UserPoolId=self.user_pool_id,
                ClientId=self.client_id,
                AuthFlow=ADMIN_PASSWORD_FLOW,
                AuthParameters={"USERNAME": email.strip().lower(), "PASSWORD": password},
            )
        except (cognito.exceptions.NotAuthorizedException, cognito.exceptions.UserNotFoundException) as error:
            raise SignInRefused(f"{email} cannot sign in: {error.response['Error']['Message']}") from error
        if "AuthenticationResult" not in answer:  # a challenge: TOTP enrolled, or a new password required
            challenge = answer.get("ChallengeName")
            raise SignInRefused(f"{email} cannot sign in with a password alone ({challenge})")
        return str(answer["AuthenticationResult"]["IdToken"])


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
    )
