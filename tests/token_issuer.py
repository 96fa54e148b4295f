"""A test identity provider: mints Cognito-like ID tokens with a test key, for the unit tests of the
local gateway's JWT authorizer (which check what it refuses: another key, issuer, audience, expiry…).
The local system itself trusts only its user pool's tokens (`local/user_pool.py`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://test-issuer.invalid"  # `.invalid`: it resolves nowhere
CLIENT_ID = "test-app-client"
ALGORITHM = "RS256"
TOKEN_LIFETIME_SECONDS = 3600


class KeyIssuer:
    def __init__(self, private_key: rsa.RSAPrivateKey):
        self._private_key = private_key
        public_jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        self._public_jwk = {**public_jwk, "kid": _thumbprint(public_jwk), "alg": ALGORITHM, "use": "sig"}

    @classmethod
    def load_or_create(cls, key_file: Path) -> KeyIssuer:
        if not key_file.exists():
            _create_key_file(key_file)
        private_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError(f"{key_file} does not hold an RSA private key")
        return cls(private_key)

    @property
    def kid(self) -> str:
        return str(self._public_jwk["kid"])

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [dict(self._public_jwk)]}

    def id_token(self, *, sub: str, email: str, name: str, now: float | None = None, **overrides: Any) -> str:
        """An ID token shaped like Cognito's; `overrides` replace or add claims (tests)."""
        # Token times are the identity provider's (the authorizer checks them with the wall clock,
        # as API Gateway does), not business time.
        issued_at = int(time.time() if now is None else now)  # noqa: TID251
        claims: dict[str, Any] = {
            "sub": sub,
            "email": email,
            "email_verified": True,
            "name": name,
            "cognito:username": sub,
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "token_use": "id",
            "auth_time": issued_at,
            "iat": issued_at,
            "exp": issued_at + TOKEN_LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        claims.update(overrides)
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: a stable kid derived from the public key."""
    canonical = json.dumps({"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _create_key_file(key_file: Path) -> None:
    """Write a new key atomically; if another process wins the race, its key is kept."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".key-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.link(temporary, key_file)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
