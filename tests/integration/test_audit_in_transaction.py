"""Issue 17 item 3 on moto: each state change and its audit event in one TransactWriteItems, never
recorded after it. A Data Refresh page's claims and exclusions (the fan-out worker), the import
marks of "import now" and of a connection's refresh (then, only then, the queue send, undone with
its own event when the send fails)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.refresh_fanout_worker import handler as fanout_worker
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.aws_clients import aws_client
from shared.domain.refresh import Connector, Engagement, FanoutMessage
from shared.services.refresh import fan_out
from tests.conftest import counting_aws_calls
from tests.integration.onboarding_support import ADMIN
from tests.integration.test_refresh_dashboard import CURRENT_EULA, pump, refresh_system, trigger
from tests.integration.test_refresh_jobs import _take

__all__ = ["refresh_system"]

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def bulk_engagements(n: int, *, inactive: int) -> list[str]:
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


def audit_events(action_prefix: str = "") -> list[dict[str, Any]]:
    """Every event of the demo firm's log whose action starts with `action_prefix` (all pages)."""
    from shared.adapters.dynamodb.audit_log import AuditLog

    log, found, cursor = AuditLog("audit"), [], None
    while True:
        events, cursor = log.page(DEMO_FIRM.firm_id, cursor=cursor, limit=500)
        found += [e for e in events if e.action.startswith(action_prefix)]
        if not cursor:
            return found


def test_a_page_of_100_engagements_writes_each_claim_and_its_exclusions_with_their_events(refresh_system):
    """One TransactWriteItems per claim (its `refresh.claimed` event inside) and one for the page's
    exclusions (its `refresh.excluded` event inside): no write apart. Measured before issue 17 item 3
    (the claims, the exclusions, then one `refresh.fanned_out` PutItem): 92 write requests, 1 event."""
    ids = bulk_engagements(100, inactive=10)
    job_id = trigger(ADMIN, {"engagement_ids": ids})
    transactions: list[list[dict[str, Any]]] = []
    with counting_aws_calls("dynamodb", "sqs") as calls, witnessing_transactions(transactions):
        pump("refresh", fanout_worker)
    writes = {name: calls[name] for name in WRITES if calls[name]}
    print(json.dumps({"page": 100, "excluded": 10, "writes": writes, "queries": calls["Query"]}))
    assert writes == {"TransactWriteItems": 90 + 1}  # 90 claims, 1 write of 10 exclusions
    assert all(sum("Put" in i and i["Put"]["TableName"] == "audit" for i in t) == 1 for t in transactions)
    claimed = audit_events("refresh.claimed")
    assert sorted(e.customer_id or "" for e in claimed) == sorted(ids[:90])
    assert {(e.target_id, e.actor_id) for e in claimed} == {(job_id, ADMIN.sub)}
    [excluded] = audit_events("refresh.excluded")
    assert sorted(excluded.details["excluded"].split()) == sorted(f"{i}:eula_not_accepted" for i in ids[90:])
    assert calls["Query"] == 91  # each event's chain tip (reads, not writes): was 1


def test_a_redelivered_page_writes_no_event_twice(refresh_system):
    ids = bulk_engagements(6, inactive=2)
    trigger(ADMIN, {"engagement_ids": ids})
    [message] = _take("refresh")
    for _ in range(3):  # SQS delivers at least once
        fan_out(bootstrap.refresh(), FanoutMessage.from_json(message))
    assert sorted(e.customer_id or "" for e in audit_events("refresh.claimed")) == sorted(ids[:4])
    [excluded] = audit_events("refresh.excluded")
    assert len(excluded.details["excluded"].split()) == 2


def test_a_failing_audit_write_cancels_the_claim_and_the_redelivery_claims_it_with_its_event(
    refresh_system, monkeypatch
):
    """The audit log refuses the first claim's event (its table unreachable): the claim is not
    written either (the page fails, SQS delivers it again), and the next delivery claims every
    engagement once, each with its one event."""
    ids = bulk_engagements(3, inactive=0)
    job_id = trigger(ADMIN, {"engagement_ids": ids})
    [message] = _take("refresh")
    refused = {"left": 1}

    def unreachable_audit(params: dict[str, Any], **_: Any) -> None:
        for item in params.get("TransactItems", []):
            if refused["left"] and item.get("Put", {}).get("TableName") == "audit":
                refused["left"] -= 1
                item["Put"]["TableName"] = "audit-unreachable"

    client = aws_client("dynamodb")
    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", unreachable_audit)
    try:
        with pytest.raises(ClientError):
            fan_out(bootstrap.refresh(), FanoutMessage.from_json(message))
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", unreachable_audit)
    stored = bootstrap.engagement_index().jobs.get_job(DEMO_FIRM.firm_id, job_id)
    assert stored is not None and (stored.counts.pending, stored.counts.queued) == (3, 0)
    assert audit_events("refresh.claimed") == []
    fan_out(bootstrap.refresh(), FanoutMessage.from_json(message))
    assert sorted(e.customer_id or "" for e in audit_events("refresh.claimed")) == sorted(ids)


@contextmanager
def witnessing_transactions(into: list[list[dict[str, Any]]]) -> Iterator[None]:
    """Every TransactWriteItems' items, as sent."""

    def note(params: dict[str, Any], **_: Any) -> None:
        into.append(list(params["TransactItems"]))

    client = aws_client("dynamodb")
    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", note)
    try:
        yield
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", note)
