"""The user pool's own API for a signed-in person, on the local system's origin: what the web console
calls with the person's access token to enrol an authenticator app (staff's second factor, R-ID-4).

On AWS the console calls Cognito's endpoint (`https://cognito-idp.<region>.amazonaws.com/`, JSON 1.1
with an `X-Amz-Target` header, no AWS signature: the access token in the body authorises it). Locally
that endpoint is moto's, on another port; this mount forwards the same request there, so the console's
Content-Security-Policy stays `connect-src 'self'`. Only the calls a person makes about their own
second factor are forwarded; any other target is refused."""

from __future__ import annotations

import urllib.error
import urllib.request

from local.http_types import HttpRequest, HttpResponse, json_response

PREFIX = "/_local/cognito-idp"
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
ALLOWED = frozenset({"AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference", "GetUser"})
JSON_11 = "application/x-amz-json-1.1"


class IdentityApi:
    def __init__(self, endpoint_url: str):
        self._endpoint = endpoint_url.rstrip("/") + "/"

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.raw_path.rstrip("/") != PREFIX:
            return json_response(404, {"__type": "NotFound", "message": "Not found"})
        target = request.headers.get("x-amz-target", "")
        if target.removeprefix(TARGET_PREFIX) not in ALLOWED or not target.startswith(TARGET_PREFIX):
            return json_response(
                400, {"__type": "InvalidAction", "message": "Not an operation of this endpoint"}
            )
        forwarded = urllib.request.Request(  # noqa: S310 - the local moto server, a fixed URL
            self._endpoint,
            data=request.body,
            headers={"content-type": JSON_11, "x-amz-target": target},
            method="POST",
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=10) as answer:  # noqa: S310  # nosec B310 # the local moto server
                return HttpResponse(answer.status, [("content-type", JSON_11)], answer.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, [("content-type", JSON_11)], error.read())
