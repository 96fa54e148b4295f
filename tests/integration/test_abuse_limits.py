"""Abuse limits on moto (issue 17 item 7): the DynamoDB counters (#85), the 429 a route answers, a
GoCardless callback replay, "reauthorise all" (capped, Idempotency-Key) and a refresh while its import
is queued. The rules themselves: tests/unit/test_abuse_limit_rules.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from shared import bootstrap
from shared.adapters.dynamodb.limits_repository import DynamoLimiter
from shared.domain.aggregator import AggregatorUnavailable
from shared.domain.connections import ConnectionStatus
from shared.domain.limits import LIMITS, MAX_REAUTHORISATIONS_PER_CALL, Charge, LimitReached
from shared.ports.connections import ConnectionAddress
from tests.conftest import FakeLambdaContext, api_event
from tests.integration.onboarding_support import ADMIN, INVITEE, call, seed_firms
from tests.integration.test_connections import (
    GOCARDLESS_BANK,
    approve_at_gocardless,
    callback,
    connect,
)
from tests.integration.test_connections import customer_id as customer_id  # the fixture

NOW = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)


def items(prefix: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(  # a test's look at the whole table, never the code's
        TableName="data",
        FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": prefix}},
    )["Items"]


# the counters ------------------------------------------------------------------------------------
def test_a_counter_per_limit_subject_and_window_spent_all_or_none_with_a_ttl(aws):
    limiter = DynamoLimiter("data")
    user = Charge(LIMITS["calls_per_user"], "user-1")
    connection = Charge(LIMITS["calls_per_connection"], "conn-1")
    for _ in range(10):
        limiter.spend([user, connection], NOW)
    with pytest.raises(LimitReached) as refused:
        limiter.spend([user, connection], NOW + timedelta(minutes=20))
    assert refused.value.limit.name == "calls_per_connection"
    assert refused.value.retry_after_seconds == 10 * 60  # 09:50: the hour's window ends at 10:00
    assert limiter.spent(user, NOW) == 10  # the refused spend took nothing from the other limit
    limiter.spend([user, Charge(LIMITS["calls_per_connection"], "conn-2")], NOW)  # another subject
    limiter.spend([user, connection], NOW + timedelta(minutes=30))  # the next window
    assert limiter.spent(connection, NOW + timedelta(minutes=30)) == 1
    with pytest.raises(LimitReached):
        limiter.spend([replace(user, amount=61)], NOW)  # more than the limit at once: never
    stored = items("LIMIT#calls_per_connection#conn-1#")
    assert len(stored) == 2 and all(item["SK"]["S"] == "LIMIT" for item in stored)
    first = min(stored, key=lambda item: item["PK"]["S"])
    assert int(first["expires_at"]["N"]) == int(datetime(2026, 6, 17, 11, tzinfo=UTC).timestamp())


# a route's 429 -----------------------------------------------------------------------------------
def invite(email: str) -> dict[str, Any]:
    event = api_event("POST", "/customers/invitations", user=ADMIN, body={"name": "Jane Doe", "email": email})
    return invitations.lambda_handler(event, FakeLambdaContext())


def test_the_fourth_invitation_email_of_the_day_to_an_address_is_a_429_with_retry_after(sandboxes):
    seed_firms()
    answers = [invite("jane.limit@example.org") for _ in range(4)]
    assert [a["statusCode"] for a in answers] == [201, 200, 200, 429]
    body = json.loads(answers[3]["body"])
    assert body["code"] == "rate_limited" and "per day" in body["message"]
    now = sandboxes.now
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    assert abs(int(answers[3]["headers"]["Retry-After"]) - (midnight - now).total_seconds()) <= 2
    from tests.integration.onboarding_support import sent_emails

    assert sum("jane.limit@example.org" in m.to for m in sent_emails()) == 3


# the GoCardless callback ---------------------------------------------------------------------------
class Counted:
    """The sandboxes' requests as the provider sees them."""

    def __init__(self, sandboxes, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests = 0
        original = sandboxes.gocardless.handle

        def handle(*args: Any) -> Any:
            self.requests += 1
            return original(*args)

        monkeypatch.setattr(sandboxes.gocardless, "handle", handle)


def test_a_failed_callback_replay_contacts_no_provider_and_spends_no_budget(
    sandboxes, customer_id, monkeypatch
):
    started = connect("gocardless", GOCARDLESS_BANK)
    ref = approve_at_gocardless(sandboxes, started["consent_url"])
    adapter = sandboxes.adapters["gocardless"]
    read_accounts = adapter.list_accounts

    def fails_after_reading(*args: Any, **kwargs: Any) -> Any:
        read_accounts(*args, **kwargs)  # the accounts' requests are made (and spent), then it fails
        raise AggregatorUnavailable("the provider failed half way")

    monkeypatch.setattr(adapter, "list_accounts", fails_after_reading)
    counted = Counted(sandboxes, monkeypatch)
    assert callback(ref) == "error"
    asked, budget, limits = counted.requests, items("BUDGET#"), items("LIMIT#")
    assert asked > 0 and budget and limits
    for _ in range(3):  # the browser's back button, a reload, a replay by someone else
        assert callback(ref) in ("pending", "invalid")
    assert counted.requests == asked  # the provider was not contacted again
    assert items("BUDGET#") == budget  # no request budget spent
    assert items("LIMIT#") == limits  # no abuse limit spent
    # the app completes the consent, which the reference can no longer do
    monkeypatch.setattr(adapter, "list_accounts", read_accounts)
    done = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/complete",
        INVITEE,
        path_parameters={"connection_id": started["connection"]["connection_id"]},
        body={},
    )
    assert done[0] == 200 and done[1]["status"] == "linked"


def test_a_callback_beyond_the_connections_limit_asks_nothing_and_keeps_its_reference(
    sandboxes, customer_id, monkeypatch
):
    started = connect("gocardless", GOCARDLESS_BANK)
    ref = approve_at_gocardless(sandboxes, started["consent_url"])
    full = Charge(LIMITS["calls_per_connection"], started["connection"]["connection_id"], 10)
    bootstrap.limiter().spend([full], sandboxes.now)
    counted = Counted(sandboxes, monkeypatch)
    assert callback(ref) == "rate_limited"
    assert counted.requests == 0
    sandboxes.now += timedelta(hours=1)
    assert callback(ref) == "linked"  # the reference was not used up


# reauthorise all -----------------------------------------------------------------------------------
def expire(connection_id: str) -> None:
    store = bootstrap.connections_repository()
    address = store.locate(connection_id)
    assert address is not None
    current = store.get(address)
    assert current is not None
    store.save(replace(current, status=ConnectionStatus.EXPIRED), current)


def reauthorise_all(key: str | None) -> tuple[int, list[dict[str, Any]]]:
    headers = {"Idempotency-Key": key} if key else None
    return call(connections_api, "POST", "/connections/reauthorise", INVITEE, headers=headers)


def test_reauthorise_all_starts_at_most_ten_and_a_replayed_key_starts_nothing_again(
    sandboxes, customer_id, monkeypatch
):
    ids = [connect("gocardless", GOCARDLESS_BANK)["connection"]["connection_id"] for _ in range(12)]
    for connection_id in ids:
        expire(connection_id)
    counted = Counted(sandboxes, monkeypatch)
    status, done = reauthorise_all("renew-1")
    assert status == 200 and len(done) == 12
    started = [d for d in done if d["started"]]
    capped = [d for d in done if d["error"] and d["error"]["code"] == "reauthorisation_cap"]
    assert (len(started), len(capped)) == (MAX_REAUTHORISATIONS_PER_CALL, 2)
    asked = counted.requests
    assert reauthorise_all("renew-1") == (200, done)  # the first answer again
    assert counted.requests == asked
    assert reauthorise_all("renew-2")[0] == 200  # a new key is a new request


# refresh while an import is queued -----------------------------------------------------------------
def test_thirty_refreshes_of_one_connection_queue_one_import(sandboxes, customer_id):
    started = connect("gocardless", GOCARDLESS_BANK)
    assert callback(approve_at_gocardless(sandboxes, started["consent_url"])) == "linked"
    on = {"connection_id": started["connection"]["connection_id"]}
    states = []
    for _ in range(30):
        status, body = call(
            connections_api, "POST", "/connections/{connection_id}/refresh", INVITEE, path_parameters=on
        )
        assert status == 202
        states.append(body["import_state"])
    assert states == ["queued"] + ["already_queued"] * 29
    queue = boto3.client("sqs").get_queue_url(QueueName="imports")["QueueUrl"]
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
    address = bootstrap.connections_repository().locate(on["connection_id"])
    assert isinstance(address, ConnectionAddress)
