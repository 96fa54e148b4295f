"""Plaid webhooks through the real route: verified, once, never a step back (R-CON-5)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import boto3
import pytest

from functions.connections_api import handler as connections_api
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.dynamodb.connections_repository import ConnectionAddress
from shared.services import connections
from tests.integration.connection_support import jane_with_plaid
from tests.integration.onboarding_support import call

ROUTE = "/webhooks/plaid"


@pytest.fixture
def item_id(sandboxes) -> str:
    """Jane's linked Plaid connection; returns its item id."""
    customer_id, connection_id = jane_with_plaid(sandboxes)
    ports = bootstrap.connections()
    connection = ports.connections.get(ConnectionAddress(DEMO_FIRM.firm_id, customer_id, connection_id))
    assert connection.item_id
    return connection.item_id


def deliver(sandboxes, body: dict, *, signature_for: bytes | None = None, headers: dict | None = None):
    raw = json.dumps(body, indent=2).encode()
    signed = sandboxes.plaid.sign_body(signature_for if signature_for is not None else raw)
    return call(
        connections_api,
        "POST",
        ROUTE,
        None,
        body=raw.decode(),
        headers=headers if headers is not None else {"plaid-verification": signed},
    )


def queued_imports() -> int:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports")["QueueUrl"]
    return int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )


def sync(item_id: str) -> dict:
    return {
        "webhook_type": "TRANSACTIONS",
        "webhook_code": "SYNC_UPDATES_AVAILABLE",
        "item_id": item_id,
        "initial_update_complete": True,
        "historical_update_complete": True,
        "environment": "sandbox",
    }


def status_of(item_id: str) -> str:
    ports = bootstrap.connections()
    return ports.connections.get(ports.connections.locate_by_item(item_id)).status.value


def test_a_valid_event_queues_an_import_once_however_often_it_comes(sandboxes, item_id):
    before = queued_imports()
    answers = [deliver(sandboxes, sync(item_id)) for _ in range(5)]
    assert answers[0] == (200, {"received": True, "outcome": "import_queued"})
    assert all(status == 200 for status, _ in answers)
    assert queued_imports() - before == 1


def test_concurrent_duplicates_have_one_side_effect(sandboxes, item_id, atomic_aws_requests):
    before = queued_imports()
    reader = bootstrap.plaid_webhook_reader()
    raw = json.dumps(sync(item_id)).encode()
    headers = {"plaid-verification": sandboxes.plaid.sign_body(raw)}
    ports = bootstrap.connections()

    def receive(_: int) -> str:
        try:
            return connections.receive_webhook(ports, reader, headers, raw)
        except Exception as error:  # the loser of a race sees "in progress": Plaid retries later
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(receive, range(5)))
    assert outcomes.count("import_queued") >= 1
    assert queued_imports() - before == 1


@pytest.mark.parametrize(
    "forge",
    ["tampered", "missing_header", "stale", "other_body"],
)
def test_forged_or_stale_events_are_rejected_and_change_nothing(sandboxes, item_id, forge):
    before = queued_imports()
    body = sync(item_id)
    if forge == "tampered":
        raw = json.dumps(body, indent=2).encode()
        signature = sandboxes.plaid.sign_body(raw)
        tampered = raw.replace(b"sandbox", b"sandbax")
        answer = call(
            connections_api,
            "POST",
            ROUTE,
            None,
            body=tampered.decode(),
            headers={"plaid-verification": signature},
        )
    elif forge == "missing_header":
        answer = deliver(sandboxes, body, headers={})
    elif forge == "stale":
        raw = json.dumps(body).encode()
        signature = sandboxes.plaid.sign_body(raw)
        sandboxes.now += timedelta(minutes=5, seconds=1)
        answer = call(
            connections_api, "POST", ROUTE, None, body=raw.decode(), headers={"plaid-verification": signature}
        )
    else:
        answer = deliver(sandboxes, body, signature_for=b"{}")
    assert answer == (401, {"code": "webhook_rejected", "message": "The webhook could not be verified."})
    assert queued_imports() == before and status_of(item_id) == "linked"


def test_login_required_then_repaired_and_no_step_back_after_a_revoke(sandboxes, item_id):
    error = {
        "webhook_type": "ITEM",
        "webhook_code": "ERROR",
        "item_id": item_id,
        "error": {"error_type": "ITEM_ERROR", "error_code": "ITEM_LOGIN_REQUIRED", "error_message": "x"},
    }
    repaired = {"webhook_type": "ITEM", "webhook_code": "LOGIN_REPAIRED", "item_id": item_id}
    revoked = {"webhook_type": "ITEM", "webhook_code": "USER_PERMISSION_REVOKED", "item_id": item_id}
    assert deliver(sandboxes, error)[1]["outcome"] == "credentials_rejected"
    assert status_of(item_id) == "credentials_rejected"
    assert deliver(sandboxes, repaired)[1]["outcome"] == "linked"
    assert deliver(sandboxes, revoked)[1]["outcome"] == "revoked"
    sandboxes.now += timedelta(seconds=1)  # a late, re-signed "repaired" must not revive it
    assert deliver(sandboxes, {**repaired, "environment": "sandbox"})[1]["outcome"] == "not_applicable"
    assert status_of(item_id) == "revoked"
    assert deliver(sandboxes, sync(item_id))[1]["outcome"] == "not_importable"


def test_unknown_types_and_items_are_accepted_and_ignored(sandboxes, item_id):
    assert deliver(sandboxes, {"webhook_type": "INCOME", "webhook_code": "WHATEVER", "item_id": item_id}) == (
        200,
        {"received": True, "outcome": "ignored"},
    )
    assert deliver(sandboxes, sync("item-we-never-saw"))[1]["outcome"] == "unknown_item"
