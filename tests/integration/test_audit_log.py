from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.audit_log import AuditLog
from shared.adapters.dynamodb.client import dynamodb_client, to_item
from shared.domain.audit import AuditEvent


def event(action: str, minutes: int, firm: str = "f1") -> AuditEvent:
    return AuditEvent(
        firm,
        "user-1",
        action,
        "customer",
        "c1",
        {"level": "read_only"},
        datetime(2026, 11, 22, 9, tzinfo=UTC) + timedelta(minutes=minutes),
    )


def test_events_are_listed_newest_first_per_firm(aws):
    log = AuditLog("data")
    for minute, action in enumerate(["invitation.sent", "invitation.accepted", "account.accepted"]):
        log.record(event(action, minute))
    log.record(event("other.firm", 5, firm="f2"))
    assert [e.action for e in log.latest("f1")] == [
        "account.accepted",
        "invitation.accepted",
        "invitation.sent",
    ]
    assert log.latest("f1")[0].details == {"level": "read_only"}


def test_an_event_cannot_be_overwritten(aws):
    event_id = AuditLog("data").record(event("access.granted", 0))
    with pytest.raises(ClientError) as raised:
        dynamodb_client().put_item(
            TableName="data",
            Item=to_item({"PK": keys.audit_pk("f1"), "SK": event_id, "action": "forged"}),
            ConditionExpression="attribute_not_exists(PK)",
        )
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
