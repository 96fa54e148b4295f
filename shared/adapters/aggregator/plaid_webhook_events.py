"""Plaid webhook bodies as what they mean: the port-level event the connections use case
applies (`provider_event`), and the key that deduplicates it (`webhook_event_key`).

Deduplication (R-CON-5; `webhook_event_key`). Plaid webhooks carry no event id, and a delivery
Plaid retries is signed again (a new `iat`: a JWT older than 5 minutes is refused), so no field
tells a retry from a new occurrence of the same event. The key therefore depends on what the
event changes:
- ITEM webhooks that move the connection's state (ERROR, LOGIN_REPAIRED, USER_PERMISSION_REVOKED,
  USER_ACCOUNT_REVOKED): one key per signed delivery, the verified JWT's `iat` with the item id,
  the webhook type and code, the error's type and code and the other distinguishing fields. A
  state can come back with the very same body (login required, repaired, login required
  again): each occurrence must apply. The same delivery twice (same JWT, same body) has one
  key, so it applies once; a copy Plaid signs again later is applied again, and the state
  machine makes that harmless: a transition applies only from its allowed states, so an Item
  already "credentials_rejected" is not rejected, notified or audited a second time.
- every other webhook (TRANSACTIONS new data, PENDING_EXPIRATION, NEW_ACCOUNTS_AVAILABLE...):
  one key per content, whenever it was signed, because its effect (an import queued, a
  notification, accounts offered) is not guarded by a state: Plaid's re-signed retries have
  their effect once within the idempotency window (24 h).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

# Fields that tell two events of the same Item, type and code apart, when present:
_DISTINGUISHING = (
    "environment",  # sandbox and production events never collide
    "user_id",  # user-level webhooks carry no item_id
    "account_id",
    "new_transactions",  # TRANSACTIONS INITIAL/HISTORICAL/DEFAULT_UPDATE
    "removed_transactions",  # TRANSACTIONS_REMOVED
    "initial_update_complete",  # SYNC_UPDATES_AVAILABLE
    "historical_update_complete",
    "consent_expiration_time",  # PENDING_EXPIRATION
    "reason",  # PENDING_DISCONNECT
    "new_webhook_url",  # WEBHOOK_UPDATE_ACKNOWLEDGED
)
_ERROR_FIELDS = ("error_type", "error_code")  # ITEM ERROR; never the message (wording may change)

# Webhooks that move the connection's state: each signed delivery is an occurrence (module docstring).
PER_DELIVERY: frozenset[tuple[str, str]] = frozenset(
    {
        ("ITEM", "ERROR"),
        ("ITEM", "LOGIN_REPAIRED"),
        ("ITEM", "USER_PERMISSION_REVOKED"),
        ("ITEM", "USER_ACCOUNT_REVOKED"),
    }
)


def webhook_event_key(body: Mapping[str, Any], issued_at: float | None = None) -> str:
    """A deduplication key for one Plaid webhook event: `plaid:{item}:{type}:{code}:{digest}`.

    The key is built from item_id, webhook_type, webhook_code, the distinguishing fields above
    and the error's type and code, serialised canonically: keys sorted, no whitespace, numbers
    normalised. Re-serialising the body, reordering its keys, or parsing numbers as float, int
    or Decimal therefore gives the same key. A field outside that list, such as a message
    text, does not change it. With `issued_at` (the verified JWT's `iat`, given for the
    `PER_DELIVERY` webhooks) the key is one signed delivery's; without, one content's.

    Limit of a content key: two distinct events with the same content get the same key, e.g.
    two SYNC_UPDATES_AVAILABLE for an Item whose history is complete, or two
    NEW_ACCOUNTS_AVAILABLE. Within the idempotency window the second counts as a duplicate.
    The window covers Plaid's retries, but then a repeated "new data" notification is only
    picked up by the next import.
    """
    selected: dict[str, Any] = {
        "item_id": body.get("item_id"),
        "webhook_type": body.get("webhook_type"),
        "webhook_code": body.get("webhook_code"),
    }
    selected |= {name: body[name] for name in _DISTINGUISHING if body.get(name) is not None}
    error = body.get("error")
    if isinstance(error, Mapping):
        selected["error"] = {name: error.get(name) for name in _ERROR_FIELDS if error.get(name) is not None}
    if issued_at is not None:
        selected["iat"] = issued_at
    canonical = json.dumps(_canonical(selected), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]
    item, kind, code = (_readable(selected[name]) for name in ("item_id", "webhook_type", "webhook_code"))
    return f"plaid:{item}:{kind}:{code}:{digest}"


def _canonical(value: Any) -> Any:
    """JSON values whose serialisation does not depend on how the body was parsed."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        if not number.is_finite():
            return str(number)
        if number == number.to_integral_value():
            return int(number)
        return format(number.normalize(), "f")  # 1.50 and 1.5 alike, as a string
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return str(value)


def _readable(value: Any) -> str:
    """A short, log-safe label for the key's prefix (the digest is what makes it unique)."""
    text = value if isinstance(value, str) else "-"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64] or "-"


# Plaid (webhook_type, webhook_code) -> the port-level event the connections use case applies.
_EVENTS: dict[tuple[str, str], str] = {
    ("TRANSACTIONS", "SYNC_UPDATES_AVAILABLE"): "new_data",
    ("ITEM", "LOGIN_REPAIRED"): "login_repaired",
    ("ITEM", "PENDING_EXPIRATION"): "expiring",
    ("ITEM", "PENDING_DISCONNECT"): "expiring",
    ("ITEM", "NEW_ACCOUNTS_AVAILABLE"): "new_accounts",
    ("ITEM", "USER_PERMISSION_REVOKED"): "revoked",
    ("ITEM", "USER_ACCOUNT_REVOKED"): "revoked",
}


def provider_event(body: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(item_id, event, details) of a verified webhook, or None for one we do not act on."""
    item_id = body.get("item_id")
    kind = (str(body.get("webhook_type", "")), str(body.get("webhook_code", "")))
    if not isinstance(item_id, str) or not item_id:
        return None
    details: dict[str, Any] = {}
    if kind == ("ITEM", "ERROR"):
        error = body.get("error")
        if not isinstance(error, Mapping) or error.get("error_code") != "ITEM_LOGIN_REQUIRED":
            return None
        return item_id, "login_required", {"error_code": "ITEM_LOGIN_REQUIRED"}
    event = _EVENTS.get(kind)
    if event is None:
        return None
    expiry = body.get("consent_expiration_time")
    if isinstance(expiry, str):
        with contextlib.suppress(ValueError):
            details["expires_at"] = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
    return item_id, event, details
