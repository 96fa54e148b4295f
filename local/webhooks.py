"""Delivery of the Plaid sandbox's webhooks to this local server, as Plaid would POST them."""

from __future__ import annotations

import logging
import threading

import httpx

from local.sandbox.plaid import WebhookSender

log = logging.getLogger("local.webhooks")


def webhook_poster(base_url: str) -> WebhookSender:
    """POST each webhook on a background thread (the sandbox call answers first), only to this
    server, never elsewhere; a failed delivery is logged, as Plaid would retry it."""

    def post(url: str, headers: dict[str, str], body: bytes) -> None:
        try:
            httpx.post(url, headers=headers, content=body, timeout=10.0)
        except httpx.HTTPError as error:
            log.warning("Plaid sandbox webhook to %s failed: %s", url, error)

    def deliver(url: str, headers: dict[str, str], body: bytes) -> None:
        if not url.startswith(base_url + "/"):
            log.warning("Plaid sandbox webhook to %s not sent: not this server", url)
            return
        threading.Thread(target=post, args=(url, headers, body), name="plaid-webhook", daemon=True).start()

    return deliver
