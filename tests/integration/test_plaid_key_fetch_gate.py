"""Issue 17 item 9 through the real route and the composition root's item lookup (access pattern 24):
a key that is not cached is fetched only for a webhook naming one of our Plaid items."""

from __future__ import annotations

from shared import bootstrap
from tests.integration.test_plaid_webhooks_flow import deliver, item_id, sync

__all__ = ["item_id"]


def test_a_webhook_for_an_item_we_do_not_hold_costs_no_key_fetch_and_ours_verifies(sandboxes, item_id):
    assert bootstrap.holds_plaid_item(item_id) and not bootstrap.holds_plaid_item("item-we-never-saw")

    status, answer = deliver(sandboxes, sync("item-we-never-saw"))  # the key is not cached yet
    assert (status, answer["code"]) == (401, "webhook_rejected")

    assert deliver(sandboxes, sync(item_id)) == (200, {"received": True, "outcome": "import_queued"})
    # once the key is cached, an event for an item we do not hold is verified and ignored as before
    assert deliver(sandboxes, sync("item-we-never-saw"))[1]["outcome"] == "unknown_item"
