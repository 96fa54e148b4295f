"""Jane, a customer of the demo firm, with a linked Plaid connection (shared by several tests)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from tests.integration.onboarding_support import ADMIN, INVITEE, call, invitation_tokens, seed_firms

PLAID_BANK = "ins_900004"


def plaid_public_token(sandboxes, link_token: str) -> str:
    """The person goes through (the sandbox's) Plaid Link; the front end receives a public token."""
    redirect = sandboxes.browser.get(f"http://sandbox.test/sandbox/plaid/link/{link_token}/connect")
    return parse_qs(urlsplit(redirect.headers["location"]).query)["public_token"][0]


def jane_with_plaid(sandboxes) -> tuple[str, str]:
    """(customer_id, connection_id) of Jane's linked Plaid connection."""
    seed_firms()
    _, customer = call(
        invitations, "POST", "/customers/invitations", ADMIN, body={"name": "Jane", "email": INVITEE.email}
    )
    [token] = invitation_tokens(INVITEE.email)
    call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token})
    return customer["customer_id"], link_plaid(sandboxes)


def link_plaid(sandboxes) -> str:
    """Jane links (another) Plaid Item at the sandbox bank: its connection id."""
    _, started = call(
        connections_api,
        "POST",
        "/connections",
        INVITEE,
        body={"provider": "plaid", "institution_id": PLAID_BANK},
    )
    connection_id: str = started["connection"]["connection_id"]
    status, _ = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/complete",
        INVITEE,
        path_parameters={"connection_id": connection_id},
        body={"public_token": plaid_public_token(sandboxes, started["link_token"])},
    )
    assert status == 200
    return connection_id
