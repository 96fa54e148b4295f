from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.audit_log import AuditLog
from shared.adapters.dynamodb.client import dynamodb_client, to_item
from shared.domain.audit import AuditEvent

START = datetime(2026, 11, 22, 9, tzinfo=UTC)


def event(action: str, minutes: int, firm: str = "f1", customer: str | None = None) -> AuditEvent:
    return AuditEvent(
        firm,
        "user-1",
        action,
        "customer",
        "c1",
        {"level": "read_only"},
        START + timedelta(minutes=minutes),
        customer_id=customer,
    )


def test_events_are_listed_newest_first_per_firm(aws):
    log = AuditLog("data")
    for minute, action in enumerate(["invitation.sent", "invitation.accepted", "account.accepted"]):
        log.record(event(action, minute))
    log.record(event("other.firm", 5, firm="f2"))
    events, _ = log.page("f1")
    assert [e.action for e in events] == ["account.accepted", "invitation.accepted", "invitation.sent"]
    assert events[0].details == {"level": "read_only"}


def test_pages_follow_the_cursor_and_filter_by_customer(aws):
    log = AuditLog("data")
    for minute in range(5):
        log.record(event(f"a{minute}", minute, customer="c1" if minute % 2 == 0 else "c2"))
    first, cursor = log.page("f1", limit=2)
    second, _ = log.page("f1", limit=2, cursor=cursor)
    assert [e.action for e in first + second] == ["a4", "a3", "a2", "a1"]
    only_c1, _ = log.page("f1", customer_id="c1")
    assert [e.action for e in only_c1] == ["a4", "a2", "a0"]


def test_an_event_cannot_be_overwritten(aws):
    event_id = AuditLog("data").record(event("access.granted", 0))
    with pytest.raises(ClientError) as raised:
        dynamodb_client().put_item(
            TableName="data",
            Item=to_item({"PK": keys.audit_pk("f1"), "SK": event_id, "action": "forged"}),
            ConditionExpression="attribute_not_exists(PK)",
        )
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
