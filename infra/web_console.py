"""The web console's contract with whoever serves it (CloudFront on AWS, `make run` locally): the
keys of /app/config.json and the Content-Security-Policy. Plain Python (no CDK), so the local system
and the stack share one definition."""

from __future__ import annotations

# What the SPA reads from /app/config.json (web/src/config.ts), exactly these keys.
CONFIG_KEYS = (
    "apiBaseUrl",
    "authority",
    "clientId",
    "userPoolId",
    "region",
    "authorizationEndpoint",
    "tokenEndpoint",
    "endSessionEndpoint",
    "userInfoEndpoint",
    "redirectUri",
    "postLogoutRedirectUri",
    "jwksUri",
    "identityEndpoint",  # the pool's own API (AssociateSoftwareToken…): staff enrol their authenticator
)


def content_security_policy(connect_to: tuple[str, ...] = (), forms_to: tuple[str, ...] = ()) -> str:
    """Scripts and styles from the app's own files only (no 'unsafe-inline'); the browser talks to the
    API on the same origin and to `connect_to`, and posts forms to `forms_to` (on AWS the pool's hosted
    pages, for the code exchange and sign-out, and Cognito's API; locally all are on the same origin)."""

    def with_self(origins: tuple[str, ...]) -> str:
        return " ".join(("'self'", *(origin for origin in origins if origin)))

    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {with_self(connect_to)}",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            f"form-action {with_self(forms_to)}",
            "object-src 'none'",
        )
    )
