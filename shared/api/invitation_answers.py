"""The documented answers of the invitation routes, the same for every kind of invitee (the one
lifecycle: shared/services/invitations.py), for the OpenAPI of the APIs that serve them."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

INVALID: dict[int, OpenAPIResponse] = {
    404: {"description": "Wrong, used or expired token: one answer (invitation_invalid)"}
}
# Accepting while signed in: only with the invited email.
SIGNED_IN: dict[int, OpenAPIResponse] = {
    403: {"description": "Signed in with another email than the invited one (wrong_account)"},
    **INVALID,
}
# Accepting without an account: the route creates it (no authentication).
NEW_ACCOUNT: dict[int, OpenAPIResponse] = {
    400: {"description": "The user pool refused the password (weak_password): the link still works"},
    **INVALID,
    409: {"description": "This email already has an account (account_exists): sign in, then accept"},
}
# Resending or revoking an invitation that was accepted meanwhile.
ALREADY_ACCEPTED: dict[int, OpenAPIResponse] = {
    409: {"description": "Already accepted (invitation_already_accepted)"}
}
