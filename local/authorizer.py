"""The HTTP API JWT authorizer, checking what API Gateway checks.

Token from the Authorization header (alone or after `Bearer `); signing key by `kid` from
the issuer's JWKS (RSA algorithms only); `iss` equal to the configured issuer; `aud` one of
the configured audiences, or `client_id` when there is no `aud`; `exp` in the future;
`nbf` and `iat` not in the future. Any failure is a 401 `{"message":"Unauthorized"}`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import jwt

RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})


class Unauthorized(Exception):
    """The request is refused; the message goes to the `www-authenticate` header."""


class JwtAuthorizer:
    def __init__(self, issuer: str, audience: Collection[str], jwks: Mapping[str, Any]):
        self._issuer = issuer
        self._audience = frozenset(audience)
        self._keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(dict(jwks)).keys}

    def claims(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, or Unauthorized."""
        if not authorization:
            raise Unauthorized("no token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise Unauthorized("the token is malformed") from error
        key = self._keys.get(header.get("kid"))
        if key is None:
            raise Unauthorized("the token's kid is not in the issuer's JWKS")
        if header.get("alg") not in RSA_ALGORITHMS:
            raise Unauthorized("the token's algorithm is not supported")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                issuer=self._issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.InvalidTokenError as error:
            raise Unauthorized(str(error)) from error
        if not self._audience_matches(claims):
            raise Unauthorized("the token does not have a valid audience")
        return claims

    def _audience_matches(self, claims: Mapping[str, Any]) -> bool:
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        values = audience if isinstance(audience, list) else [audience]
        return any(value in self._audience for value in values)
