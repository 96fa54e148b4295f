"""B6 aggregator budget (issues 5, 8 and 13): real HTTP requests per account, per endpoint, per
day at the GoCardless sandbox, whatever the mix of scheduled import (dispatcher + worker), Data
Refresh (trigger, fan-out, worker), repeated manual imports and repeated find-new-accounts, under
faults (a 5xx, and a request the provider served but that timed out on our side, on each
account's first transactions requests of the day); none once the budget is spent.

Every request the adapter sends reaches the sandbox through its httpx transport, where it is
counted as the provider counts it (a 429, a retried 5xx or a timed-out request counts too: a
request is a request). GoCardless limits `details`, `balances` and `transactions` per account and
day (4 each): those are the endpoints checked.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx

from functions.connections_api import handler as connections_api
from functions.import_dispatcher import handler as dispatcher
from functions.import_worker import handler as import_worker
from functions.refresh_api import handler as refresh_api
from functions.refresh_fanout_worker import handler as fanout_worker
from shared import bootstrap
from shared.adapters.dynamodb.connections_repository import ConnectionAddress
from shared.domain.imports import DAILY_CALLS_PER_ENDPOINT
from shared.domain.jobs import ImportJob
from tests.conftest import FakeLambdaContext
from tests.integration.onboarding_support import ADMIN, INVITEE, call
from tests.integration.test_imports import linked
from tests.integration.test_refresh_dashboard import CURRENT_EULA, pump, refresh_system, trigger

__all__ = ["refresh_system"]

LIMITED = ("details", "balances", "transactions")
ACCOUNT_CALL = re.compile(r"/api/v2/accounts/([^/]+)/(?:(details|balances|transactions)/)?")
MANUAL_IMPORTS = 5  # per day, on top of the schedule and one Data Refresh
FIND_NEW_ACCOUNTS = 3  # per day, by the customer
SERVER_ERROR = (
    500,
    {"Content-Type": "application/json"},
    b'{"summary": "Internal error", "status_code": 500}',
)


class RequestCounter:
    """Counts the sandbox's requests by (day, account, endpoint); other calls under (day, '-', path)."""

    def __init__(self, sandbox: Any) -> None:
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.faults: Counter[str] = Counter()
        self._sandbox, self._handle = sandbox, sandbox.handle
        sandbox.handle = self._counted

    def _counted(self, method: str, path: str, *args: Any) -> Any:
        day = self._sandbox._clock().date().isoformat()
        match = ACCOUNT_CALL.fullmatch(path)
        if match:
            key = (day, match.group(1), match.group(2) or "account")
            self.calls[key] += 1
            if key[2] == "transactions" and self.calls[key] == 1:
                self.faults["5xx"] += 1
                return SERVER_ERROR
            if key[2] == "transactions" and self.calls[key] == 2:
                self._handle(method, path, *args)  # served by the provider...
                self.faults["timeout"] += 1
                raise httpx.ReadTimeout("...but the answer never came back")
        else:
            self.calls[(day, "-", re.sub(r"/[0-9a-f-]{20,}/", "/{id}/", path))] += 1
        return self._handle(method, path, *args)

    def total(self) -> int:
        return sum(self.calls.values())

    def per_account_endpoint(self, day: str) -> dict[tuple[str, str], int]:
        return {
            (account, endpoint): n
            for (d, account, endpoint), n in self.calls.items()
            if d == day and endpoint in LIMITED
        }


def _outcome(job: ImportJob) -> str | None:
    connection = bootstrap.imports().connections.get(
        ConnectionAddress(job.firm_id, job.customer_id, job.connection_id)
    )
    return connection.last_import_outcome if connection else None


def _a_day(counter: RequestCounter, job: ImportJob) -> list[tuple[str, str | None, int]]:
    """The day's mix, job after job: (what ran, how the import ended, the requests it made)."""
    ran: list[tuple[str, str | None, int]] = []

    def run(name: str, start: Any) -> None:
        before = counter.total()
        start()
        pump("imports", import_worker)
        ran.append((name, _outcome(job), counter.total() - before))

    run("schedule", lambda: dispatcher.lambda_handler({"job": "daily-import"}, FakeLambdaContext()))
    run(
        "refresh",
        lambda: (trigger(ADMIN, {"engagement_ids": [job.customer_id]}), pump("refresh", fanout_worker)),
    )
    for n in range(FIND_NEW_ACCOUNTS):
        run(
            f"find_new_accounts{n + 1}",
            lambda: call(
                connections_api,
                "POST",
                "/connections/{connection_id}/find-new-accounts",
                INVITEE,
                path_parameters={"connection_id": job.connection_id},
            ),
        )
    for n in range(MANUAL_IMPORTS):
        run(
            f"manual{n + 1}",
            lambda: call(
                connections_api,
                "POST",
                "/customers/{customer_id}/imports",
                ADMIN,
                path_parameters={"customer_id": job.customer_id},
            ),
        )
    return ran


def test_b6_aggregator_budget(refresh_system, bar):
    boxes = refresh_system
    counter = RequestCounter(boxes.gocardless)
    job, _ = linked(boxes)  # the link itself reads the accounts once (details, balances)
    assert call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": CURRENT_EULA})[0] == 200
    link_day = boxes.now.date().isoformat()
    # Linking reads each account's details and balances once, outside the import budget.
    link_reads = max(counter.per_account_endpoint(link_day).values(), default=0)
    first_day = _a_day(counter, job)
    boxes.now += timedelta(days=1)
    next_day = boxes.now.date().isoformat()
    second_day = _a_day(counter, job)

    figures: dict[str, Any] = {}
    worst = 0
    after_spent = 0
    spent_jobs = 0
    for label, day, ran in (("link_day", link_day, first_day), ("next_day", next_day, second_day)):
        per_endpoint = counter.per_account_endpoint(day)
        busiest = max(per_endpoint.values(), default=0)
        worst = max(worst, busiest)
        spent = [requests for _, outcome, requests in ran if outcome == "budget_spent"]
        spent_jobs += len(spent)
        after_spent += sum(spent)
        figures[f"{label}_max_per_account_endpoint"] = busiest
        figures[f"{label}_jobs"] = len(ran)
        figures[f"{label}_imported"] = sum(outcome == "imported" for _, outcome, _ in ran)
        figures[f"{label}_budget_spent"] = len(spent)
        figures[f"{label}_by_endpoint"] = "/".join(
            f"{endpoint}:{max((n for (_, e), n in per_endpoint.items() if e == endpoint), default=0)}"
            for endpoint in LIMITED
        )
    bar(
        "B6 aggregator budget",
        accounts=len({account for (_, account, endpoint) in counter.calls if endpoint in LIMITED}),
        limit=DAILY_CALLS_PER_ENDPOINT,
        max_calls_per_account_endpoint_day=worst,
        calls_after_budget_spent=after_spent,
        link_reads_per_account_endpoint=link_reads,
        faults="/".join(f"{kind}:{n}" for kind, n in sorted(counter.faults.items())),
        **figures,
    )
    assert spent_jobs > 0  # the mix does reach the budget
    assert counter.faults["5xx"] > 0 and counter.faults["timeout"] > 0  # the faults did happen
    assert worst <= DAILY_CALLS_PER_ENDPOINT
    assert after_spent == 0
    # The next day the budget is there again: the schedule imports.
    assert second_day[0][1] == "imported"
