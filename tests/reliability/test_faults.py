"""Faults (issue 8, R-IMP-4, R-INV-4, R-REF-6): the workers and jobs under an unreliable bank,
throttled DynamoDB and at-least-once SQS, on moto and the GoCardless sandbox.

Faults: the bank answers 429 with a reset (short: the job is re-sent with a delay; hours: the
delivery is hidden; longer than SQS's 12-hour maximum), 5xx (retried by the adapter, or by the
queue and finally parked) and timeouts (httpx); DynamoDB throttles a fraction of calls
(ProvisionedThroughputExceededException / ThrottlingException through a botocore `before-call`
hook, i.e. what is left once the SDK's own retries are spent) and leaves a fraction of every
BatchWriteItem unprocessed; SQS delivers a message twice, lets a visibility timeout expire in the
middle of a job (a second container runs it meanwhile), and carries poison messages. The real
handlers run: import worker, dispatcher, refresh fan-out worker, reminders job.

The queues are the real (moto) queues with their redrive policies: a `Lambda` below receives,
calls the handler, deletes what succeeded and lets the rest come back, so a message SQS itself
moves to the DLQ (without a reason) is seen. Time is the sandbox's clock, moved on when a
delivery waits for a reset of hours.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from functions.import_dispatcher import handler as dispatcher
from functions.import_worker import handler as import_worker
from functions.refresh_api import handler as refresh_api
from functions.refresh_fanout_worker import handler as fanout_worker
from functions.reminders_job import handler as reminders_job
from local.outbox import sent_emails
from shared import bootstrap
from shared.adapters.aws_clients import aws_client
from shared.auth import staff_context
from shared.domain.identity import Principal
from shared.services.customer_invitations import invite_customer
from shared.services.imports import import_connection
from tests.conftest import FakeLambdaContext, load_event
from tests.integration.aggregator_sandboxes import Sandboxes, sandboxes
from tests.integration.onboarding_support import ADMIN, INVITEE, call
from tests.integration.test_imports import NO_IDS_BANK, linked, stored
from tests.integration.test_refresh_dashboard import CURRENT_EULA, job, refresh_system, seed_engagement

__all__ = ["refresh_system", "sandboxes"]  # fixtures

SEED = 20261122
THROTTLED_SHARE = 0.03  # of DynamoDB calls that fail once the SDK's retries are spent
REMINDER_RUNS_THROTTLED = 0.2  # short runs, retried whole: a higher share reaches every step
UNPROCESSED_SHARE = 0.3  # of a BatchWriteItem's requests left unprocessed
THROTTLING_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException")
HIDE = "before-parameter-build.sqs.ChangeMessageVisibility"
DELAY = "before-parameter-build.sqs.SendMessage"


# the bank ------------------------------------------------------------------------------------
@dataclass
class Bank:
    """The GoCardless sandbox behind a fault plan for the next transactions reads: `"timeout"`,
    or a rate limit `("429", reset seconds)` after which the account is refused until the reset
    (a re-call before it is counted). 5xx come from the sandbox's own failure control."""

    sandboxes: Sandboxes
    plan: list[Any] = field(default_factory=list)
    limited_until: dict[str, tuple[float, datetime, int]] = field(default_factory=dict)
    served: Counter[str] = field(default_factory=Counter)
    early_recalls: list[int] = field(default_factory=list)  # the resets called again before their end
    meanwhile: Callable[[], None] | None = None  # runs once, at the next transactions read

    def __post_init__(self) -> None:
        self.forward = self.sandboxes.gocardless.handle

    def handle(self, method: str, path: str, *rest: Any) -> tuple[int, dict[str, str], bytes]:
        parts = path.strip("/").split("/")
        if parts[:3] != ["api", "v2", "accounts"] or len(parts) < 4:
            return self.forward(method, path, *rest)  # type: ignore[no-any-return]
        account = parts[3]
        until = self.limited_until.get(account)
        if until and time.monotonic() < until[0] and self.sandboxes.now < until[1]:
            self.early_recalls.append(until[2])  # called again before the reset it was given
            left = min(until[0] - time.monotonic(), (until[1] - self.sandboxes.now).total_seconds())
            return self._rate_limited(math.ceil(left))
        if parts[4:5] == ["transactions"]:
            if self.meanwhile:
                meanwhile, self.meanwhile = self.meanwhile, None
                meanwhile()
            if self.plan:
                fault = self.plan.pop(0)
                if fault == "timeout":
                    self.served["timeout"] += 1
                    raise httpx.ReadTimeout("injected")
                _, reset = fault
                self.limited_until[account] = (
                    time.monotonic() + reset,
                    self.sandboxes.now + timedelta(seconds=reset),
                    reset,
                )
                return self._rate_limited(reset)
        status, headers, body = self.forward(method, path, *rest)
        if status >= 500:
            self.served[str(status)] += 1
        return status, headers, body

    def _rate_limited(self, reset: int) -> tuple[int, dict[str, str], bytes]:
        self.served["429"] += 1
        headers = {
            "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT": "4",
            "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": "0",
            "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": str(reset),
            "content-type": "application/json",
        }
        body = {"summary": "Rate limit exceeded", "detail": "Try later.", "status_code": 429}
        return 429, headers, json.dumps({**body, "type": "RateLimitError"}).encode()

    def outage(self, status: int, times: int) -> None:
        """The sandbox answers `status` to the next `times` account reads (503: the adapter retries
        it; 500 UnknownRequestError: it does not, the queue does)."""
        rule = {"path_prefix": "/api/v2/accounts/", "status": status, "times": times}
        assert self.forward("POST", "/_control/failures", {}, {}, json.dumps(rule).encode())[0] < 300


# DynamoDB throttling -------------------------------------------------------------------------
@dataclass
class Throttling:
    """A seeded share of our DynamoDB calls throttled, and of each BatchWriteItem's requests
    returned as UnprocessedItems, while `active()`."""

    random: random.Random = field(default_factory=lambda: random.Random(SEED))
    throttled: float = 0.0
    unprocessed: float = 0.0
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        events = aws_client("dynamodb").meta.events
        events.register("before-call.dynamodb", self._throttle)
        events.register("before-parameter-build.dynamodb.BatchWriteItem", self._hold_back)
        events.register("after-call.dynamodb.BatchWriteItem", self._unprocessed)

    def remove(self) -> None:
        events = aws_client("dynamodb").meta.events
        events.unregister("before-call.dynamodb", self._throttle)
        events.unregister("before-parameter-build.dynamodb.BatchWriteItem", self._hold_back)
        events.unregister("after-call.dynamodb.BatchWriteItem", self._unprocessed)

    @contextmanager
    def active(
        self, throttled: float = THROTTLED_SHARE, unprocessed: float = UNPROCESSED_SHARE
    ) -> Iterator[None]:
        self.throttled, self.unprocessed = throttled, unprocessed
        try:
            yield
        finally:
            self.throttled = self.unprocessed = 0.0

    def _throttle(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.random.random() >= self.throttled:
            return None
        code = self.random.choice(THROTTLING_CODES)
        self.injected[code] += 1
        error = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://dynamodb.eu-west-2.amazonaws.com/", 400, {}, None), error

    def _hold_back(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        [(table, requests)] = params["RequestItems"].items()
        flags = [n > 0 and self.random.random() < self.unprocessed for n in range(len(requests))]
        if any(flags):
            params["RequestItems"] = {table: [r for r, held in zip(requests, flags, strict=True) if not held]}
            context["held_back"] = {table: [r for r, held in zip(requests, flags, strict=True) if held]}

    def _unprocessed(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        held = context.pop("held_back", None)
        if held:
            [(table, requests)] = held.items()
            self.injected["UnprocessedItems"] += len(requests)
            unprocessed = parsed.setdefault("UnprocessedItems", {})
            unprocessed[table] = unprocessed.get(table, []) + requests


# SQS and Lambda ------------------------------------------------------------------------------
@dataclass
class Lambda:
    """The SQS event source of a worker on the real queue: batches of up to 10, successes
    deleted, failures back after their visibility timeout, SQS's own redrive to the DLQ."""

    sandboxes: Sandboxes
    sqs: Any = field(default_factory=lambda: boto3.client("sqs"))  # the test's client: never throttled
    hidden_for: dict[str, int] = field(default_factory=dict)  # receipt handle -> seconds the worker chose
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (queue, body) of every delivery
    deliveries: Counter[str] = field(default_factory=Counter)
    in_flight: list[dict[str, Any]] = field(default_factory=list)
    left_behind: int = 0

    def __post_init__(self) -> None:
        aws_client("sqs").meta.events.register(HIDE, self._hidden)
        aws_client("sqs").meta.events.register(DELAY, self._delayed)

    def remove(self) -> None:
        aws_client("sqs").meta.events.unregister(HIDE, self._hidden)
        aws_client("sqs").meta.events.unregister(DELAY, self._delayed)

    def _hidden(self, params: dict[str, Any], **_: Any) -> None:
        self.hidden_for[params["ReceiptHandle"]] = int(params["VisibilityTimeout"])

    def _delayed(self, params: dict[str, Any], **_: Any) -> None:
        """A job re-sent with a delay (a short reset): the bank's clock moves on with it."""
        self.sandboxes.now += timedelta(seconds=int(params.get("DelaySeconds") or 0))

    def url(self, queue: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=queue)["QueueUrl"])

    def receive(self, queue: str, count: int = 10) -> list[dict[str, Any]]:
        return list(
            self.sqs.receive_message(
                QueueUrl=self.url(queue),
                MaxNumberOfMessages=count,
                AttributeNames=["ApproximateReceiveCount"],
                VisibilityTimeout=60,
            ).get("Messages", [])
        )

    def event(self, queue: str, messages: list[dict[str, Any]], copies: int = 1) -> dict[str, Any]:
        template = load_event("sqs/import_jobs.json")["Records"][0]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url(queue), AttributeNames=["QueueArn"])
        records = []
        for message in messages:
            self.delivered.append((queue, message["Body"]))
            for copy in range(copies):  # SQS may deliver one message twice
                record = json.loads(json.dumps(template))
                record.update(
                    messageId=f"{message['MessageId']}#{copy}",
                    receiptHandle=message["ReceiptHandle"],
                    body=message["Body"],
                    eventSourceARN=arn["Attributes"]["QueueArn"],
                )
                record["attributes"]["ApproximateReceiveCount"] = message["Attributes"][
                    "ApproximateReceiveCount"
                ]
                records.append(record)
        self.deliveries[queue] += len(records)
        return {"Records": records}

    def drain(self, queue: str, handler: Any, *, copies: int = 1, rounds: int = 60) -> None:
        url = self.url(queue)
        for _ in range(rounds):
            messages = self.receive(queue)
            if not messages:
                delayed = self.sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
                )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
                if delayed == "0":
                    return
                time.sleep(0.25)  # a job re-sent with a delay (a short reset): real seconds in moto
                continue
            self.in_flight = messages
            response = handler.lambda_handler(self.event(queue, messages, copies), FakeLambdaContext())
            failed = {f["itemIdentifier"].split("#")[0] for f in response["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] in failed:
                    self.time_passes(url, message)
                else:  # (a receipt handle replaced by a later delivery may be refused)
                    with suppress(ClientError):
                        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        self.left_behind += len(self.receive(queue))  # never ended: lost

    def time_passes(self, url: str, message: dict[str, Any]) -> None:
        """Its visibility timeout expires: the one the worker set for a reset (the clock moves on
        by that much), else the queue's."""
        hidden = self.hidden_for.pop(message["ReceiptHandle"], None)
        if hidden:
            self.sandboxes.now += timedelta(seconds=hidden)
        self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    def dead_letters(self, queue: str) -> list[dict[str, Any]]:
        parked: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.url(f"{queue}-dlq"),
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=3600,
        ).get("Messages", []):
            parked += batch
        return parked


def second_container() -> Any:
    """The import worker's module loaded again: another Lambda container, its own state."""
    spec = importlib.util.spec_from_file_location("import_worker_container_2", import_worker.__file__)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def duplicate_rows(job_: Any) -> int:
    keys = Counter((i["account_id"]["S"], i["transaction_key"]["S"]) for i in stored(job_))
    return sum(n - 1 for n in keys.values())


# the scenarios -------------------------------------------------------------------------------
@pytest.fixture
def faults(refresh_system, monkeypatch):
    bank = Bank(refresh_system)
    monkeypatch.setattr(refresh_system.gocardless, "handle", bank.handle)
    throttling = Throttling()
    lam = Lambda(refresh_system)
    yield bank, throttling, lam
    throttling.remove()
    lam.remove()


def test_faults_lose_no_job_and_duplicate_no_row(refresh_system, faults, bar):
    bank, throttling, lam = faults
    sandboxes = refresh_system
    import_job, _ = linked(sandboxes, NO_IDS_BANK)  # lines without ids: fingerprinted
    checks: Counter[str] = Counter()

    def send(*bodies: str, queue: str = "imports") -> None:
        for body in bodies:
            checks["jobs"] += 1
            lam.sqs.send_message(QueueUrl=lam.url(queue), MessageBody=body)

    def import_on_a_new_day(copies: int = 1, handler: Any = import_worker) -> None:
        sandboxes.now += timedelta(days=1)  # the bank has new lines; the daily budget is fresh
        send(import_job.to_json())
        lam.drain("imports", handler, copies=copies)

    # 1. The first import (90 days of lines) with a share of every batch write unprocessed: a
    #    clean re-import afterwards finds every line stored.
    send(import_job.to_json())
    with throttling.active(throttled=0.0):
        lam.drain("imports", import_worker)
    checks["rows_missing"] += import_connection(bootstrap.imports(), import_job).written

    # 2. Rate limits with a reset of a second (re-sent with a delay), two hours (the delivery is
    #    hidden until then) and twenty hours (longer than SQS can hide a message: 12 hours).
    for reset in (1, 2 * 3600, 20 * 3600):
        bank.plan.append(("429", reset))
        import_on_a_new_day()

    # 3. 5xx: a short outage the adapter rides out (503, retried); a long one that the queue
    #    retries (500 UnknownRequestError, not retried by the adapter) until the day's budget ends it.
    bank.outage(503, times=2)
    import_on_a_new_day()
    bank.outage(500, times=4)
    import_on_a_new_day()

    # 4. Timeouts: two that the adapter retries, then more than its three attempts.
    bank.plan += ["timeout"] * 2
    import_on_a_new_day()
    bank.plan += ["timeout"] * 4
    import_on_a_new_day()

    # 5. Redelivery: the same message twice in a batch; then a visibility timeout that expires in
    #    the middle of a job, while another container receives the message and runs it meanwhile.
    import_on_a_new_day(copies=2)
    other_container = second_container()

    def expire_and_rerun() -> None:
        [message] = lam.in_flight
        lam.time_passes(lam.url("imports"), message)
        lam.drain("imports", other_container)

    bank.meanwhile = expire_and_rerun
    before = lam.deliveries["imports"]
    import_on_a_new_day()
    assert bank.meanwhile is None and lam.deliveries["imports"] - before == 2  # both containers ran it

    # 6. Poison messages on both queues: straight to their DLQ, with the reason.
    send("{not json", json.dumps({"firm_id": import_job.firm_id}))
    send("[]", queue="refresh")
    lam.drain("imports", import_worker)
    lam.drain("refresh", fanout_worker)

    # 7. The dispatcher, then a Data Refresh fan-out and its imports, under throttling: the
    #    scheduler retries a failed run (3 times), SQS delivers each fan-out page twice.
    sandboxes.now += timedelta(days=1)
    assert call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": CURRENT_EULA})[0] == 200
    customers = [import_job.customer_id] + [seed_engagement(sandboxes.clock, f"Client {n}") for n in range(2)]
    connections = {
        c.connection_id
        for customer in customers
        for c in bootstrap.imports().connections.list_for_customer(import_job.firm_id, customer)
    }
    before = len(lam.delivered)
    with throttling.active():
        for _ in range(1 + 3):
            try:
                dispatcher.lambda_handler({"job": "daily-import"}, FakeLambdaContext())
                break
            except ClientError:
                checks["scheduled_runs_failed"] += 1
        lam.drain("imports", import_worker)
    dispatched = {json.loads(body)["connection_id"] for _, body in lam.delivered[before:]}
    checks["jobs"] += len(connections)
    checks["connections_without_job"] += len(connections - dispatched)

    sandboxes.now += timedelta(days=1)
    status, accepted = call(refresh_api, "POST", "/data-refresh/jobs", ADMIN, body={"all_matching": {}})
    assert status == 202, accepted
    with throttling.active():
        lam.drain("refresh", fanout_worker, copies=2)
        lam.drain("imports", import_worker)
    counts = job(ADMIN, accepted["job_id"])["counts"]
    assert counts["total"] == len(customers)
    checks["jobs"] += counts["total"]
    checks["refresh_unfinished"] += counts["pending"] + counts["queued"] + counts["running"]

    # 8. The reminders job under throttling: each due reminder sent once, none lost.
    ports = bootstrap.onboarding()
    staff = staff_context(Principal(ADMIN.sub, ADMIN.email), ports.identities, None)
    invited_at = ports.clock() - timedelta(days=8)
    invitees = [f"reminded-{n}@example.org" for n in range(6)]
    for email in invitees:
        invite_customer(
            replace(ports, clock=lambda: invited_at), staff, name="Rem", email=email, message=None
        )
    checks["jobs"] += len(invitees)
    with throttling.active(throttled=REMINDER_RUNS_THROTTLED):
        for _ in range(6):  # the day's run and the scheduler's retries, then the next days'
            try:
                reminders_job.lambda_handler({"job": "invitation-reminders"}, FakeLambdaContext())
                break
            except ClientError:
                checks["scheduled_runs_failed"] += 1
    reminders_job.lambda_handler(
        {"job": "invitation-reminders"}, FakeLambdaContext()
    )  # a clean run catches up
    reminders = Counter(a for e in sent_emails() if e.subject.startswith("Reminder") for a in e.to)
    checks["reminders_lost"] += sum(1 for email in invitees if reminders[email] == 0)
    checks["reminders_twice"] += sum(reminders[email] - 1 for email in invitees if reminders[email] > 1)

    # The endings: every job done, parked with its reason, or in a DLQ with a failure_reason.
    parked = lam.dead_letters("imports") + lam.dead_letters("refresh")
    reasons = [p.get("MessageAttributes", {}).get("failure_reason", {}).get("StringValue") for p in parked]
    lost = (
        lam.left_behind
        + checks["connections_without_job"]
        + checks["refresh_unfinished"]
        + checks["reminders_lost"]
    )
    duplicates = duplicate_rows(import_job)
    bar(
        "faults",
        jobs=checks["jobs"],
        deliveries=sum(lam.deliveries.values()),
        lost=lost,
        duplicate_rows=duplicates,
        rows_missing=checks["rows_missing"],
        reminders_twice=checks["reminders_twice"],
        dlq=len(parked),
        dlq_without_reason=reasons.count(None),
        early_recalls=len(bank.early_recalls),
        bank_faults=sum(bank.served.values()),
        throttled=throttling.injected["ProvisionedThroughputExceededException"]
        + throttling.injected["ThrottlingException"],
        unprocessed=throttling.injected["UnprocessedItems"],
        scheduled_runs_failed=checks["scheduled_runs_failed"],
    )
    assert lost == 0, (lam.left_behind, checks)
    assert duplicates == 0
    assert checks["rows_missing"] == 0
    assert checks["reminders_twice"] == 0
    assert reasons.count(None) == 0, [p["Body"] for p in parked]
    assert bank.early_recalls == [], f"re-called before a reset of {bank.early_recalls} s"
    # The faults did happen; the poison messages are parked as such.
    assert bank.served["429"] >= 3 and bank.served["503"] == 2 and bank.served["500"] == 4, bank.served
    assert bank.served["timeout"] == 6 and throttling.injected["UnprocessedItems"] > 0
    assert sum(1 for reason in reasons if reason and reason.startswith("poison")) == 3, reasons
