"""Staff invitations (keys.py #46-#49): the invitation in its firm's partition, the firm's claim
on the invited email, the token row by hash and the reminders index entry."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    query_prefix,
    to_item,
    transact_or_raise,
)
from shared.adapters.dynamodb.grants_repository import read_item
from shared.adapters.dynamodb.invitation_items import (
    due_items,
    invitation_of,
    invitation_values,
    versioned_put,
)
from shared.domain.customers import email_fingerprint
from shared.domain.errors import StaffInvitationChanged
from shared.domain.identity import StaffRole
from shared.domain.staff_invitations import StaffInvitation
from shared.ports.storage import TransactItem


@dataclass
class StaffInvitationsRepository:
    table_name: str

    # reads -------------------------------------------------------------------------------
    def get(self, firm_id: str, invitation_id: str) -> StaffInvitation | None:
        item = self._get(keys.firm_pk(firm_id), keys.staff_invite_sk(invitation_id))
        return _record(item) if item else None

    def find_by_email(self, firm_id: str, email: str) -> StaffInvitation | None:
        claim = self._get(keys.firm_pk(firm_id), keys.staff_email_sk(email_fingerprint(email)))
        return self.get(firm_id, claim["invitation_id"]) if claim else None

    def find_by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        item = self._get(keys.staff_token_pk(token_hash), keys.INVITE)
        return (item["firm_id"], item["invitation_id"]) if item else None

    def list_for_firm(self, firm_id: str) -> list[StaffInvitation]:
        items = query_prefix(self.table_name, keys.firm_pk(firm_id), keys.STAFF_INVITE_PREFIX)
        return [_record(item) for item in items]

    def due_for_reminders(self, today: str) -> list[tuple[str, str]]:
        due = due_items(self.table_name, keys.STAFF_INVITATION_DUE, today, "firm_id, invitation_id")
        return [(item["firm_id"], item["invitation_id"]) for item in due]

    # writes ------------------------------------------------------------------------------
    def save(
        self, record: StaffInvitation, previous: StaffInvitation | None, *extra: TransactItem
    ) -> StaffInvitation:
        saved = replace(record, version=(previous.version + 1) if previous else 1)
        put = versioned_put(self.table_name, _values(saved), previous.version if previous else None)
        self.transact([{"Put": put}, *extra])
        return saved

    def email_claim(self, record: StaffInvitation) -> TransactItem:
        values = {
            "PK": keys.firm_pk(record.firm_id),
            "SK": keys.staff_email_sk(email_fingerprint(record.email)),
            "type": "staff_invitation_email",
            "firm_id": record.firm_id,
            "invitation_id": record.invitation_id,
        }
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(values),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def token_put(self, record: StaffInvitation) -> TransactItem:
        values = {
            "PK": keys.staff_token_pk(record.invitation.token_hash),
            "SK": keys.INVITE,
            "type": "staff_invite_token",
            "firm_id": record.firm_id,
            "invitation_id": record.invitation_id,
            "expires_at": int(record.invitation.expires_at.timestamp()),  # TTL clean-up
        }
        return {"Put": {"TableName": self.table_name, "Item": to_item(values)}}

    def token_delete(self, token_hash: str, *, must_exist: bool) -> TransactItem:
        delete: TransactItem = {
            "TableName": self.table_name,
            "Key": to_item({"PK": keys.staff_token_pk(token_hash), "SK": keys.INVITE}),
        }
        if must_exist:
            delete["ConditionExpression"] = "attribute_exists(PK)"
        return {"Delete": delete}

    def transact(self, items: list[TransactItem]) -> None:
        transact_or_raise(items, StaffInvitationChanged)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return read_item(self.table_name, pk, sk)


def _values(record: StaffInvitation) -> dict[str, Any]:
    invitation = record.invitation
    values: dict[str, Any] = {
        "PK": keys.firm_pk(record.firm_id),
        "SK": keys.staff_invite_sk(record.invitation_id),
        "type": "staff_invitation",
        "firm_id": record.firm_id,
        "invitation_id": record.invitation_id,
        "email": record.email,
        "name": record.name,
        "role": record.role.value,
        "invited_by": record.invited_by,
        "created_at": record.created_at.isoformat(),
        "invitation": invitation_values(invitation),
        "user_id": record.user_id,
        "accepted_at": record.accepted_at.isoformat() if record.accepted_at else None,
        "version": record.version,
    }
    next_due = invitation.next_due() if not record.has_accepted else None
    if next_due is not None:
        values["GSI2PK"] = keys.STAFF_INVITATION_DUE
        values["GSI2SK"] = keys.staff_due_gsi2sk(next_due.isoformat(), record.firm_id, record.invitation_id)
    return values


def _record(item: dict[str, Any]) -> StaffInvitation:
    accepted_at = item.get("accepted_at")
    return StaffInvitation(
        firm_id=item["firm_id"],
        invitation_id=item["invitation_id"],
        email=item["email"],
        name=item["name"],
        role=StaffRole(item["role"]),
        invited_by=item["invited_by"],
        created_at=datetime.fromisoformat(item["created_at"]),
        invitation=invitation_of(item["invitation"]),
        user_id=item.get("user_id"),
        accepted_at=datetime.fromisoformat(accepted_at) if accepted_at else None,
        version=int(item["version"]),
    )
