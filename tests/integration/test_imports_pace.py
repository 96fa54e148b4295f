"""GoCardless's company-wide pace in the running system (issue 20): with this minute's 100 account
requests spent, an import job sends nothing to the bank and comes back at the next minute (not a
failure, not the DLQ, not a spent budget), the connection showing when; at the next minute it
imports. People's calls that read accounts answer 429 with the next minute, as for GoCardless's own."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.connections_api import handler as connections_api
from shared import bootstrap
from shared.domain.aggregator import calls_kept_for_people
from shared.domain.connections import Connection
from shared.domain.jobs import ImportJob
from tests.conftest import FakeLambdaContext, api_event
from tests.integration.onboarding_support import INVITEE, call
from tests.integration.test_imports import dead_letters, deliver, linked, stored


def spend_this_minute(sandboxes: Any, requests: int = 100) -> datetime:
    """The clock at second 1 of a later minute (the test stays within it), `requests` of whose 100
    are spent (all of them by default; 80: the imports' share, the fifth kept for people left)."""
    start = (sandboxes.now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    sandboxes.now = start + timedelta(seconds=1)
    pace = bootstrap.request_pace()
    for _ in range(requests):
        pace.admit()
    return start


@pytest.fixture
def account_requests(sandboxes: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests the GoCardless sandbox receives for account endpoints."""
    sent: list[str] = []
    real = sandboxes.gocardless.handle

    def handle(method: str, path: str, *rest: Any) -> Any:
        if path.startswith("/api/v2/accounts/"):
            sent.append(path)
        return real(method, path, *rest)

    monkeypatch.setattr(sandboxes.gocardless, "handle", handle)
    return sent


def connection_of(job: ImportJob) -> Connection:
    ports = bootstrap.connections()
    address = ports.connections.locate(job.connection_id)
    assert address is not None
    found = ports.connections.get(address)
    assert found is not None
    return found


def delayed_imports() -> str:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    return attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"]


def test_an_import_in_a_spent_minute_sends_nothing_and_imports_at_the_next(sandboxes, account_requests):
    job, _ = linked(sandboxes)
    account_requests.clear()
    minute = spend_this_minute(sandboxes)

    assert deliver(job.to_json()) == {"batchItemFailures": []}  # handled: re-sent with a delay

    assert account_requests == []
    assert delayed_imports() == "1" and dead_letters() == []
    # The company's minute, not the connection's: nothing held on it (people may still use it).
    assert connection_of(job).rate_limited_until is None
    assert connection_of(job).last_import_outcome is None  # neither failed nor budget_spent
    assert stored(job) == []

    sandboxes.now = minute + timedelta(minutes=1, seconds=1)
    assert deliver(job.to_json()) == {"batchItemFailures": []}

    assert any(path.endswith("/transactions/") for path in account_requests)
    assert connection_of(job).last_import_outcome == "imported"
    assert stored(job) != []
    assert bootstrap.request_pace().calls_this_minute() == len(account_requests)


def test_peoples_calls_in_a_spent_minute_answer_as_for_a_429(sandboxes, account_requests):
    """Find-new-accounts reads the bank now: 429 until the next minute. A refresh only queues an
    import (202), whose job then waits for the minute as above."""
    job, _ = linked(sandboxes)
    account_requests.clear()
    minute = spend_this_minute(sandboxes)
    path = {"connection_id": job.connection_id}

    event = api_event(
        "POST", "/connections/{connection_id}/find-new-accounts", user=INVITEE, path_parameters=path
    )
    response = connections_api.lambda_handler(event, FakeLambdaContext())
    body = json.loads(response["body"])
    assert response["statusCode"] == 429, body
    assert body["code"] == "aggregator_rate_limited"
    assert body["reset_at"] == (minute + timedelta(minutes=1)).isoformat()
    assert 0 < int(response["headers"]["Retry-After"]) <= 59
    status, _ = call(
        connections_api, "POST", "/connections/{connection_id}/refresh", INVITEE, path_parameters=path
    )
    assert status == 202

    assert account_requests == []


def test_the_imports_use_the_background_adapters_and_people_the_others(aws):
    """The imports stop a fifth short of GoCardless's minute (tests/unit/test_aggregator_port.py): a
    customer back from their bank during a long Data Refresh still has their accounts read."""
    from shared.adapters import aggregator

    assert bootstrap.imports().providers is aggregator.background_provider
    assert bootstrap.connections().providers is aggregator.provider


def test_a_person_is_served_from_the_fifth_the_imports_leave(sandboxes, account_requests):
    """The imports' 80 of the minute spent (a Data Refresh running): an import job waits for its
    turn, while the customer's find-new-accounts on that same connection reads their bank now."""
    job, _ = linked(sandboxes)
    account_requests.clear()
    minute = spend_this_minute(sandboxes, 100 - calls_kept_for_people(100))

    assert deliver(job.to_json()) == {"batchItemFailures": []}  # re-sent at its turn
    assert account_requests == [] and delayed_imports() == "1"
    assert connection_of(job).rate_limited_until is None

    path = {"connection_id": job.connection_id}
    status, body = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/find-new-accounts",
        INVITEE,
        path_parameters=path,
    )
    assert status == 200, body
    assert account_requests != []  # read from the people's share of this same minute
    assert 80 < bootstrap.request_pace().calls_this_minute() <= 100
    assert sandboxes.now < minute + timedelta(minutes=1)
