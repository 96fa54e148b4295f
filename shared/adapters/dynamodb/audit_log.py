"""The append-only audit log, in its own table: each event at the next position of one of its firm's
hash chains (keys.py #7, #95), listed newest first through the indexes (#8, #9, #76, #77, #97, #98),
and read back chain by chain for verification (#96, #99). Never updated, never deleted."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ulid import ULID

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    ChainedPut,
    dynamodb_client,
    from_item,
    query_pages,
    to_item,
    write_chained,
)
from shared.adapters.dynamodb.cursor import decode_cursor, encode_cursor, query_page
from shared.domain.audit import AuditEvent, kind_of
from shared.domain.audit_chain import CHAINED_FIELDS, GENESIS, Break, link_hash
from shared.domain.errors import InvalidRequest
from shared.ports.audit import ChainLane

_STORED_FIELDS = frozenset({"PK", "SK", "hash", *CHAINED_FIELDS})
_INDEX_ATTRIBUTES = frozenset(f"GSI{n}{part}" for n in range(1, 5) for part in ("PK", "SK"))


def index_keys(firm_id: str, action: str, customer_id: str | None, event_id: str) -> dict[str, str]:
    """The listing keys of an event (GSI1 firm, GSI2 customer, GSI3 kind, GSI4 customer and kind),
    each sorted by the event's id. Verification checks a stored event's against these."""
    kind = kind_of(action)
    listed = {"GSI1PK": keys.audit_pk(firm_id), "GSI3PK": keys.audit_kind_pk(firm_id, kind)}
    if customer_id:
        listed |= {
            "GSI2PK": keys.audit_customer_pk(firm_id, customer_id),
            "GSI4PK": keys.audit_customer_pk(firm_id, customer_id, kind),
        }
    return listed | {name.replace("PK", "SK"): event_id for name in list(listed)}


def _any_lane() -> int:
    """A lane for the next attempt: at random, so that concurrent writers of a firm rarely meet."""
    return secrets.randbelow(keys.AUDIT_LANES)


class _Append(ChainedPut):
    """One event's put at the next position of a lane of its firm."""

    def __init__(self, log: AuditLog, event: AuditEvent) -> None:
        super().__init__()
        self._log = log
        self.fields: dict[str, Any] = {
            "firm_id": event.firm_id,
            "event_id": str(ULID.from_datetime(event.occurred_at)),
            "actor_id": event.actor_id,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "customer_id": event.customer_id,
            "occurred_at": event.occurred_at.isoformat(),
            "details": event.details,
        }
        self.rebuild()

    @property
    def chain(self) -> tuple[str, str]:
        return self._log.table_name, keys.audit_lane_pk(self.fields["firm_id"], self.fields["lane"])

    def rebuild(self) -> None:
        lane = _any_lane()
        self._place(lane, *self._log.tip(self.fields["firm_id"], lane))

    def follow(self, previous: ChainedPut) -> None:
        if not isinstance(previous, _Append):  # a chain holds this log's events only
            raise TypeError(type(previous).__name__)
        self._place(previous.fields["lane"], previous.fields["position"], previous.fields["hash"])

    def _place(self, lane: int, tip: int, tip_hash: str) -> None:
        fields = self.fields | {"lane": lane, "position": tip + 1, "prev_hash": tip_hash}
        self.fields = fields | {"hash": link_hash(fields)}
        firm_id, event_id = fields["firm_id"], fields["event_id"]
        item = {
            "PK": keys.audit_lane_pk(firm_id, lane),
            "SK": keys.audit_position_sk(tip + 1),
            **self.fields,
            **index_keys(firm_id, fields["action"], fields["customer_id"], event_id),
        }
        put = {"TableName": self._log.table_name, "Item": to_item(item)}
        self["Put"] = put | {"ConditionExpression": "attribute_not_exists(PK)"}


@dataclass
class AuditLog:
    table_name: str

    def record(self, event: AuditEvent) -> str:
        """Write the event and return its id (a ULID: sortable by time)."""
        put = self.put_op(event)
        write_chained([put])
        return str(put.fields["event_id"])

    def put_op(self, event: AuditEvent) -> _Append:
        """The event as one write of a multi-item transaction (with the change it records), sent with
        `client.transact_or_raise` or `client.write_chained` (which take another position when a
        concurrent writer took this one)."""
        return _Append(self, event)

    def tip(self, firm_id: str, lane: int) -> tuple[int, str]:
        """#95: the newest position of the lane and its hash (-1 and GENESIS while it is empty)."""
        response = dynamodb_client().query(
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_item({":pk": keys.audit_lane_pk(firm_id, lane)}),
            ProjectionExpression="SK, #hash",
            ExpressionAttributeNames={"#hash": "hash"},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        if not response["Items"]:
            return -1, GENESIS
        newest = from_item(response["Items"][0])
        return int(newest["SK"]), str(newest["hash"])

    def page(
        self,
        firm_id: str,
        *,
        customer_id: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first: the whole firm's log (#8), one customer's events (#9), one kind's (#97) or
        one customer's of one kind (#98); with a date range (UTC days, inclusive), only the events of
        those days (a key condition: #76, #77). One Query a page."""
        if customer_id and kind:
            index, partition = "GSI4", keys.audit_customer_pk(firm_id, customer_id, kind)
        elif customer_id:
            index, partition = "GSI2", keys.audit_customer_pk(firm_id, customer_id)
        elif kind:
            index, partition = "GSI3", keys.audit_kind_pk(firm_id, kind)
        else:
            index, partition = "GSI1", keys.audit_pk(firm_id)
        pk_name, sk_name = f"{index}PK", f"{index}SK"
        condition, values = f"{pk_name} = :pk", {":pk": partition}
        if date_from or date_to:
            low, high = keys.audit_between(date_from, date_to)
            condition += f" AND {sk_name} BETWEEN :low AND :high"
            values |= {":low": low, ":high": high}
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        last = decode_cursor(cursor)
        if last:
            try:
                event_id, lane, position = keys.audit_cursor_parts(last)
            except ValueError:
                raise InvalidRequest("The page cursor is not valid.", code="invalid_cursor") from None
            start = {
                "PK": keys.audit_lane_pk(firm_id, lane),
                "SK": keys.audit_position_sk(position),
                pk_name: partition,
                sk_name: event_id,
            }
            query["ExclusiveStartKey"] = to_item(start)
        response = query_page(query)
        events = [_event(firm_id, item) for item in map(from_item, response["Items"])]
        evaluated = from_item(response.get("LastEvaluatedKey") or {})
        next_cursor = (
            encode_cursor(
                keys.audit_cursor(
                    evaluated[sk_name], keys.audit_lane_of(evaluated["PK"]), int(evaluated["SK"])
                )
            )
            if evaluated
            else None
        )
        return events, next_cursor

    def chains(self, firm_id: str) -> list[ChainLane]:
        """Every lane of the firm as stored (#96, strongly consistent, in position order), each with
        what its keys say is wrong; read after the keys of every event the firm's log lists (#99),
        which must all sit in a lane (an event listed outside every chain is `unchained`)."""
        listed = {
            (item["PK"], item["SK"])
            for page in query_pages(
                self.table_name,
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk",
                ExpressionAttributeValues=to_item({":pk": keys.audit_pk(firm_id)}),
                ProjectionExpression="PK, SK",
            )
            for item in page
        }
        lanes = []
        for lane in range(keys.AUDIT_LANES):
            partition = keys.audit_lane_pk(firm_id, lane)
            links = [item for page in self._lane_pages(partition) for item in page]
            listed -= {(partition, link["SK"]) for link in links}
            lanes.append(ChainLane(lane, links, [b for link in links for b in _key_breaks(lane, link)]))
        for partition, sort_key in sorted(listed):  # e.g. a "lane" no writer uses
            try:
                lane = keys.audit_lane_of(partition)
            except (ValueError, IndexError):
                lane = -1
            unchained = Break(lane, _int(sort_key), "unchained", "listed for the firm, outside its chains")
            lanes.append(ChainLane(lane, [], [unchained]))
        return lanes

    def _lane_pages(self, partition: str) -> Iterator[list[dict[str, Any]]]:
        return query_pages(
            self.table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_item({":pk": partition}),
            ConsistentRead=True,
        )


def _key_breaks(lane: int, link: dict[str, Any]) -> list[Break]:
    """What a stored event's own keys say: its sort key is its position, its index keys are those of
    its fields, and it holds nothing else."""
    position = link.get("position")
    found: list[Break] = []
    if position is None or link["SK"] != keys.audit_position_sk(int(position)) or link.get("lane") != lane:
        found.append(Break(lane, _int(link["SK"]), "misplaced", "its key is not its chain position"))
    expected = index_keys(
        str(link.get("firm_id")), str(link.get("action")), link.get("customer_id"), str(link.get("event_id"))
    )
    if {name: link.get(name) for name in _INDEX_ATTRIBUTES if name in link or name in expected} != expected:
        found.append(Break(lane, _int(link["SK"]), "misplaced", "its listing keys are not its fields'"))
    if unknown := sorted(set(link) - _STORED_FIELDS - _INDEX_ATTRIBUTES):
        found.append(
            Break(lane, _int(link["SK"]), "altered", f"attributes no event has: {', '.join(unknown)}")
        )
    return found


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _event(firm_id: str, item: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        firm_id=firm_id,
        actor_id=item["actor_id"],
        action=item["action"],
        target_type=item["target_type"],
        target_id=item["target_id"],
        details=item.get("details", {}),
        occurred_at=datetime.fromisoformat(item["occurred_at"]),
        customer_id=item.get("customer_id"),
    )
