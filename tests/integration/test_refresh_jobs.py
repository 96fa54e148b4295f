"""Data Refresh jobs on moto: trigger, daily cap, exclusions, fan-out through SQS, progress from
the real import worker, and the AWS calls of a fan-out (R-REF-3..6, R-ROLE-1, R-ROLE-3)."""

from __future__ import annotations

import math
import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.import_worker import handler as import_worker
from functions.invitations_api import handler as invitations_api
from functions.refresh_api import handler as refresh_api
from functions.refresh_fanout_worker import handler as fanout_worker
from infra.spec import QUEUES
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.aws_clients import aws_client
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client
from shared.domain.imports import Outcome
from shared.domain.refresh import Connector, Engagement
from shared.services import imports as imports_service
from shared.services import refresh as refresh_service
from shared.services.engagement_rows import import_finished, import_started
from tests.conftest import FakeLambdaContext, counting_aws_calls
from tests.integration.onboarding_support import ADMIN, ADVISER, INVITEE, OTHER_ADVISER, OTHER_FIRM, call
from tests.integration.test_refresh_dashboard import (
    CURRENT_EULA,
    dashboard,
    job,
    pump,
    queued_imports,
    refresh_system,
    run_imports,
    seed_engagement,
    trigger,
)

__all__ = ["refresh_system"]


def counts(body: dict) -> dict:
    c = body["counts"]
    return {k: c[k] for k in ("total", "pending", "queued", "running", "succeeded", "failed", "excluded")}


def outcomes(body: dict) -> dict[str, tuple]:
    return {o["engagement_id"]: (o["state"], o["reason"] or o["error"]) for o in body["outcomes"]}


@pytest.mark.calendar
def test_trigger_one_then_several_then_all_matching(refresh_system):
    clock = refresh_system.clock
    a, b, c = (seed_engagement(clock, name) for name in ("Ann", "Ben", "Cid"))
    plaid = seed_engagement(clock, "Pia", provider="plaid", institution=("ins_1", "Plaid Bank"))

    one = trigger(ADMIN, {"engagement_ids": [a]})
    assert counts(job(ADMIN, one)) == dict(
        total=1, pending=1, queued=0, running=0, succeeded=0, failed=0, excluded=0
    )
    pump("refresh", fanout_worker)
    assert counts(job(ADMIN, one))["queued"] == 1
    [import_job] = queued_imports()
    assert (import_job.customer_id, import_job.reason.value, import_job.refresh_job_id) == (a, "refresh", one)

    several = trigger(ADMIN, {"engagement_ids": [b, c, b]})  # a repeated id counts once
    pump("refresh", fanout_worker)
    assert counts(job(ADMIN, several))["queued"] == 2
    run_imports({b: Outcome.IMPORTED, c: Outcome.CREDENTIALS_REJECTED})
    body = job(ADMIN, several)
    assert counts(body) == dict(total=2, pending=0, queued=0, running=0, succeeded=1, failed=1, excluded=0)
    assert outcomes(body) == {b: ("succeeded", None), c: ("failed", "credentials_rejected")}
    assert body["done"] is True

    everything = trigger(ADMIN, {"all_matching": {"package": "gocardless"}})
    assert job(ADMIN, everything)["expanding"] is True
    pump("refresh", fanout_worker)
    body = job(ADMIN, everything)
    # a, b, c were refreshed today: excluded as capped; the plaid one does not match.
    assert counts(body)["excluded"] == 3 and counts(body)["total"] == 3
    assert body["counts"]["excluded_by_reason"] == {"capped_today": 3}
    assert plaid not in outcomes(body)
    assert job(ADMIN, trigger(ADMIN, {"all_matching": {"package": "plaid"}}))["counts"]["total"] == 0
    pump("refresh", fanout_worker)

    audit = call(invitations_api, "GET", "/audit", ADMIN)[1]
    actions = [e for e in audit["items"] if e["action"].startswith("refresh.")]
    assert {e["actor_id"] for e in actions} == {ADMIN.sub}
    claimed = [e for e in actions if e["action"] == "refresh.claimed" and e["target_id"] == several]
    assert {e["customer_id"] for e in claimed} == {b, c}  # each claim with its own event


@pytest.mark.calendar
def test_a_second_trigger_the_same_day_excludes_them_as_capped_until_the_next_day(refresh_system):
    engagement = seed_engagement(refresh_system.clock, "Dee")
    first = trigger(ADMIN, {"engagement_ids": [engagement]})
    pump("refresh", fanout_worker)
    second = trigger(ADMIN, {"engagement_ids": [engagement]})
    pump("refresh", fanout_worker)
    assert outcomes(job(ADMIN, first)) == {engagement: ("queued", None)}
    assert outcomes(job(ADMIN, second)) == {engagement: ("excluded", "capped_today")}
    run_imports({engagement: Outcome.IMPORTED})
    [row] = dashboard(ADMIN)
    assert (row["status"], row["selectable"]) == ("capped_today", False)
    # Midnight in the firm's time zone (London): refreshable again.
    refresh_system.now += timedelta(days=1)
    assert dashboard(ADMIN)[0]["status"] == "succeeded"
    third = trigger(ADMIN, {"engagement_ids": [engagement]})
    pump("refresh", fanout_worker)
    assert outcomes(job(ADMIN, third)) == {engagement: ("queued", None)}


def test_concurrent_triggers_refresh_each_engagement_once(refresh_system, atomic_aws_requests):
    engagements = [seed_engagement(refresh_system.clock, f"Client {n}") for n in range(12)]
    job_ids: list[str] = []

    def trigger_and_fan_out() -> None:
        job_ids.append(trigger(ADMIN, {"engagement_ids": engagements}))

    threads = [threading.Thread(target=trigger_and_fan_out) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The fan-out messages of the four jobs, processed concurrently.
    from shared.domain.refresh import FanoutMessage
    from shared.services.refresh import fan_out

    messages = [FanoutMessage.from_json(body) for body in _take("refresh")]
    workers = [threading.Thread(target=fan_out, args=(bootstrap.refresh(), m)) for m in messages]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    imports = queued_imports()
    assert sorted(i.customer_id for i in imports) == sorted(engagements)  # each once
    bodies = [job(ADMIN, job_id) for job_id in job_ids]
    assert sum(counts(b)["queued"] for b in bodies) == len(engagements)
    assert sum(counts(b)["excluded"] for b in bodies) == 3 * len(engagements)


def _take(queue: str) -> list[str]:
    sqs = aws_client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return bodies


def test_inactive_and_unknown_engagements_are_excluded_with_their_reason(refresh_system):
    clock = refresh_system.clock
    active = seed_engagement(clock, "Ok")
    no_eula = seed_engagement(clock, "No Eula", owner=ADVISER.sub, eula=False)
    expired = seed_engagement(clock, "Expired", owner=ADVISER.sub, consent_days=-1)
    not_visible = seed_engagement(clock, "Not Mine")  # owned by the admin: the adviser does not see it
    foreign = seed_engagement(clock, "Foreign", firm_id=OTHER_FIRM.firm_id)
    missing = "01JNOSUCHENGAGEMENT00000000"

    job_id = trigger(ADVISER, {"engagement_ids": [no_eula, expired, not_visible, foreign, missing]})
    pump("refresh", fanout_worker)
    body = job(ADVISER, job_id)
    assert outcomes(body) == {
        no_eula: ("excluded", "eula_not_accepted"),
        expired: ("excluded", "no_valid_consent"),
        not_visible: ("excluded", "not_found"),
        foreign: ("excluded", "not_found"),  # another firm's id: exactly like a missing one
        missing: ("excluded", "not_found"),
    }
    assert body["counts"]["excluded_by_reason"] == {
        "eula_not_accepted": 1,
        "no_valid_consent": 1,
        "not_found": 3,
    }
    admin_job = trigger(ADMIN, {"engagement_ids": [active, foreign]})
    pump("refresh", fanout_worker)
    assert outcomes(job(ADMIN, admin_job)) == {active: ("queued", None), foreign: ("excluded", "not_found")}
    # Jobs are the firm's: the other firm, and an adviser for an admin's job, get not found.
    for user in (OTHER_ADVISER, ADVISER):
        assert (
            call(
                refresh_api, "GET", "/data-refresh/jobs/{job_id}", user, path_parameters={"job_id": admin_job}
            )[0]
            == 404
        )


def test_the_idempotency_key_gives_the_same_job(refresh_system):
    engagement = seed_engagement(refresh_system.clock, "Idem")
    first = trigger(ADMIN, {"engagement_ids": [engagement]}, key="refresh-1")
    assert trigger(ADMIN, {"engagement_ids": [engagement]}, key="refresh-1") == first
    status, body = call(
        refresh_api,
        "POST",
        "/data-refresh/jobs",
        ADMIN,
        body={"engagement_ids": [engagement, "other"]},
        headers={"idempotency-key": "refresh-1"},
    )
    assert (status, body["code"]) == (409, "idempotency_key_reused")
    assert len(_take("refresh")) == 1
    assert call(refresh_api, "POST", "/data-refresh/jobs", ADMIN, body={})[0] == 400


def test_the_import_workers_outcome_shows_in_the_job(refresh_system):
    from tests.integration.test_imports import linked, stored

    import_job, _ = linked(refresh_system)
    assert call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": CURRENT_EULA})[0] == 200
    job_id = trigger(ADMIN, {"engagement_ids": [import_job.customer_id]})
    pump("refresh", fanout_worker)
    assert counts(job(ADMIN, job_id))["queued"] == 1
    pump("imports", import_worker)  # the real worker, on the sandbox bank
    body = job(ADMIN, job_id)
    assert outcomes(body) == {import_job.customer_id: ("succeeded", None)}
    assert counts(body) == dict(total=1, pending=0, queued=0, running=0, succeeded=1, failed=0, excluded=0)
    assert stored(import_job)  # the data came in
    [row] = dashboard(ADMIN)
    assert row["status"] == "capped_today" and row["last_upload_at"] is not None


def test_a_redelivered_page_changes_nothing(refresh_system):
    engagements = [seed_engagement(refresh_system.clock, f"Re {n}") for n in range(3)]
    job_id = trigger(ADMIN, {"all_matching": {}})
    [message] = _take("refresh")
    from shared.domain.refresh import FanoutMessage
    from shared.services.refresh import fan_out

    for _ in range(2):  # SQS delivers at least once
        fan_out(bootstrap.refresh(), FanoutMessage.from_json(message))
    body = job(ADMIN, job_id)
    assert counts(body)["total"] == 3 and counts(body)["queued"] == 3
    imports = queued_imports()
    assert sorted(i.customer_id for i in imports) == sorted(engagements * 2)  # resent: at least once
    for import_job in imports:  # the duplicates report too: each engagement moves once
        import_started(bootstrap.engagement_index(), import_job)
        import_finished(bootstrap.engagement_index(), import_job, Outcome.IMPORTED)
    assert counts(job(ADMIN, job_id)) == dict(
        total=3, pending=0, queued=0, running=0, succeeded=3, failed=0, excluded=0
    )


def bulk_engagements(n: int, *, inactive: int = 0) -> list[str]:
    """`n` engagements' rows alone (a small table), the last `inactive` without the EULA."""
    index = bootstrap.engagement_index()
    ids = []
    for number in range(n):
        engagement = Engagement(
            firm_id=DEMO_FIRM.firm_id,
            customer_id=f"01JBULK{number:020d}",
            customer_name=f"Bulk {number:03d}",
            contact_email=f"bulk-{number}@example.org",
            owner_id=ADMIN.sub,
            staff_ids=(ADMIN.sub,),
            connectors=(
                Connector(f"conn-{number}", "gocardless", "DEMOBANK_DMBKGB2L", "Demo Bank", True, None),
            ),
            eula_version=CURRENT_EULA if number < n - inactive else None,
        )
        index.rows.save_engagement(engagement, None, "active")
        ids.append(engagement.customer_id)
    return ids


def test_fan_out_makes_the_minimum_aws_calls(refresh_system, monkeypatch):
    """ceil(N/10) SendMessageBatch and N conditional writes for N engagements, plus a few calls
    per page. Small N and pages: moto copies the whole table in every transaction (quadratic)."""
    n, page_size = 45, 20
    monkeypatch.setattr(refresh_service, "FANOUT_PAGE", page_size)
    bulk_engagements(n)
    job_id = trigger(ADMIN, {"all_matching": {"status": "active"}})
    with counting_aws_calls("dynamodb", "sqs") as calls:
        pump("refresh", fanout_worker)
    status, progress = call(
        refresh_api,
        "GET",
        "/data-refresh/jobs/{job_id}",
        ADMIN,
        path_parameters={"job_id": job_id},
        query={"limit": "1"},
    )
    assert status == 200 and progress["counts"]["queued"] == progress["counts"]["total"] == n
    pages = math.ceil(n / page_size)
    # Import jobs: ceil(N/10) batches; plus one continuation message per page but the last.
    assert calls["SendMessageBatch"] == math.ceil(n / 10) + pages - 1
    assert calls["TransactWriteItems"] == n  # each claim with its audit event: nothing written apart
    # Per page besides: read the job and the firm (its time zone), one Query for the page, one
    # counter update for the expansion; per claim, the Query of its event's chain tip. Nothing else.
    assert (calls["GetItem"], calls["Query"], calls["UpdateItem"], calls["PutItem"]) == (
        2 * pages,
        pages + n,
        pages,
        0,
    )
    assert sum(calls.values()) == 2 * n + math.ceil(n / 10) + pages - 1 + 4 * pages
    # The claim is the daily cap: today's engagement-day item names this job.
    engagement_id = progress["outcomes"][0]["engagement_id"]
    today = refresh_system.now.date().isoformat()
    cap = dynamodb_client().get_item(
        TableName="data",
        Key={
            "PK": {"S": keys.refresh_cap_pk(DEMO_FIRM.firm_id, engagement_id, today)},
            "SK": {"S": keys.REFRESH_CAP},
        },
    )
    assert cap["Item"]["job_id"]["S"] == job_id


def deliver_for_the_last_time(queue: str, handler: Any, body: str) -> None:
    """`body` delivered to `handler` with the spec's maxReceiveCount: its last delivery."""
    sqs = aws_client("sqs")
    arn = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    record = {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(QUEUES[queue].max_receive_count), "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "eu-west-2",
    }
    response = handler.lambda_handler({"Records": [record]}, FakeLambdaContext())
    assert response == {"batchItemFailures": []}  # parked, not retried


def test_an_import_parked_after_its_last_delivery_fails_its_refresh(refresh_system, monkeypatch):
    """The job is in the DLQ with its reason and the engagement's refresh ends as failed, not
    running for ever (R-REF-6)."""
    engagement = seed_engagement(refresh_system.clock, "Gus")
    job_id = trigger(ADMIN, {"engagement_ids": [engagement]})
    pump("refresh", fanout_worker)
    [body] = _take("imports")

    def broken(*_: object) -> None:
        raise RuntimeError("the bank's answer cannot be read")

    monkeypatch.setattr(imports_service, "import_connection", broken)
    deliver_for_the_last_time("imports", import_worker, body)

    sqs = aws_client("sqs")
    dlq = sqs.get_queue_url(QueueName="imports-dlq")["QueueUrl"]
    [parked] = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert parked["MessageAttributes"]["failure_reason"]["StringValue"] == "RuntimeError: unexpected"
    progress = job(ADMIN, job_id)
    assert outcomes(progress) == {engagement: ("failed", "import_failed")}
    assert counts(progress) == dict(
        total=1, pending=0, queued=0, running=0, succeeded=0, failed=1, excluded=0
    )
    [row] = dashboard(ADMIN)
    assert row["status"] == "capped_today"  # refreshed (and failed) today: tomorrow again


def test_a_refresh_that_cannot_be_queued_is_not_left_pending(refresh_system, monkeypatch):
    """SQS refuses the selection (every retry throttled): 503, no job left behind, and the same
    Idempotency-Key works once SQS is back."""
    engagement = seed_engagement(refresh_system.clock, "Hal")
    monkeypatch.setattr("shared.adapters.queue.time.sleep", lambda _: None)

    def throttled(**_: object) -> None:
        raise ClientError({"Error": {"Code": "RequestThrottled", "Message": "slow down"}}, "SendMessageBatch")

    sqs = aws_client("sqs")
    sqs.meta.events.register("before-call.sqs.SendMessageBatch", throttled)
    request = {"engagement_ids": [engagement]}
    headers = {"idempotency-key": "refresh-sqs-down"}
    status, body = call(refresh_api, "POST", "/data-refresh/jobs", ADMIN, body=request, headers=headers)
    sqs.meta.events.unregister("before-call.sqs.SendMessageBatch", throttled)
    assert (status, body["code"]) == (503, "upstream_unavailable")
    jobs = dynamodb_client().scan(
        TableName="data",
        FilterExpression="#t = :job",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":job": {"S": "refresh_job"}},
    )
    assert jobs["Count"] == 0

    job_id = trigger(ADMIN, request, key="refresh-sqs-down")
    pump("refresh", fanout_worker)
    assert outcomes(job(ADMIN, job_id)) == {engagement: ("queued", None)}


def test_pages_that_cannot_be_queued_are_excluded_and_the_rest_goes_ahead(refresh_system, monkeypatch):
    """Of three fan-out pages, SQS keeps refusing the last: its engagements are excluded as
    `not_queued`, the others are refreshed, and the counts add up (nothing stays pending)."""
    from shared.adapters.queue import JobQueue

    monkeypatch.setattr(refresh_service, "FANOUT_PAGE", 2)
    engagements = [seed_engagement(refresh_system.clock, f"Page {n}") for n in range(5)]
    send_batch = JobQueue._send_batch

    def last_refused(self: JobQueue, bodies: list[str], delay_seconds: int) -> list[int]:
        return [*send_batch(self, bodies[:-1], delay_seconds), len(bodies) - 1]

    monkeypatch.setattr(JobQueue, "_send_batch", last_refused)
    progressed: list[str] = []  # the exclusion may be the job's last change: it tells whoever started it
    told = refresh_service.refresh_progressed
    monkeypatch.setattr(
        refresh_service, "refresh_progressed", lambda *a: (progressed.append(a[-1]), told(*a))[1]
    )
    job_id = trigger(ADMIN, {"engagement_ids": engagements})
    assert progressed == [job_id]
    monkeypatch.undo()
    pump("refresh", fanout_worker)
    body = job(ADMIN, job_id)
    assert outcomes(body) == {
        **{e: ("queued", None) for e in engagements[:4]},
        engagements[4]: ("excluded", "not_queued"),
    }
    assert counts(body) == dict(total=5, pending=0, queued=4, running=0, succeeded=0, failed=0, excluded=1)


def test_a_fan_out_page_parked_after_its_last_delivery_excludes_what_it_did_not_queue(
    refresh_system, monkeypatch
):
    engagements = [seed_engagement(refresh_system.clock, f"Lost {n}") for n in range(3)]
    job_id = trigger(ADMIN, {"engagement_ids": engagements})
    [body] = _take("refresh")

    def table_down(*_: object) -> None:
        raise RuntimeError("the table keeps failing")

    monkeypatch.setattr(refresh_service, "_claim_page", table_down)
    deliver_for_the_last_time("refresh", fanout_worker, body)
    progress = job(ADMIN, job_id)
    assert outcomes(progress) == {e: ("excluded", "not_queued") for e in engagements}
    assert counts(progress) == dict(
        total=3, pending=0, queued=0, running=0, succeeded=0, failed=0, excluded=3
    )


def list_jobs(user: Any, limit: int = 2) -> list[dict]:
    """Every page of `GET /data-refresh/jobs` (asserts each page is at most `limit` long)."""
    found: list[dict] = []
    cursor = None
    for _ in range(20):  # bounded
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        status, body = call(refresh_api, "GET", "/data-refresh/jobs", user, query=query)
        assert status == 200 and len(body["items"]) <= limit, body
        found += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("the job list never ended")


def test_jobs_are_listed_newest_first_admins_the_firms_advisers_their_own(refresh_system):
    """Issue 16 item 6: one Query of listing items and one BatchGetItem of the jobs per page."""
    clock = refresh_system.clock
    theirs = seed_engagement(clock, "Adviser's", owner=ADVISER.sub)
    firms = seed_engagement(clock, "Firm's")
    started = []
    for user, engagement in ((ADMIN, firms), (ADVISER, theirs), (ADMIN, firms), (ADVISER, theirs)):
        refresh_system.now += timedelta(seconds=5)  # job ids are ULIDs of the trigger's time
        started.append((user, trigger(user, {"engagement_ids": [engagement]})))
    trigger(OTHER_ADVISER, {"engagement_ids": [firms]})  # another firm's job
    pump("refresh", fanout_worker)

    newest_first = [job_id for _, job_id in reversed(started)]
    listed = list_jobs(ADMIN)
    assert [j["job_id"] for j in listed] == newest_first
    assert listed[-1]["counts"]["queued"] == 1 and listed[-1]["requested_by"] == ADMIN.sub
    assert listed[1]["counts"]["excluded"] == 1  # the day's cap: the engagement was refreshed already
    assert [j["job_id"] for j in list_jobs(ADVISER)] == [j for u, j in reversed(started) if u is ADVISER]
    assert [j["job_id"] for j in list_jobs(OTHER_ADVISER)] != [] and not set(
        j["job_id"] for j in list_jobs(OTHER_ADVISER)
    ) & set(newest_first)

    with counting_aws_calls("dynamodb") as calls:
        call(refresh_api, "GET", "/data-refresh/jobs", ADMIN, query={"limit": "25"})
    # one Query resolves the caller's firm (their memberships), one reads the page
    assert (calls["Query"], calls["BatchGetItem"]) == (2, 1)
