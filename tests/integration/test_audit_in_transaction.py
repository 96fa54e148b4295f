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

from functions.connections_api import handler as connections_api
from functions.refresh_fanout_worker import handler as fanout_worker
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.aws_clients import aws_client
from shared.domain.refresh import FanoutMessage
from shared.services.refresh import fan_out
from tests.conftest import counting_aws_calls
from tests.integration.onboarding_support import ADMIN, call
from tests.integration.test_imports import linked
from tests.integration.test_refresh_dashboard import pump, refresh_system, trigger
from tests.integration.test_refresh_jobs import _take, bulk_engagements

__all__ = ["refresh_system"]

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


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


def test_import_now_that_sqs_refuses_is_a_503_with_the_mark_undone_and_both_events(sandboxes, monkeypatch):
    """POST /customers/{id}/imports while SQS throttles every retry: 503, the connection shows no
    import queued, the log holds `import.requested` then `import.not_queued` (each written with the
    marks); once SQS is back the same request queues the import."""
    import_job, _ = linked(sandboxes)
    monkeypatch.setattr("shared.adapters.queue.time.sleep", lambda _: None)

    def throttled(**_: object) -> None:
        raise ClientError({"Error": {"Code": "RequestThrottled", "Message": "slow down"}}, "SendMessageBatch")

    route = {"customer_id": import_job.customer_id}
    sqs = aws_client("sqs")
    sqs.meta.events.register("before-call.sqs.SendMessageBatch", throttled)
    try:
        status, body = call(
            connections_api, "POST", "/customers/{customer_id}/imports", ADMIN, path_parameters=route
        )
    finally:
        sqs.meta.events.unregister("before-call.sqs.SendMessageBatch", throttled)
    assert (status, body["code"]) == (503, "queue_unavailable")
    [connection] = bootstrap.connections_repository().list_for_customer(
        DEMO_FIRM.firm_id, import_job.customer_id
    )
    assert connection.import_requested_at is None
    logged = [e.action for e in reversed(audit_events("import."))]
    assert logged == ["import.requested", "import.not_queued"]
    status, body = call(
        connections_api, "POST", "/customers/{customer_id}/imports", ADMIN, path_parameters=route
    )
    assert (status, body["jobs_queued"], body["already_queued"]) == (202, 1, 0)


def test_the_coverage_check_sees_a_change_whose_event_is_recorded_apart(aws):
    """tests/reliability/test_audit_coverage.py's detector: a firm's record put alone, its event
    recorded after it, is seen; the same put with its event in one transaction is not."""
    from shared.adapters.dynamodb import keys
    from shared.adapters.dynamodb.audit_log import AuditLog
    from shared.adapters.dynamodb.client import to_item, write_chained
    from shared.domain.audit import AuditEvent
    from tests.reliability.test_audit_coverage import writes_apart_from_an_event

    pk, sk = keys.customer_collection_pk(DEMO_FIRM.firm_id, "c-1"), keys.connection_sk("conn-1")
    item = {"PK": pk, "SK": sk, "type": "connection"}
    put = {"Put": {"TableName": "data", "Item": to_item(item)}}
    event = AuditEvent(DEMO_FIRM.firm_id, ADMIN.sub, "connection.checked", "connection", "conn-1")
    with writes_apart_from_an_event() as apart:
        write_chained([put])
        AuditLog("audit").record(event)
    assert apart == [f"TransactWriteItems {item['PK']} {item['SK']}"]
    with writes_apart_from_an_event() as apart:
        write_chained([put, AuditLog("audit").put_op(event)])
    assert apart == []
