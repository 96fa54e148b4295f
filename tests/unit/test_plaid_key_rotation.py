"""Issue 17 item 9: made-up `kid`s from unauthenticated requests cannot spend the Plaid key-fetch
budget, so a key rotation never makes genuine webhooks fail. A kid that is not cached is fetched
only for a webhook naming a Plaid item we hold; each kid at most once per negative-cache time; and
all kids together at most `MAX_KEY_FETCHES` a window. Every figure counts the fetcher's calls."""

from __future__ import annotations

import json

import pytest

from shared.adapters.aggregator.plaid_webhooks import MAX_KEY_FETCHES, PlaidWebhookVerifier
from tests.unit.test_plaid_webhooks import (
    BODY,
    Clock,
    Keys,
    claims_for,
    clock,
    es256,
    headers_for,
    keys,
    own_key,
    rejected,
    sandbox,
    signing_clock,
)

__all__ = ["clock", "keys", "sandbox", "signing_clock"]  # the fixtures of the verifier's tests

OUR_ITEM = json.loads(BODY)["item_id"]  # the item BODY names


class Items:
    """Our Plaid items, as the composition root looks them up (access pattern 24); counts lookups."""

    def __init__(self, *held: str) -> None:
        self.held = set(held)
        self.lookups = 0

    def __call__(self, item_id: str) -> bool:
        self.lookups += 1
        return item_id in self.held


def body_naming(item_id: object) -> bytes:
    return json.dumps(
        {"webhook_type": "TRANSACTIONS", "webhook_code": "DEFAULT_UPDATE", "item_id": item_id}
    ).encode()


@pytest.fixture
def items() -> Items:
    return Items(OUR_ITEM)


@pytest.fixture
def gated(keys: Keys, clock: Clock, items: Items) -> PlaidWebhookVerifier:
    return PlaidWebhookVerifier(keys, clock=clock, holds_item=items)


def test_a_flood_of_made_up_kids_then_a_rotated_key_verifies(gated, keys, clock):
    attacker, _ = own_key()
    for n in range(1000):  # unauthenticated: made-up kids, made-up or missing items
        body = body_naming(f"item-{n}") if n % 2 else b'{"webhook_type": "ITEM"}'
        headers = headers_for(es256(attacker, f"made-up-{n}", claims_for(body, clock.now)))
        assert rejected(gated, headers, body) == "key_not_cached_item_not_held"
    assert keys.calls == []  # the flood cost Plaid nothing

    rotated, rotated_jwk = own_key()  # Plaid rotated: a key no cache has seen
    keys.jwks["rotated"] = rotated_jwk
    claims = gated.verify(headers_for(es256(rotated, "rotated", claims_for(BODY, clock.now))), BODY)

    assert claims["iat"] == int(clock.now.timestamp())
    assert keys.calls == ["rotated"]


def test_the_same_flood_without_the_item_gate_would_lock_the_rotated_key_out(keys, clock):
    """The defect this fixes: with one budget for every kid, the flood spends it all."""
    verifier = PlaidWebhookVerifier(keys, clock=clock)
    attacker, _ = own_key()
    for n in range(MAX_KEY_FETCHES):
        rejected(verifier, headers_for(es256(attacker, f"made-up-{n}", claims_for(at=clock.now))))
    rotated, keys.jwks["rotated"] = own_key()
    headers = headers_for(es256(rotated, "rotated", claims_for(BODY, clock.now)))
    assert rejected(verifier, headers) == "key_fetch_budget_exhausted"


def test_one_unknown_kid_naming_our_item_is_fetched_at_most_once_per_negative_cache_time(keys, clock, items):
    verifier = PlaidWebhookVerifier(keys, clock=clock, holds_item=items, unknown_key_ttl=60)
    forger, _ = own_key()
    for _ in range(30):  # t = 0, 10, ..., 290 s: five windows of 60 s
        assert (
            rejected(verifier, headers_for(es256(forger, "unknown", claims_for(at=clock.now))))
            == "key_unknown"
        )
        clock.advance(seconds=10)
    assert keys.calls == ["unknown"] * 5


def test_made_up_kids_naming_our_item_stay_within_the_global_ceiling(gated, keys, clock):
    """Someone who knows one of our item ids can reach the ceiling, never pass it."""
    forger, _ = own_key()
    for minute in range(3):
        for n in range(100):
            headers = headers_for(es256(forger, f"m{minute}-{n}", claims_for(at=clock.now)))
            rejected(gated, headers)
        clock.advance(seconds=60)
    assert len(keys.calls) == 3 * MAX_KEY_FETCHES


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[" * 1000 + b"]" * 1000,  # too deep: refused by the request limits, no RecursionError
        b'"a string"',
        body_naming(12345),
        body_naming(""),
        body_naming("x" * 129),
    ],
    ids=["not-json", "too-deep", "not-an-object", "item-not-a-string", "item-empty", "item-too-long"],
)
def test_a_body_that_names_no_plausible_item_costs_no_fetch_and_no_lookup(gated, keys, items, clock, body):
    forger, _ = own_key()
    headers = headers_for(es256(forger, "made-up", claims_for(body, clock.now)))
    assert rejected(gated, headers, body) == "key_not_cached_item_not_held"
    assert (keys.calls, items.lookups) == ([], 0)


def test_a_cached_key_verifies_without_looking_the_item_up(gated, sandbox, keys, items, clock):
    gated.verify(headers_for(sandbox.sign_body(BODY)), BODY)
    other = body_naming("an-item-we-no-longer-hold")
    gated.verify(headers_for(sandbox.sign_body(other)), other)  # the event decides what it means
    assert keys.calls == [sandbox.signing_key_id]
    assert items.lookups == 1  # only for the first fetch
