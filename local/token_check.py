"""The user pool's pre token generation trigger, locally (issue 17, R-ID-4).

Cognito runs the spec's `sign_in_check` function before every token it issues; moto runs no trigger.
The local gateway runs that same function (its handler, through `Functions.invoke`, with the event
Cognito sends) once per token issue it sees, before the issue's first request reaches a route: an issue
is known by what its tokens share (the sign-in's `origin_jti` and the issue's `iat`), so a refresh is
checked again. The event is built from the token's claims (pool and region from `iss`, app client from
`aud`/`client_id`); a sign-in and a refresh look alike here, so every check says it was a sign-in.
A check that fails (an error of the function: Cognito would issue no token) refuses the token.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from infra.spec import SIGN_IN_CHECK

Invoke = Callable[[str, Any], Any]
TRIGGER_SOURCE = "TokenGeneration_Authentication"
REMEMBERED = 10_000  # token issues kept as checked (the oldest forgotten: checked again, harmlessly)


def pre_token_event(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Cognito's V1_0 pre token generation event for the sign-in that issued a token with `claims`."""
    issuer = str(claims["iss"])
    region = issuer.removeprefix("https://cognito-idp.").split(".", 1)[0]
    user_name = str(claims.get("cognito:username") or claims.get("username") or claims["sub"])
    attributes = {"sub": str(claims["sub"]), "cognito:user_status": "CONFIRMED"}
    if "email" in claims:
        attributes |= {"email": str(claims["email"]), "email_verified": "true"}
    return {
        "version": "1",
        "triggerSource": TRIGGER_SOURCE,
        "region": region,
        "userPoolId": issuer.rsplit("/", 1)[-1],
        "userName": user_name,
        "callerContext": {
            "awsSdkVersion": "aws-sdk-unknown-unknown",
            "clientId": str(claims.get("aud") or claims.get("client_id") or ""),
        },
        "request": {
            "userAttributes": attributes,
            "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": None},
        },
        "response": {"claimsOverrideDetails": None},
    }


class TokenIssueChecks:
    """`check(claims)`: the trigger, once per token issue; its error propagates (the token is refused)."""

    def __init__(self, invoke: Invoke) -> None:
        self._invoke = invoke
        self._checked: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, claims: Mapping[str, Any]) -> None:
        issue = (str(claims.get("origin_jti") or claims.get("jti")), str(claims.get("iat")))
        with self._lock:
            if issue in self._checked:
                return
        self._invoke(SIGN_IN_CHECK, pre_token_event(claims))
        with self._lock:
            self._checked[issue] = None
            while len(self._checked) > REMEMBERED:
                self._checked.popitem(last=False)
