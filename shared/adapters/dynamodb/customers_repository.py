"""Customers with their invitation, their dashboard rows and section counts.

Every change of a customer is one TransactWriteItems: the customer item (optimistic lock on
`version`), one visibility row per staff member who may see it, and the section counters.
Callers add the items of the same business change (email claim, token, account review,
customer link) so that all of it happens or none of it. Once the relationship ended, a write is the
customer item and the firm's counters only (whatever its number of advisers): its visibility rows
and search entries are cleared after the end, in batches (`clear_rows`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    batch_get,
    batch_write,
    dynamodb_client,
    from_item,
    query_prefix,
    to_item,
    transact_removals,
    write_chained,
)
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.adapters.dynamodb.invitation_items import (
    due_items,
    invitation_of,
    invitation_values,
    versioned_put,
)
from shared.adapters.dynamodb.search_index import Indexed, entry_writes, find_page
from shared.domain.customers import Customer, Section, email_fingerprint
from shared.domain.errors import (
    ConcurrentChange,
)
from shared.domain.search import search_prefix
from shared.ports.customers import CustomerPage
from shared.ports.storage import TransactItem


@dataclass
class CustomersRepository:
    table_name: str

    # reads -------------------------------------------------------------------------------
    def get(self, firm_id: str, customer_id: str) -> Customer | None:
        item = self._get(keys.firm_pk(firm_id), keys.customer_sk(customer_id))
        return _customer(item) if item else None

    def get_many(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Customer]:
        """The customers among these (firm_id, customer_id), one BatchGetItem per 100 (#10)."""
        wanted = [{"PK": keys.firm_pk(f), "SK": keys.customer_sk(c)} for f, c in sorted(set(refs))]
        found = (_customer(item) for item in batch_get(self.table_name, wanted, consistent=True))
        return {(customer.firm_id, customer.customer_id): customer for customer in found}

    def find_by_email(self, firm_id: str, email: str) -> Customer | None:
        claim = self._get(keys.firm_pk(firm_id), keys.customer_email_sk(email_fingerprint(email)))
        return self.get(firm_id, claim["customer_id"]) if claim else None

    def find_by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        """(firm_id, customer_id) of the invitation this token hash belongs to."""
        item = self._get(keys.invite_token_pk(token_hash), keys.INVITE)
        return (item["firm_id"], item["customer_id"]) if item else None

    def counts(self, firm_id: str, staff_id: str | None) -> dict[str, int]:
        item = self._get(keys.firm_pk(firm_id), keys.counts_sk(staff_id)) or {}
        return {section.value: int(item.get(section.value, 0)) for section in Section}

    def list_section(
        self,
        firm_id: str,
        section: Section,
        *,
        staff_id: str | None,
        search: str | None,
        cursor: str | None,
        limit: int,
    ) -> CustomerPage:
        """Newest first. `staff_id` None: the whole firm (admins); else that adviser's rows.
        A search (`search`) is read through the scope's search entries (#56) instead: its rows
        come in the order of what matched (name or email), see search_index."""
        prefix = search_prefix(search)
        if prefix is not None:
            return self._search_section(firm_id, section, staff_id, prefix, cursor=cursor, limit=limit)
        ended = section is Section.ENDED  # #110: admins only, by the time it ended
        partition = keys.section_gsi1pk(firm_id, section.value, staff_id)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk",
            "ScanIndexForward": False,
            "Limit": limit,
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        }
        last = decode_cursor(cursor)
        if last:
            table_key = _row_key(firm_id, keys.ended_gsi1sk_customer(last) if ended else last, staff_id)
            query["ExclusiveStartKey"] = to_item({**table_key, "GSI1PK": partition, "GSI1SK": last})
        response = query_page(query)
        evaluated = response.get("LastEvaluatedKey")
        return CustomerPage(
            rows=[_row(from_item(raw)) for raw in response["Items"]],
            next_cursor=encode_cursor(evaluated["GSI1SK"]["S"]) if evaluated else None,
        )

    def _search_section(
        self,
        firm_id: str,
        section: Section,
        staff_id: str | None,
        prefix: str,
        *,
        cursor: str | None,
        limit: int,
    ) -> CustomerPage:
        def rows_of(customer_ids: list[str]) -> dict[str, dict[str, Any]]:
            wanted = [_row_key(firm_id, customer_id, staff_id) for customer_id in customer_ids]
            return {item["customer_id"]: item for item in batch_get(self.table_name, wanted, consistent=True)}

        def found_by(item: dict[str, Any]) -> Indexed:
            return Indexed.of(item["name"], item["email"], _staff_ids(item))

        def in_section(item: dict[str, Any]) -> bool:
            return item.get("section") == section.value

        partition = keys.customer_find_pk(firm_id, staff_id)
        items, next_cursor = find_page(
            self.table_name, partition, prefix, rows_of, found_by, in_section, cursor=cursor, limit=limit
        )
        return CustomerPage(rows=[_row(item) for item in items], next_cursor=next_cursor)

    def due_for_erasure(self, today: str) -> list[tuple[str, str]]:
        """(firm_id, customer_id) of ended relationships whose erasure is due by `today` (#101)."""
        due = due_items(self.table_name, keys.ERASURE_DUE, today, "firm_id, customer_id")
        return [(item["firm_id"], item["customer_id"]) for item in due]

    def due_for_reminders(self, today: str) -> list[tuple[str, str]]:
        """(firm_id, customer_id) of invitations whose reminder or expiry is due by `today`,
        including any a missed run left behind."""
        due = due_items(self.table_name, keys.INVITATION_DUE, today, "firm_id, customer_id")
        return [(item["firm_id"], item["customer_id"]) for item in due]

    # writes ------------------------------------------------------------------------------
    def save(self, customer: Customer, previous: Customer | None, *extra: TransactItem) -> Customer:
        """Write `customer` (created if `previous` is None) with its rows, counters and `extra`."""
        saved = replace(customer, version=(previous.version + 1) if previous else 1)
        items: list[TransactItem] = [self._put_customer(saved, previous)]
        if not saved.relationship_ended:  # else its rows and entries are cleared after the end
            items += [self._put_visibility(saved, staff_id) for staff_id in saved.staff_ids]
            items += self.find_entry_writes(saved, previous)
        if previous and not saved.relationship_ended:
            items += [
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": to_item(
                            {
                                "PK": keys.customer_collection_pk(saved.firm_id, saved.customer_id),
                                "SK": keys.visibility_sk(staff_id),
                            }
                        ),
                    }
                }
                for staff_id in set(previous.staff_ids) - set(saved.staff_ids)
            ]
        items += self._counter_updates(saved, previous)
        items += extra
        try:
            write_chained(items)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise ConcurrentChange() from None
            raise
        return saved

    def find_entry_writes(self, customer: Customer, previous: Customer | None) -> list[TransactItem]:
        """The customer's search entries (#56) brought in step: none while on no section."""
        return entry_writes(
            self.table_name,
            keys.customer_find_pk,
            customer.firm_id,
            customer.customer_id,
            _indexed(previous) if previous else None,
            _indexed(customer),
        )

    def clear_rows(self, customer: Customer) -> None:
        """After the relationship ended: its search entries (#56, BatchWriteItem), then its
        visibility rows (#111), each deleted with its adviser's counter (#14) in one transaction,
        up to 50 a transaction; a row already gone is skipped. Idempotent and resumable."""
        firm_id, customer_id = customer.firm_id, customer.customer_id
        indexed = Indexed.of(customer.name, customer.email, customer.staff_ids)
        entries = entry_writes(self.table_name, keys.customer_find_pk, firm_id, customer_id, indexed, None)
        batch_write(self.table_name, [{"DeleteRequest": {"Key": e["Delete"]["Key"]}} for e in entries])
        collection = keys.customer_collection_pk(firm_id, customer_id)
        rows = query_prefix(self.table_name, collection, keys.VISIBILITY_PREFIX, consistent=True)
        groups = []
        for row in rows:
            delete: TransactItem = {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": to_item({"PK": row["PK"], "SK": row["SK"]}),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            }
            section, staff_id = row.get("section"), row["SK"].removeprefix(keys.VISIBILITY_PREFIX)
            groups.append([delete, *([self._counter(firm_id, staff_id, {section: -1})] if section else [])])
        transact_removals(groups)

    def transact(self, items: list[TransactItem]) -> None:
        write_chained(items)

    def email_claim(self, customer: Customer) -> TransactItem:
        """Reserve the customer's email in the firm (R-INV-3: one customer per email)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(
                    {
                        "PK": keys.firm_pk(customer.firm_id),
                        "SK": keys.customer_email_sk(email_fingerprint(customer.email)),
                        "type": "customer_email",
                        "customer_id": customer.customer_id,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def token_put(self, customer: Customer) -> TransactItem:
        invitation = customer.invitation
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(
                    {
                        "PK": keys.invite_token_pk(invitation.token_hash),
                        "SK": keys.INVITE,
                        "type": "invite_token",
                        "firm_id": customer.firm_id,
                        "customer_id": customer.customer_id,
                        **keys.customer_trace(
                            customer.firm_id,
                            customer.customer_id,
                            keys.invite_token_pk(invitation.token_hash),
                        ),
                        "expires_at": int(invitation.expires_at.timestamp()),  # TTL clean-up
                    }
                ),
            }
        }

    def token_delete(self, token_hash: str) -> TransactItem:
        """Consume a token: fails the whole transaction if it was already used (single use)."""
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_item({"PK": keys.invite_token_pk(token_hash), "SK": keys.INVITE}),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }

    # helpers -----------------------------------------------------------------------------
    def _put_customer(self, customer: Customer, previous: Customer | None) -> TransactItem:
        invitation = customer.invitation
        values = {
            "PK": keys.firm_pk(customer.firm_id),
            "SK": keys.customer_sk(customer.customer_id),
            "type": "customer",
            **_row_values(customer),
            "user_id": customer.user_id,
            "accepted_at": _iso(customer.accepted_at),
            "version": customer.version,
            "invitation": invitation_values(invitation),
            "erasure_requested_by": customer.erasure_requested_by,
            **_due_index(customer),
        }
        return {"Put": versioned_put(self.table_name, values, previous.version if previous else None)}

    def _put_visibility(self, customer: Customer, staff_id: str) -> TransactItem:
        section = customer.section
        values = {
            "PK": keys.customer_collection_pk(customer.firm_id, customer.customer_id),
            "SK": keys.visibility_sk(staff_id),
            "type": "customer_row",
            **_row_values(customer),
            "GSI1PK": keys.section_gsi1pk(customer.firm_id, section.value, staff_id) if section else None,
            "GSI1SK": customer.customer_id if section else None,
        }
        return {"Put": {"TableName": self.table_name, "Item": to_item(values)}}

    def _counter_updates(self, customer: Customer, previous: Customer | None) -> list[TransactItem]:
        """The counters the change moves: the firm's (`ended` included), and each adviser's while the
        relationship lasts (after its end, an adviser's counter moves with their row: `clear_rows`)."""
        deltas: dict[str | None, Counter[str]] = {}
        for sign, state in ((-1, previous), (1, customer)):
            listed = state.listed_in if state else None
            if state is None or listed is None:
                continue
            advisers = () if customer.relationship_ended else state.staff_ids
            for scope in (None, *advisers):
                deltas.setdefault(scope, Counter())[listed.value] += sign
        updates = []
        for scope, counter in deltas.items():
            changed = {section: delta for section, delta in counter.items() if delta}
            if changed:
                updates.append(self._counter(customer.firm_id, scope, changed))
        return updates

    def _counter(self, firm_id: str, scope: str | None, changed: dict[str, int]) -> TransactItem:
        names = {f"#{s}": s for s in changed}
        values = {f":{s}": {"N": str(d)} for s, d in changed.items()}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item({"PK": keys.firm_pk(firm_id), "SK": keys.counts_sk(scope)}),
                "UpdateExpression": "ADD " + ", ".join(f"#{s} :{s}" for s in changed),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name, Key=to_item({"PK": pk, "SK": sk}), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None


def _row_values(customer: Customer) -> dict[str, Any]:
    """What a dashboard row shows; stored on the customer item and every visibility item. The
    customer item is on its section's index (#12), or on the ended list (#110) once ended."""
    section = customer.section
    listed = customer.listed_in
    index: tuple[str | None, str | None]
    if customer.ended_at is not None:
        index = (keys.section_gsi1pk(customer.firm_id, Section.ENDED.value), keys.ended_gsi1sk(
            customer.ended_at.astimezone(UTC).isoformat(), customer.customer_id
        ))  # fmt: skip
    elif section is not None:
        index = (keys.section_gsi1pk(customer.firm_id, section.value), customer.customer_id)
    else:
        index = (None, None)
    return {
        "firm_id": customer.firm_id,
        "customer_id": customer.customer_id,
        "name": customer.name,
        "email": customer.email,
        "owner_id": customer.owner_id,  # the front end shows names from GET /staff
        "assignee_ids": list(customer.assignee_ids),
        "section": listed.value if listed else None,
        "invitation_status": customer.invitation.status.value,
        "invitation_expires_at": customer.invitation.expires_at.isoformat(),
        "accepted": customer.has_accepted,
        "new_accounts": customer.new_accounts,
        "accepted_accounts": customer.accepted_accounts,
        "declined_accounts": customer.declined_accounts,
        "created_at": customer.created_at.isoformat(),
        "ended_at": _iso(customer.ended_at),
        "ended_by": customer.ended_by,
        "erasure_due": customer.erasure_due.isoformat() if customer.erasure_due else None,
        "GSI1PK": index[0],
        "GSI1SK": index[1],
    }


def _due_index(customer: Customer) -> dict[str, str]:
    """GSI2 of the customer item: the erasure index (#101) once the relationship ended, else the
    reminders index (#15) while its invitation is out; neither otherwise (sparse)."""
    if customer.erasure_due is not None:
        day = customer.erasure_due.isoformat()
        return {
            "GSI2PK": keys.ERASURE_DUE,
            "GSI2SK": keys.erasure_due_gsi2sk(day, customer.firm_id, customer.customer_id),
        }
    next_due = customer.invitation.next_due()
    if next_due is None:
        return {}
    day = next_due.isoformat()
    return {
        "GSI2PK": keys.INVITATION_DUE,
        "GSI2SK": keys.due_gsi2sk(day, customer.firm_id, customer.customer_id),
    }


def _indexed(customer: Customer) -> Indexed | None:
    """What the search index holds of the customer: nothing while it is on no section (revoked)."""
    return Indexed.of(customer.name, customer.email, customer.staff_ids) if customer.section else None


def _staff_ids(item: dict[str, Any]) -> tuple[str, ...]:
    """The staff who see a stored customer row (as Customer.staff_ids: owner, then assignees)."""
    return tuple(dict.fromkeys((item["owner_id"], *item.get("assignee_ids", []))))


def _row_key(firm_id: str, customer_id: str, staff_id: str | None) -> dict[str, str]:
    """The row an admin (the customer item) or an adviser (their visibility item) lists."""
    if staff_id:
        return {"PK": keys.customer_collection_pk(firm_id, customer_id), "SK": keys.visibility_sk(staff_id)}
    return {"PK": keys.firm_pk(firm_id), "SK": keys.customer_sk(customer_id)}


def _row(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: item.get(name)
        for name in (
            "customer_id",
            "name",
            "email",
            "owner_id",
            "assignee_ids",
            "section",
            "invitation_status",
            "invitation_expires_at",
            "accepted",
            "new_accounts",
            "accepted_accounts",
            "created_at",
            "ended_at",
            "ended_by",
            "erasure_due",
        )
    }


def _customer(item: dict[str, Any]) -> Customer:
    return Customer(
        firm_id=item["firm_id"],
        customer_id=item["customer_id"],
        name=item["name"],
        email=item["email"],
        owner_id=item["owner_id"],
        assignee_ids=tuple(item.get("assignee_ids", [])),
        created_at=datetime.fromisoformat(item["created_at"]),
        user_id=item.get("user_id"),
        accepted_at=datetime.fromisoformat(item["accepted_at"]) if item.get("accepted_at") else None,
        new_accounts=int(item.get("new_accounts", 0)),
        accepted_accounts=int(item.get("accepted_accounts", 0)),
        declined_accounts=int(item.get("declined_accounts", 0)),
        version=int(item["version"]),
        invitation=invitation_of(item["invitation"]),
        ended_at=datetime.fromisoformat(item["ended_at"]) if item.get("ended_at") else None,
        ended_by=item.get("ended_by"),
        erasure_due=date.fromisoformat(item["erasure_due"]) if item.get("erasure_due") else None,
        erasure_requested_by=item.get("erasure_requested_by"),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
