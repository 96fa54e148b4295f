"""What every invitation record's item shares (customers, file grants, staff invitations): the
`Invitation` as a map attribute, the reminders index Query (#15, #29, #49) and the record's put
under its optimistic lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item
from shared.domain.customers import Invitation, InvitationStatus
from shared.ports.storage import TransactItem


def invitation_values(invitation: Invitation) -> dict[str, Any]:
    values: dict[str, Any] = {
        "token_hash": invitation.token_hash,
        "sent_at": invitation.sent_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
        "status": invitation.status.value,
        "reminders_sent": list(invitation.reminders_sent),
    }
    if invitation.message is not None:
        values["message"] = invitation.message
    return values


def invitation_of(values: dict[str, Any]) -> Invitation:
    return Invitation(
        token_hash=values["token_hash"],
        sent_at=datetime.fromisoformat(values["sent_at"]),
        expires_at=datetime.fromisoformat(values["expires_at"]),
        status=InvitationStatus(values["status"]),
        reminders_sent=tuple(int(age) for age in values.get("reminders_sent", [])),
        message=values.get("message"),
    )


def due_items(table_name: str, due_pk: str, today: str, attributes: str) -> list[dict[str, Any]]:
    """The `attributes` of the records whose reminder or expiry is due by `today` on the
    reminders index `due_pk` (GSI2), missed runs included."""
    found: list[dict[str, Any]] = []
    paginator = dynamodb_client().get_paginator("query")
    for page in paginator.paginate(
        TableName=table_name,
        IndexName="GSI2",
        KeyConditionExpression="GSI2PK = :pk AND GSI2SK <= :today",
        ExpressionAttributeValues=to_item({":pk": due_pk, ":today": keys.due_through(today)}),
        ProjectionExpression=attributes,
    ):
        found += [from_item(raw) for raw in page["Items"]]
    return found


def versioned_put(table_name: str, values: dict[str, Any], previous_version: int | None) -> TransactItem:
    """The record's Put: new (`previous_version` None) or only over the version read."""
    put: TransactItem = {"TableName": table_name, "Item": to_item(values)}
    if previous_version is not None:
        put["ConditionExpression"] = "version = :version"
        put["ExpressionAttributeValues"] = {":version": {"N": str(previous_version)}}
    else:
        put["ConditionExpression"] = "attribute_not_exists(PK)"
    return put
