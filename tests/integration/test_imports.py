"""Imports on moto + the GoCardless sandbox, through the real worker (R-IMP-1..4, R-CON-6)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import boto3
import pytest

from functions.connections_api import handler as connections_api
from functions.import_worker import handler as worker
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from local.sandbox.gocardless_data import BOOKING_LAG_DAYS
from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client
from shared.domain.imports import last_closed_day
from shared.domain.jobs import ImportJob, ImportReason
from shared.services.credentials import provider_credential
from tests.calendar_matrix import demo_firm_zone
from tests.conftest import FakeLambdaContext
from tests.integration.onboarding_support import (
    ADMIN,
    INVITEE,
    call,
    invitation_tokens,
    seed_firms,
    take_first_imports,
)
from tests.integration.test_connections import approve_at_gocardless, callback

BANK = "DEMOBANK_DMBKGB2L"  # has transaction ids
NO_IDS_BANK = "NORTHWYND_NWYDGB21"  # gives no transactionId: fingerprints


def linked(sandboxes, bank: str = BANK) -> tuple[ImportJob, str]:
    """Jane connected `bank`, the admin accepted its first account: the import job and account id."""
    seed_firms()
    _, customer = call(
        invitations, "POST", "/customers/invitations", ADMIN, body={"name": "Jane", "email": INVITEE.email}
    )
    [token] = invitation_tokens(INVITEE.email)
    call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token})
    _, started = call(
        connections_api,
        "POST",
        "/connections",
        INVITEE,
        body={"provider": "gocardless", "institution_id": bank},
    )
    assert callback(approve_at_gocardless(sandboxes, started["consent_url"])) == "linked"
    customer_id = customer["customer_id"]
    _, accounts = call(
        invitations,
        "GET",
        "/customers/{customer_id}/accounts",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    account_id = accounts["new_accounts"][0]["account_id"]
    call(
        invitations,
        "POST",
        "/customers/{customer_id}/accounts/{account_id}/accept",
        ADMIN,
        path_parameters={"customer_id": customer_id, "account_id": account_id},
    )
    [first] = take_first_imports()  # the accepted account's own first import (issue 16)
    assert first["accounts"] == [account_id]
    job = ImportJob(
        DEMO_FIRM.firm_id, customer_id, started["connection"]["connection_id"], ImportReason.SCHEDULE
    )
    return job, account_id


def stored(job: ImportJob) -> list[dict]:
    items, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = dynamodb_client().query(
            TableName="data",
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={
                ":pk": {"S": keys.customer_transactions_pk(job.firm_id, job.customer_id)}
            },
            **kwargs,
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def deliver(*bodies: str, receive_count: int = 1) -> dict:
    """The jobs as SQS delivers them to the worker (the real queue's ARN, for its redrive policy)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records = []
    for n, body in enumerate(bodies):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        records.append(
            {
                "messageId": f"m-{n}",
                "receiptHandle": message["ReceiptHandle"],
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "eu-west-2",
            }
        )
    return worker.lambda_handler({"Records": records}, FakeLambdaContext())


def dead_letters() -> list[dict]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports-dlq")["QueueUrl"]
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    )


@pytest.mark.calendar
def test_first_import_then_reimport_and_redelivery_write_nothing_new(sandboxes):
    job, _ = linked(sandboxes)
    assert deliver(job.to_json()) == {"batchItemFailures": []}
    first = stored(job)
    assert len(first) > 100
    amounts = [Decimal(item["amount"]["S"]) for item in first]
    assert all(amount == amount.quantize(Decimal("0.01")) for amount in amounts)
    assert any("€" in item["description"]["S"] or "é" in item["description"]["S"] for item in first)
    yesterday = last_closed_day(sandboxes.now, demo_firm_zone()).isoformat()
    assert (
        max(item["booking_date"]["S"] for item in first) <= yesterday
    )  # up to the close of the firm's yesterday

    report = bootstrap.imports()
    from shared.services.imports import import_connection

    again = import_connection(report, job)
    assert (again.written, again.deleted) == (0, 0) and again.unchanged > 0
    deliver(job.to_json())  # a redelivered message
    assert len(stored(job)) == len(first)


@pytest.mark.calendar
def test_pending_becomes_booked_without_duplicates(sandboxes):
    job, _ = linked(sandboxes)
    deliver(job.to_json())
    before = {i["transaction_key"]["S"]: i["pending"]["BOOL"] for i in stored(job)}
    sandboxes.now += timedelta(days=BOOKING_LAG_DAYS + 1)  # every line pending before is booked by then
    from shared.services.imports import import_connection

    import_connection(bootstrap.imports(), job)
    after = stored(job)
    keys_after = [i["transaction_key"]["S"] for i in after]
    assert len(keys_after) == len(set(keys_after))
    was_pending = [k for k, pending in before.items() if pending]
    still_pending = {i["transaction_key"]["S"] for i in after if i["pending"]["BOOL"]}
    assert was_pending and not (set(was_pending) & still_pending - set(was_pending))
    assert not any(k in still_pending for k in was_pending)  # yesterday's pendings were replaced


def test_fingerprinted_transactions_are_stored_once(sandboxes):
    job, _ = linked(sandboxes, NO_IDS_BANK)
    deliver(job.to_json())
    first = stored(job)
    assert first and all(i["transaction_key"]["S"].startswith("fp_") for i in first)
    deliver(job.to_json())
    assert len(stored(job)) == len(first)


@pytest.mark.calendar
def test_the_gap_after_a_reauthorisation_is_backfilled(sandboxes):
    job, _ = linked(sandboxes)
    deliver(job.to_json())
    last_day = max(i["booking_date"]["S"] for i in stored(job))
    sandboxes.now += timedelta(days=95)  # the consent lapsed for a few days
    from shared.services.imports import import_connection

    assert import_connection(bootstrap.imports(), job).outcome.value == "consent_expired"
    _, again = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/reauthorise",
        INVITEE,
        path_parameters={"connection_id": job.connection_id},
    )
    assert callback(approve_at_gocardless(sandboxes, again["consent_url"])) == "linked"
    import_connection(bootstrap.imports(), job)
    days = {i["booking_date"]["S"] for i in stored(job)}
    # What the bank has for the gap, asked directly (no budget involved):
    from shared.domain.aggregator import DateWindow

    ports = bootstrap.imports()
    [connection] = ports.connections.list_for_customer(job.firm_id, job.customer_id)
    account = next(
        a
        for a in ports.accounts.list_for_customer(job.firm_id, job.customer_id)
        if a.status.value == "accepted"
    )
    gap = DateWindow(
        date.fromisoformat(last_day) + timedelta(days=1), sandboxes.now.date() - timedelta(days=1)
    )
    truth = sandboxes.provider("gocardless").fetch_transactions(
        provider_credential(ports.credentials, connection), account.provider_account_id, gap
    )
    booked_days = {t.booking_date.isoformat() for t in truth.added if t.booking_date and not t.pending}
    assert len(booked_days) > 60 and booked_days <= days


@pytest.mark.calendar
def test_an_expired_consent_is_parked_with_the_customer_told(sandboxes):
    job, _ = linked(sandboxes)
    sandboxes.now += timedelta(days=91)
    assert deliver(job.to_json()) == {"batchItemFailures": []}  # parked for a known reason, not retried
    [connection] = bootstrap.connections().connections.list_for_customer(job.firm_id, job.customer_id)
    assert connection.status.value == "expired"
    _, notes = call(
        __import__("functions.platform_api.handler", fromlist=["x"]), "GET", "/me/notifications", INVITEE
    )
    assert [n["kind"] for n in notes["items"]] == ["connection.expired", "account.accepted"]


def test_a_rate_limit_delays_the_job_instead_of_failing_it(sandboxes):
    job, _ = linked(sandboxes)
    sandboxes.gocardless.handle(
        "POST",
        "/_control/failures",
        {},
        {},
        json.dumps({"path_prefix": "/api/v2/accounts/", "status": 429, "times": 5}).encode(),
    )
    response = deliver(job.to_json())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert dead_letters() == []
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # invisible until the reset


def test_a_poison_message_goes_to_the_dlq_with_its_reason_and_the_rest_succeed(sandboxes):
    job, _ = linked(sandboxes)
    assert deliver("{not json", job.to_json()) == {"batchItemFailures": []}
    [parked] = dead_letters()
    assert parked["Body"] == "{not json"
    assert parked["MessageAttributes"]["failure_reason"]["StringValue"].startswith("poison")
    assert stored(job)


@pytest.mark.parametrize("firm_id", ["", "  ", 7, None])
def test_a_job_without_a_firm_is_parked_as_poison_at_once(sandboxes, firm_id):
    """The worker binds its ports to the job's firm: a job naming none is not one of ours."""
    job, _ = linked(sandboxes)
    body = json.dumps({**json.loads(job.to_json()), "firm_id": firm_id})
    assert deliver(body, receive_count=1) == {"batchItemFailures": []}  # not retried
    [parked] = dead_letters()
    assert parked["MessageAttributes"]["failure_reason"]["StringValue"].startswith("poison")


def test_a_failing_job_is_retried_then_parked_with_its_reason(sandboxes):
    job, _ = linked(sandboxes)
    sandboxes.gocardless.handle(
        "POST",
        "/_control/failures",
        {},
        {},
        json.dumps({"path_prefix": "/api/v2/accounts/", "status": 500, "times": 100}).encode(),
    )
    assert deliver(job.to_json(), receive_count=1) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert dead_letters() == []
    assert deliver(job.to_json(), receive_count=5) == {"batchItemFailures": []}  # last delivery
    [parked] = dead_letters()
    assert "AggregatorUnavailable" in parked["MessageAttributes"]["failure_reason"]["StringValue"]


@pytest.mark.calendar
def test_the_daily_budget_is_shared_and_never_exceeded(sandboxes):
    job, _ = linked(sandboxes)
    from shared.services.imports import import_connection

    outcomes = [import_connection(bootstrap.imports(), job).outcome.value for _ in range(6)]
    assert outcomes == ["imported"] * 4 + ["budget_spent"] * 2


def test_the_dispatcher_queues_one_job_per_active_connection(sandboxes):
    job, _ = linked(sandboxes)
    from functions.import_dispatcher import handler as dispatcher

    assert dispatcher.lambda_handler({"job": "daily-import"}, FakeLambdaContext()) == {"jobs_queued": 1}
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert ImportJob.from_json(message["Body"]) == job


def test_a_firm_user_imports_a_customer_now(sandboxes):
    job, _ = linked(sandboxes)
    status, body = call(
        connections_api,
        "POST",
        "/customers/{customer_id}/imports",
        ADMIN,
        path_parameters={"customer_id": job.customer_id},
    )
    assert (status, body) == (202, {"jobs_queued": 1, "already_queued": 0})
    from tests.integration.onboarding_support import ADVISER, OTHER_ADVISER

    for outsider in (ADVISER, OTHER_ADVISER):
        assert (
            call(
                connections_api,
                "POST",
                "/customers/{customer_id}/imports",
                outsider,
                path_parameters={"customer_id": job.customer_id},
            )[0]
            == 404
        )


def test_a_transaction_whose_day_changes_moves_instead_of_duplicating(sandboxes):
    """A pending with an id that is later booked on another day keeps one row (review finding)."""
    from dataclasses import replace as change

    from shared.domain.aggregator import AggregatorTransaction, SyncCursor, TransactionPage
    from shared.services.imports import import_connection

    job, account_id = linked(sandboxes)
    ports = bootstrap.imports()
    account = ports.accounts.get(job.firm_id, job.customer_id, account_id)
    yesterday = sandboxes.now.date() - timedelta(days=1)
    pending = AggregatorTransaction(
        transaction_id="T1",
        internal_id=None,
        account_id=account.provider_account_id,
        booking_date=None,
        value_date=yesterday - timedelta(days=2),
        amount=Decimal("-5.00"),
        currency="GBP",
        description="Coffee",
        counterparty=None,
        pending=True,
    )
    pages = iter([pending, change(pending, pending=False, booking_date=yesterday)])

    class OneLine:
        feed_per_account = False
        name = "gocardless"

        def initial_cursor(self, since):
            return SyncCursor(None)

        def list_accounts(self, credential, *, only=None, skip=None):
            return []

        def fetch_transactions(self, credential, account_id, cursor):
            return TransactionPage(
                added=(next(pages),), modified=(), removed=(), next_cursor=SyncCursor("x"), complete=True
            )

    one_line = change(ports, providers=lambda _: OneLine())
    import_connection(one_line, job)
    import_connection(one_line, job)
    rows = [i for i in stored(job) if i["transaction_key"]["S"] == "T1"]
    assert [(r["booking_date"]["S"], r["pending"]["BOOL"]) for r in rows] == [(yesterday.isoformat(), False)]


@pytest.mark.calendar
def test_a_plaid_account_accepted_later_gets_its_whole_history(sandboxes):
    """One feed per Item: an account joining after the feed began is read from the start (review finding)."""
    from shared.services.imports import import_connection
    from tests.integration.connection_support import jane_with_plaid

    customer_id, connection_id = jane_with_plaid(sandboxes)
    ids = {"customer_id": customer_id}
    _, accounts = call(invitations, "GET", "/customers/{customer_id}/accounts", ADMIN, path_parameters=ids)
    first, second = (a["account_id"] for a in accounts["new_accounts"][:2])
    accept = "/customers/{customer_id}/accounts/{account_id}/accept"
    job = ImportJob(DEMO_FIRM.firm_id, customer_id, connection_id, ImportReason.MANUAL)

    call(invitations, "POST", accept, ADMIN, path_parameters={**ids, "account_id": first})
    import_connection(bootstrap.imports(), job)
    assert {i["account_id"]["S"] for i in stored(job)} == {first}
    call(invitations, "POST", accept, ADMIN, path_parameters={**ids, "account_id": second})
    import_connection(bootstrap.imports(), job)
    per_account = Counter(i["account_id"]["S"] for i in stored(job))
    assert min(per_account[first], per_account[second]) > 0 and max(per_account.values()) > 30, per_account


def test_an_import_updates_the_accounts_and_records_its_outcome(sandboxes):
    from shared.services.imports import import_connection

    job, account_id = linked(sandboxes)
    ports = bootstrap.imports()
    before = ports.accounts.get(job.firm_id, job.customer_id, account_id)
    sandboxes.now += timedelta(hours=3)
    started = sandboxes.now
    import_connection(ports, job)
    after = ports.accounts.get(job.firm_id, job.customer_id, account_id)
    assert before.last_updated < started <= after.last_updated <= sandboxes.now
    assert after.balance is not None
    _, [connection] = call(connections_api, "GET", "/connections", INVITEE)
    assert connection["last_import_outcome"] == "imported"
    assert connection["last_import_at"].startswith(sandboxes.now.date().isoformat())


@pytest.mark.calendar
def test_an_import_takes_every_booked_line_up_to_the_firms_last_closed_day_and_none_after(sandboxes):
    """R-IMP-1: up to the close of the previous day in the firm's time zone, whatever the instant."""
    from shared.domain.aggregator import DateWindow

    job, _ = linked(sandboxes)
    deliver(job.to_json())
    until = last_closed_day(sandboxes.now, demo_firm_zone())
    booked = {i["booking_date"]["S"] for i in stored(job) if not i["pending"]["BOOL"]}
    assert booked and max(booked) <= until.isoformat()
    ports = bootstrap.imports()
    [connection] = ports.connections.list_for_customer(job.firm_id, job.customer_id)
    [account] = [
        a
        for a in ports.accounts.list_for_customer(job.firm_id, job.customer_id)
        if a.status.value == "accepted"
    ]
    truth = sandboxes.provider("gocardless").fetch_transactions(
        provider_credential(ports.credentials, connection),
        account.provider_account_id,
        DateWindow(until - timedelta(days=10), until),
    )
    bank_days = {t.booking_date.isoformat() for t in truth.added if t.booking_date and not t.pending}
    assert bank_days and bank_days <= booked
