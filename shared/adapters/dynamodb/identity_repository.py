"""Users, firms, staff memberships and customer links: the records authorization trusts."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    batch_get,
    dynamodb_client,
    from_item,
    query_prefix,
    to_item,
    transact_or_raise,
)
from shared.domain.errors import Conflict, StaffChanged
from shared.domain.identity import CustomerLink, Firm, StaffMembership, StaffRole, UserProfile
from shared.domain.mfa import MfaEnrolment
from shared.ports.storage import TransactItem

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


@dataclass
class IdentityRepository:
    table_name: str

    def get_profile(self, user_id: str) -> UserProfile | None:
        item = self._get(keys.user_pk(user_id), keys.PROFILE)
        return UserProfile(user_id, item["email"], item["name"]) if item else None

    def get_firm(self, firm_id: str) -> Firm | None:
        item = self._get(keys.firm_pk(firm_id), keys.FIRM)
        return Firm(firm_id, item["name"], item["timezone"]) if item else None

    def get_firms(self, firm_ids: Iterable[str]) -> dict[str, Firm]:
        """The firms with these ids, in one BatchGetItem per 100 ids."""
        items = self._batch_get([(keys.firm_pk(f), keys.FIRM) for f in set(firm_ids)])
        return {item["firm_id"]: Firm(item["firm_id"], item["name"], item["timezone"]) for item in items}

    def get_membership(self, user_id: str, firm_id: str) -> StaffMembership | None:
        item = self._get(keys.user_pk(user_id), keys.membership_sk(firm_id))
        return _membership(item) if item else None

    def list_memberships(self, user_id: str) -> list[StaffMembership]:
        return [
            _membership(item) for item in self._query_prefix(keys.user_pk(user_id), keys.MEMBERSHIP_PREFIX)
        ]

    def list_staff(self, firm_id: str) -> list[StaffMembership]:
        """Every membership of the firm, deactivated ones included (access pattern #4)."""
        return [
            _membership(item)
            for item in self._query_index("GSI1", "GSI1PK", keys.firm_staff_gsi1pk(firm_id))
            if item.get("type") == "membership"
        ]

    def get_profiles(self, user_ids: Iterable[str]) -> dict[str, UserProfile]:
        """The profiles of these people, in one BatchGetItem per 100 ids."""
        items = self._batch_get([(keys.user_pk(u), keys.PROFILE) for u in set(user_ids)])
        return {item["user_id"]: UserProfile(item["user_id"], item["email"], item["name"]) for item in items}

    def save_membership(
        self,
        membership: StaffMembership,
        previous: StaffMembership,
        *extra: TransactItem,
        other_admin: StaffMembership | None,
    ) -> None:
        """Replace `previous` (still as read: role and active, else `StaffChanged`), in one
        transaction with a check that `other_admin` is still an active admin when given."""
        put = {
            "TableName": self.table_name,
            "Item": to_item(_membership_item(membership)),
            **_still(previous),
        }
        items: list[dict[str, Any]] = [{"Put": put}]
        if other_admin is not None:
            key = {"PK": keys.user_pk(other_admin.user_id), "SK": keys.membership_sk(other_admin.firm_id)}
            check = {"TableName": self.table_name, "Key": to_item(key), **_still(other_admin)}
            items.append({"ConditionCheck": check})
        transact_or_raise([*items, *extra], StaffChanged)

    def list_firms(self) -> list[Firm]:
        """Every firm (the operator's command; access pattern #43)."""
        return [
            Firm(item["firm_id"], item["name"], item["timezone"])
            for item in self._query_index("GSI2", "GSI2PK", keys.FIRMS)
        ]

    def list_customer_links(self, user_id: str) -> list[CustomerLink]:
        return [
            CustomerLink(item["firm_id"], item["customer_id"])
            for item in self._query_prefix(keys.user_pk(user_id), keys.CUSTOMER_LINK_PREFIX)
        ]

    def put_profile(self, profile: UserProfile) -> None:
        self._put(_profile(profile))

    def put_profile_if_absent(self, profile: UserProfile) -> None:
        client = dynamodb_client()
        with suppress(client.exceptions.ConditionalCheckFailedException):  # they have one: keep it
            client.put_item(
                TableName=self.table_name,
                Item=to_item(_profile(profile)),
                ConditionExpression="attribute_not_exists(PK)",
            )

    def put_firm(self, firm: Firm, *extra: TransactItem) -> None:
        put = {
            "TableName": self.table_name,
            "Item": to_item(
                {
                    "PK": keys.firm_pk(firm.firm_id),
                    "SK": keys.FIRM,
                    "type": "firm",
                    "firm_id": firm.firm_id,
                    "name": firm.name,
                    "timezone": firm.timezone,
                    "GSI2PK": keys.FIRMS,
                    "GSI2SK": firm.firm_id,
                }
            ),
        }
        transact_or_raise([{"Put": put}, *extra], Conflict)

    def put_membership(self, membership: StaffMembership) -> None:
        self._put(_membership_item(membership))

    def new_membership_op(self, membership: StaffMembership) -> dict[str, Any]:
        """The membership as a transaction item, only if the person has none in the firm (an
        accepted staff invitation writes it with the acceptance)."""
        put = {
            "TableName": self.table_name,
            "Item": to_item(_membership_item(membership)),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        return {"Put": put}

    def put_customer_link(self, user_id: str, link: CustomerLink) -> None:
        self._put(_customer_link(user_id, link))

    def customer_link_op(self, user_id: str, link: CustomerLink) -> dict[str, Any]:
        """The link as a transaction item, written with the acceptance that creates it."""
        return {"Put": {"TableName": self.table_name, "Item": to_item(_customer_link(user_id, link))}}

    def get_mfa_enrolment(self, user_id: str) -> MfaEnrolment | None:
        """Our record that the person's sign-in has a second factor (access pattern #90)."""
        item = self._get(keys.user_pk(user_id), keys.MFA)
        if item is None:
            return None
        return MfaEnrolment(user_id, datetime.fromisoformat(item["enrolled_at"]), item["method"])

    def save_mfa_enrolment(self, enrolment: MfaEnrolment, also: Sequence[dict[str, Any]]) -> bool:
        """Put the enrolment only if the person has none, in one transaction with `also` (its audit
        events); False, and nothing written, when they already had one."""
        item = {
            "PK": keys.user_pk(enrolment.user_id),
            "SK": keys.MFA,
            "type": "mfa_enrolment",
            "user_id": enrolment.user_id,
            "method": enrolment.method,
            "enrolled_at": enrolment.enrolled_at.isoformat(),
        }
        put = {
            "TableName": self.table_name,
            "Item": to_item(item),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        try:
            transact_or_raise([{"Put": put}, *also], _AlreadyEnrolled)
        except _AlreadyEnrolled:
            return False
        return True

    def remove_mfa_enrolment(self, enrolment: MfaEnrolment, also: Sequence[dict[str, Any]]) -> bool:
        """Delete the enrolment only if it is still this one (#106), in one transaction with `also`;
        False, and nothing written, when it is gone or was replaced meanwhile."""
        delete = {
            "TableName": self.table_name,
            "Key": to_item({"PK": keys.user_pk(enrolment.user_id), "SK": keys.MFA}),
            "ConditionExpression": "enrolled_at = :enrolled_at",
            "ExpressionAttributeValues": to_item({":enrolled_at": enrolment.enrolled_at.isoformat()}),
        }
        try:
            transact_or_raise([{"Delete": delete}, *also], _AlreadyEnrolled)
        except _AlreadyEnrolled:
            return False
        return True

    def _batch_get(self, wanted: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """The items with these (PK, SK), 100 per BatchGetItem (unprocessed keys asked again)."""
        return batch_get(self.table_name, [{"PK": pk, "SK": sk} for pk, sk in sorted(wanted)])

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = dynamodb_client().get_item(TableName=self.table_name, Key=to_item({"PK": pk, "SK": sk}))
        return from_item(response["Item"]) if "Item" in response else None

    def _put(self, values: dict[str, Any]) -> None:
        dynamodb_client().put_item(TableName=self.table_name, Item=to_item(values))

    def _query_index(self, index: str, partition_name: str, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = dynamodb_client().get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression=f"{partition_name} = :pk",
            ExpressionAttributeValues=to_item({":pk": partition}),
        ):
            items.extend(from_item(raw) for raw in page["Items"])
        return items

    def _query_prefix(self, pk: str, sk_prefix: str) -> list[dict[str, Any]]:
        return query_prefix(self.table_name, pk, sk_prefix)


class _AlreadyEnrolled(Exception):
    """The person's enrolment was not as the transaction expected: there already (a repeated or
    concurrent confirm), or gone or replaced (a concurrent removal or confirm)."""


def _membership(item: dict[str, Any]) -> StaffMembership:
    # a membership written before deactivation existed has no `active`: it is active
    return StaffMembership(
        item["firm_id"], item["user_id"], StaffRole(item["role"]), bool(item.get("active", True))
    )


def _membership_item(membership: StaffMembership) -> dict[str, Any]:
    return {
        "PK": keys.user_pk(membership.user_id),
        "SK": keys.membership_sk(membership.firm_id),
        "GSI1PK": keys.firm_staff_gsi1pk(membership.firm_id),
        "GSI1SK": membership.user_id,
        "type": "membership",
        "firm_id": membership.firm_id,
        "user_id": membership.user_id,
        "role": membership.role.value,
        "active": membership.active,
    }


def _still(membership: StaffMembership) -> dict[str, Any]:
    """The condition that the stored membership is still `membership` (role and active)."""
    active = "(attribute_not_exists(active) OR active = :active)" if membership.active else "active = :active"
    return {
        "ConditionExpression": f"attribute_exists(PK) AND #role = :role AND {active}",
        "ExpressionAttributeNames": {"#role": "role"},
        "ExpressionAttributeValues": to_item({":role": membership.role.value, ":active": membership.active}),
    }


def _profile(profile: UserProfile) -> dict[str, Any]:
    return {
        "PK": keys.user_pk(profile.user_id),
        "SK": keys.PROFILE,
        "type": "user",
        "user_id": profile.user_id,
        "email": profile.email,
        "name": profile.name,
    }


def _customer_link(user_id: str, link: CustomerLink) -> dict[str, Any]:
    return {
        "PK": keys.user_pk(user_id),
        "SK": keys.customer_link_sk(link.firm_id, link.customer_id),
        "type": "customer_link",
        "firm_id": link.firm_id,
        "customer_id": link.customer_id,
    }
