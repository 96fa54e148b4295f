"""B3 fan-out calls (issues 6 and 8): the AWS calls to fan out a Data Refresh of 10,000
engagements, against the minimum of ceil(N/10) SendMessageBatch + N conditional writes (one
TransactWriteItems per engagement: its daily-cap claim); and the times issue 6 asks for.

As tests/integration/test_refresh_jobs.py::test_fan_out_makes_the_minimum_aws_calls does at
N=45: POST /data-refresh/jobs "all matching" through functions/refresh_api, then the fan-out
worker pumped from the refresh queue. Two things keep it fast on moto without changing what is
counted: the engagements' dashboard rows (all the fan-out reads) are seeded with batch writes
of the repository's own items, and moto's transactions keep an item-level undo log rather than
a copy of the whole table (local/moto_patches.py, as everywhere). The times are moto's as much as
ours (moto's Query and SQS slow down with size), so they are printed, never compared.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict
from datetime import timedelta

from functions.refresh_api import handler as refresh_api
from functions.refresh_fanout_worker import handler as fanout_worker
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.domain.jobs import ImportJob
from shared.domain.refresh import Connector, Engagement
from tests.integration.onboarding_support import ADMIN, call
from tests.integration.test_refresh_dashboard import CURRENT_EULA, pump, refresh_system
from tests.perf.conftest import bulk_put, engagement_row_items, tracing_aws_calls

__all__ = ["refresh_system"]

N = 10_000
TARGET = 1.10


def _engagements(now) -> list[Engagement]:
    return [
        Engagement(
            firm_id=DEMO_FIRM.firm_id,
            customer_id=f"01JBENCH{number:018d}",
            customer_name=f"Bench {number:05d}",
            contact_email=f"bench-{number}@example.org",
            owner_id=ADMIN.sub,
            staff_ids=(ADMIN.sub,),
            connectors=(
                Connector(
                    f"conn-{number}",
                    "gocardless",
                    "DEMOBANK_DMBKGB2L",
                    "Demo Bank",
                    True,
                    now + timedelta(days=60),
                ),
            ),
            eula_version=CURRENT_EULA,
            version=1,
        )
        for number in range(N)
    ]


def _post(body: dict) -> tuple[str, float]:
    start = time.perf_counter()
    status, accepted = call(refresh_api, "POST", "/data-refresh/jobs", ADMIN, body=body)
    elapsed_ms = (time.perf_counter() - start) * 1000
    assert status == 202, accepted
    return accepted["job_id"], elapsed_ms


def _counts(job_id: str) -> dict:
    job = bootstrap.refresh().index.jobs.get_job(DEMO_FIRM.firm_id, job_id)
    assert job is not None
    return {**asdict(job.counts), "total": job.counts.total}


def _outcomes(job_id: str) -> Counter[tuple[str, str]]:
    """(engagement, state or exclusion reason) of every outcome item of the job."""
    repository = bootstrap.refresh().index.jobs
    found: Counter[tuple[str, str]] = Counter()
    cursor = None
    while True:
        page, cursor = repository.outcomes(DEMO_FIRM.firm_id, job_id, cursor=cursor, limit=1000)
        for outcome in page:
            found[
                (outcome.engagement_id, outcome.reason.value if outcome.reason else outcome.state.value)
            ] += 1
        if cursor is None:
            return found


def test_b3_fan_out_calls(refresh_system, bar):
    now = refresh_system.now
    engagements = _engagements(now)
    ids = {e.customer_id for e in engagements}
    bulk_put(engagement_row_items(engagements, now, CURRENT_EULA))

    job_id, post_ms = _post({"all_matching": {}})
    with tracing_aws_calls("dynamodb", "sqs") as trace:
        start = time.perf_counter()
        pages = len(pump("refresh", fanout_worker))
        fan_out_s = time.perf_counter() - start
    calls = trace.count()
    sent = [
        ImportJob.from_json(entry["MessageBody"])
        for call_ in trace.of("SendMessageBatch")
        for entry in call_.params["Entries"]
        if "/imports" in call_.params["QueueUrl"]
    ]
    minimum = math.ceil(N / 10) + N
    actual = sum(calls.values())
    ratio = actual / minimum
    counts = _counts(job_id)
    outcomes = _outcomes(job_id)
    queued_once = Counter(job.customer_id for job in sent)

    # The same 10,000 again, by id, the same day: all excluded as capped, none queued.
    again_id, again_post_ms = _post({"engagement_ids": sorted(ids)})
    with tracing_aws_calls("dynamodb", "sqs") as again_trace:
        pump("refresh", fanout_worker)
    again_sent = sum(
        len(c.params["Entries"])
        for c in again_trace.of("SendMessageBatch")
        if "/imports" in c.params["QueueUrl"]
    )
    again_counts = _counts(again_id)

    bar(
        "B3 fan-out calls",
        engagements=N,
        fan_out_pages=pages,
        minimum=minimum,
        send_message_batch=calls["SendMessageBatch"],
        transact_write_items=calls["TransactWriteItems"],
        other=" ".join(
            f"{op}:{n}"
            for op, n in sorted(calls.items())
            if op not in ("SendMessageBatch", "TransactWriteItems")
        ),
        actual=actual,
        ratio=f"{ratio:.3f}",
        target=TARGET,
        post_all_matching_ms=round(post_ms),
        post_10000_ids_ms=round(again_post_ms),
        fan_out_s=round(fan_out_s, 1),
        queued=counts["queued"],
        queued_twice=sum(n > 1 for n in queued_once.values()),
        second_trigger_capped=again_counts["excluded_by_reason"].get("capped_today", 0),
        second_trigger_queued=again_sent,
    )
    # correctness: every engagement queued exactly once, and the counts add up
    assert set(queued_once) == ids and max(queued_once.values()) == 1 and len(sent) == N
    assert counts["total"] == counts["queued"] == N and counts["pending"] == counts["excluded"] == 0
    assert set(outcomes) == {(engagement_id, "queued") for engagement_id in ids}
    assert again_counts["excluded"] == again_counts["total"] == N and again_sent == 0
    assert again_counts["excluded_by_reason"] == {"capped_today": N}
    # the calls: the minimum, plus a few per page of 100
    assert calls["TransactWriteItems"] == N
    assert calls["SendMessageBatch"] == math.ceil(N / 10) + pages - 1  # + each page's continuation
    assert ratio <= TARGET
    assert post_ms < 30_000  # a sanity bound only: it returns at once, whatever N
