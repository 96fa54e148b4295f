"""The daily refresh cap under 50 concurrent triggers (issue 8, R-REF-4).

Fifty staff requests trigger a Data Refresh of the same engagement at the same instant; their
fan-out pages are then processed at the same instant too (the claim is where the cap is
enforced). moto is serialised request by request (`atomic_aws_requests`), as each real AWS
request is atomic; everything between the requests, ours, runs concurrently. Exactly one job may
include the engagement, the 49 others exclude it as `capped_today`, and the bank is read for one
import only (HTTP requests counted at the sandbox).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from functions.import_worker import handler as import_worker
from functions.refresh_api import handler as refresh_api
from shared import bootstrap
from shared.adapters.aws_clients import aws_client
from shared.domain.refresh import FanoutMessage
from shared.services.refresh import fan_out
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.onboarding_support import ADMIN, INVITEE, call
from tests.integration.test_imports import linked
from tests.integration.test_refresh_dashboard import CURRENT_EULA, job, pump, refresh_system
from tests.unit.test_abuse_limit_rules import with_count

__all__ = ["refresh_system", "sandboxes"]  # fixtures

TRIGGERS = 50


def all_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """`work(n)` for n in range(count), each in its own thread, released together; the results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = work(n)
        except BaseException as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def fanout_messages() -> list[FanoutMessage]:
    """Every message on the refresh queue, taken off it."""
    sqs = aws_client("sqs")
    url = sqs.get_queue_url(QueueName="refresh")["QueueUrl"]
    taken: list[FanoutMessage] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            taken.append(FanoutMessage.from_json(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return taken


def test_fifty_concurrent_triggers_refresh_the_engagement_once(
    refresh_system, atomic_aws_requests, monkeypatch, bar
):
    import_job, account_id = linked(refresh_system)  # Jane's bank, one accepted account
    engagement = import_job.customer_id
    # fifty triggers from one admin: above the abuse limit on jobs (issue 17), which is not under test
    for limit in ("refresh_jobs_per_user", "refresh_jobs_per_firm"):
        with_count(monkeypatch, limit, 100)
    assert call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": CURRENT_EULA})[0] == 200
    bank_account = bootstrap.imports().accounts.get(import_job.firm_id, engagement, account_id)
    assert bank_account is not None

    # Every HTTP request the bank (the GoCardless sandbox) receives about this account, by kind.
    requests: Counter[str] = Counter()
    sandbox_handle = refresh_system.gocardless.handle

    def counting_handle(method: str, path: str, *args: Any) -> Any:
        prefix = f"/api/v2/accounts/{bank_account.provider_account_id}/"
        if path.startswith(prefix):
            requests[path.removeprefix(prefix).strip("/") or "metadata"] += 1
        return sandbox_handle(method, path, *args)

    monkeypatch.setattr(refresh_system.gocardless, "handle", counting_handle)

    def trigger(_: int) -> tuple[int, Any]:
        return call(refresh_api, "POST", "/data-refresh/jobs", ADMIN, body={"engagement_ids": [engagement]})

    answers = all_at_once(TRIGGERS, trigger)
    assert [status for status, _ in answers] == [202] * TRIGGERS, answers
    job_ids = {body["job_id"] for _, body in answers}
    assert len(job_ids) == TRIGGERS  # fifty jobs, none merged or lost

    # The fifty fan-out pages, processed at the same instant (fifty workers), then the imports.
    messages = fanout_messages()
    assert sorted(m.job_id for m in messages) == sorted(job_ids)
    all_at_once(len(messages), lambda n: fan_out(bootstrap.refresh(), messages[n]))
    imports = pump("imports", import_worker)

    outcomes: Counter[tuple[str, str | None]] = Counter()
    for job_id in job_ids:
        [outcome] = job(ADMIN, job_id)["outcomes"]  # also asserts the job's counts add up
        assert outcome["engagement_id"] == engagement
        outcomes[outcome["state"], outcome["reason"]] += 1
    accepted = sum(n for (state, _), n in outcomes.items() if state != "excluded")
    capped = outcomes["excluded", "capped_today"]
    aggregator_calls = requests["transactions"]
    bar(
        "refresh cap",
        triggers=TRIGGERS,
        accepted=accepted,
        capped=capped,
        import_jobs=len(imports),
        aggregator_calls=aggregator_calls,
        aggregator_requests=sum(requests.values()),
    )
    assert accepted == 1, outcomes
    assert capped == TRIGGERS - 1, outcomes
    assert outcomes["succeeded", None] == 1, outcomes  # the one accepted refresh ran to the end
    assert len(imports) == 1  # one import job for the engagement's one connection
    # One import's worth: one transactions read, and the account's metadata, balances and details
    # read once each (when the import refreshes the account).
    assert aggregator_calls == 1, requests
    assert max(requests.values()) == 1, requests
