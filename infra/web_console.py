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
    "plaidLinkScript",  # Plaid Link's script: Plaid's CDN on AWS, the Plaid sandbox's stand-in locally
)

# Plaid Link on the web is Plaid's own script, always loaded from Plaid's CDN (never bundled); it opens
# Link in a frame from that origin, which talks to the Plaid environment's API (Plaid's "CSP directives").
PLAID_LINK_SCRIPT = "https://cdn.plaid.com/link/v2/stable/link-initialize.js"
PLAID_LINK_ORIGIN = "https://cdn.plaid.com"


def content_security_policy(
    connect_to: tuple[str, ...] = (),
    forms_to: tuple[str, ...] = (),
    scripts_from: tuple[str, ...] = (),
    frames_from: tuple[str, ...] = (),
) -> str:
    """Scripts and styles from the app's own files only (no 'unsafe-inline'); the browser talks to the
    API on the same origin and to `connect_to`, and posts forms to `forms_to` (on AWS the pool's hosted
    pages, for the code exchange and sign-out, and Cognito's API; locally all are on the same origin).
    `scripts_from` and `frames_from` add third-party scripts and frames (on AWS Plaid Link's script and
    its frame; locally none: the Plaid sandbox's stand-in is on the same origin)."""

    def with_self(origins: tuple[str, ...]) -> str:
        return " ".join(("'self'", *(origin for origin in origins if origin)))

    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {with_self(scripts_from)}",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {with_self(connect_to)}",
            *((f"frame-src {with_self(frames_from)}",) if frames_from else ()),
            "frame-ancestors 'none'",
            "base-uri 'self'",
            f"form-action {with_self(forms_to)}",
            "object-src 'none'",
        )
    )
