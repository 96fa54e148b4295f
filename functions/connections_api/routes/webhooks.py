"""Plaid's webhooks (no JWT): verified, deduplicated, answered fast (R-CON-5)."""

from __future__ import annotations

import base64

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from shared import bootstrap
from shared.services import connections

router = Router()


class WebhookOut(BaseModel):
    received: bool
    outcome: str


@router.post(
    "/webhooks/plaid",
    tags=["connections"],
    summary="Plaid webhooks, signed (Plaid-Verification) — no authentication",
    responses={
        200: {"description": "Received: what it changed (each event is applied once)"},
        401: {"description": "Signature, age or body hash not valid (webhook_rejected)"},
    },
)
def plaid_webhook() -> WebhookOut:
    event = router.current_event
    # The signature covers the exact bytes Plaid sent: never re-serialised JSON.
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    outcome = connections.receive_webhook(
        bootstrap.connections(), bootstrap.plaid_webhook_reader(), event.headers, body
    )
    return WebhookOut(received=True, outcome=outcome)
