"""The audit log in its own table on moto (issue 17 item 3): listing, the hash chains, two writers at
once, events in the change's own transaction, `GET /audit?kind=`, and `tools.audit verify` against
every tampering it claims to detect (the `audit_chain_breaks_*` figures of `BAR privacy`)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.invitations_api import handler as invitations
from shared.adapters.dynamodb import audit_log as audit_module
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.audit_log import AuditLog
from shared.adapters.dynamodb.client import dynamodb_client, from_item, to_item, transact_or_raise
from shared.domain.audit import AuditEvent, AuditKind
from shared.domain.audit_chain import GENESIS, Anchor
from shared.domain.errors import Conflict
from shared.services.audit import verify_audit_chains
from tests.bars import SUM_KEY
from tests.integration.onboarding_support import ADMIN, OTHER_ADVISER, call
from tests.integration.test_onboarding_rules import invited
from tools import audit as audit_tool

__all__ = ["invited"]

START = datetime(2026, 11, 22, 9, tzinfo=UTC)
TABLE = "audit"


def event(action: str, minutes: int, firm: str = "f1", customer: str | None = None) -> AuditEvent:
    return AuditEvent(
        firm,
        "user-1",
        action,
        "customer",
        "c1",
        {"level": "read_only", "rows": minutes},
        START + timedelta(minutes=minutes),
        customer_id=customer,
    )


@pytest.fixture
def lanes(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Choose the lanes writers pick, in turn (they pick at random otherwise)."""

    def use(*chosen: int) -> None:
        order = itertools.cycle(chosen)
        monkeypatch.setattr(audit_module, "_any_lane", lambda: next(order))

    return use


class Calls:
    """DynamoDB calls made, by operation name (botocore's own event)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        dynamodb_client().meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] = self.counts.get(model.name, 0) + 1

    def close(self) -> None:
        dynamodb_client().meta.events.unregister("before-call.dynamodb", self._count)


@pytest.fixture
def calls(aws: None) -> Iterator[Calls]:
    counter = Calls()
    yield counter
    counter.close()


def stored() -> list[dict[str, Any]]:
    pages = dynamodb_client().get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True)
    return [from_item(item) for page in pages for item in page["Items"]]


def lane_items(firm: str, lane: int) -> list[dict[str, Any]]:
    return sorted(
        (i for i in stored() if i["PK"] == keys.audit_lane_pk(firm, lane)), key=lambda i: int(i["SK"])
    )


def breaks(firm: str = "f1", anchors: dict[int, Anchor] | None = None) -> list[str]:
    return [str(b) for b in verify_audit_chains(AuditLog(TABLE), firm, anchors).breaks]


# listing ------------------------------------------------------------------------------------------------
def test_events_are_listed_newest_first_per_firm(aws):
    log = AuditLog(TABLE)
    for minute, action in enumerate(["invitation.sent", "invitation.accepted", "account.accepted"]):
        log.record(event(action, minute))
    log.record(event("other.firm", 5, firm="f2"))
    events, _ = log.page("f1")
    assert [e.action for e in events] == ["account.accepted", "invitation.accepted", "invitation.sent"]
    assert events[0].details == {"level": "read_only", "rows": 2}


def test_pages_follow_the_cursor_across_lanes_and_filter_by_customer(aws, lanes):
    lanes(3, 0, 7)
    log = AuditLog(TABLE)
    for minute in range(5):
        log.record(event(f"a.{minute}", minute, customer="c1" if minute % 2 == 0 else "c2"))
    first, cursor = log.page("f1", limit=2)
    second, _ = log.page("f1", limit=2, cursor=cursor)
    assert [e.action for e in first + second] == ["a.4", "a.3", "a.2", "a.1"]
    only_c1, _ = log.page("f1", customer_id="c1")
    assert [e.action for e in only_c1] == ["a.4", "a.2", "a.0"]


@pytest.mark.parametrize("cursor", ["bm90LWEtY3Vyc29y", "MDFKIzk5IzA", "MDFKIzEjLTE", "!!"])
def test_a_forged_cursor_is_a_400_not_another_partition(aws, cursor):
    from shared.domain.errors import InvalidRequest

    AuditLog(TABLE).record(event("a.0", 0))
    with pytest.raises(InvalidRequest):
        AuditLog(TABLE).page("f1", cursor=cursor)


def test_every_listing_is_one_query_a_page_on_the_audit_table(calls):
    log = AuditLog(TABLE)
    log.record(event("read.transactions", 0, customer="c1"))
    calls.counts.clear()
    for customer, kind in itertools.product([None, "c1"], [None, "read"]):
        assert len(log.page("f1", customer_id=customer, kind=kind, date_to=START.date())[0]) == 1
    assert calls.counts == {"Query": 4}
    assert "data" not in {i.get("firm_id") for i in stored()}  # and nothing of it in the data table
    assert dynamodb_client().scan(TableName="data")["Count"] == 0


# the chain ------------------------------------------------------------------------------------------------
def test_each_event_takes_the_next_position_of_a_lane_and_links_the_one_before(aws, lanes):
    lanes(0, 1, 0)
    log = AuditLog(TABLE)
    for minute in range(3):
        log.record(event(f"a.{minute}", minute))
    first, third = lane_items("f1", 0)
    (second,) = lane_items("f1", 1)
    assert [int(first["position"]), int(third["position"]), int(second["position"])] == [0, 1, 0]
    assert first["prev_hash"] == second["prev_hash"] == GENESIS
    assert third["prev_hash"] == first["hash"] != second["hash"]
    assert breaks() == []


def test_an_event_cannot_be_overwritten(aws, lanes):
    lanes(0)
    AuditLog(TABLE).record(event("access.granted", 0))
    (item,) = lane_items("f1", 0)
    with pytest.raises(ClientError) as raised:
        dynamodb_client().put_item(
            TableName=TABLE,
            Item=to_item(item | {"action": "forged"}),
            ConditionExpression="attribute_not_exists(PK)",
        )
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_two_writers_at_once_both_land_and_the_chain_stays_linear(calls, lanes):
    """Both read the tip before either writes: the second's put loses its position, is built again
    from the new tip and lands after the first (one more Query and one more PutItem, no more)."""
    lanes(5)
    log = AuditLog(TABLE)
    first, second = log.put_op(event("read.accounts", 0)), log.put_op(event("read.accounts", 1))
    assert first["Put"]["Item"]["SK"] == second["Put"]["Item"]["SK"]  # both took position 0
    calls.counts.clear()
    transact_or_raise([first], Conflict)
    transact_or_raise([second], Conflict)
    assert calls.counts == {"PutItem": 3, "Query": 1}
    assert [(int(i["position"]), i["event_id"]) for i in lane_items("f1", 5)] == [
        (0, first.fields["event_id"]),
        (1, second.fields["event_id"]),
    ]
    assert breaks() == []


def test_an_event_in_the_changes_own_transaction_is_placed_again_when_only_its_position_was_taken(
    calls, lanes
):
    lanes(2)
    log = AuditLog(TABLE)
    change = {"Put": {"TableName": "data", "Item": to_item({"PK": "X#1", "SK": "X"})}}
    late = log.put_op(event("export.requested", 1))
    log.record(event("export.downloaded", 0))  # another writer took position 0 meanwhile
    calls.counts.clear()
    transact_or_raise([change, late], Conflict)
    assert calls.counts == {"TransactWriteItems": 2, "Query": 1}
    assert [i["action"] for i in lane_items("f1", 2)] == ["export.downloaded", "export.requested"]
    assert dynamodb_client().scan(TableName="data")["Count"] == 1
    assert breaks() == []


def test_a_change_whose_own_condition_fails_is_a_conflict_at_once(calls, lanes):
    lanes(2)
    log = AuditLog(TABLE)
    refused = {
        "Put": {
            "TableName": "data",
            "Item": to_item({"PK": "X#1", "SK": "X"}),
            "ConditionExpression": "attribute_exists(PK)",
        }
    }
    calls.counts.clear()
    with pytest.raises(Conflict):
        transact_or_raise([refused, log.put_op(event("export.requested", 1))], Conflict)
    assert calls.counts == {"Query": 1, "TransactWriteItems": 1}
    assert stored() == []


def test_events_of_one_transaction_in_one_lane_follow_each_other(aws, lanes):
    lanes(4)
    log = AuditLog(TABLE)
    log.record(event("a.0", 0))
    transact_or_raise([log.put_op(event("a.1", 1)), log.put_op(event("a.2", 2))], Conflict)
    assert [(int(i["position"]), i["action"]) for i in lane_items("f1", 4)] == [
        (0, "a.0"),
        (1, "a.1"),
        (2, "a.2"),
    ]
    assert breaks() == []


def test_writers_racing_on_every_position_all_land(calls, lanes):
    """Ten writers built against the same tip: each lost race costs one Query and one PutItem, and
    every event lands once, in one linear chain."""
    lanes(1)
    log = AuditLog(TABLE)
    racing = [log.put_op(event(f"read.{n}", n)) for n in range(10)]
    for put in racing:
        transact_or_raise([put], Conflict)
    assert sorted(int(i["position"]) for i in lane_items("f1", 1)) == list(range(10))
    assert breaks() == []


# GET /audit?kind= ---------------------------------------------------------------------------------------
def test_get_audit_filters_by_kind_alone_or_with_the_customer(invited):
    status, everything = call(invitations, "GET", "/audit", ADMIN)
    assert status == 200 and {e["action"] for e in everything["items"]} == {"invitation.sent"}
    for kind in AuditKind:
        status, page = call(invitations, "GET", "/audit", ADMIN, query={"kind": kind.value})
        assert status == 200
        assert {e["action"].split(".")[0] for e in page["items"]} <= {kind.value}
    query = {"kind": "invitation", "customer_id": invited}
    status, page = call(invitations, "GET", "/audit", ADMIN, query=query)
    assert (status, [e["customer_id"] for e in page["items"]]) == (200, [invited])
    assert (
        call(invitations, "GET", "/audit", ADMIN, query={"kind": "staff", "customer_id": invited})[1]["items"]
        == []
    )
    status, refused = call(invitations, "GET", "/audit", ADMIN, query={"kind": "invitations"})
    assert (status, refused["code"]) == (400, "invalid_request")
    other = call(invitations, "GET", "/audit", OTHER_ADVISER, query=query)
    assert other[0] == 200 and other[1]["items"] == []  # another firm's admin: nothing of this firm


# verify -----------------------------------------------------------------------------------------------
def test_tools_audit_verify_prints_the_tips_and_exits_0_on_an_intact_log(aws, lanes):
    lanes(0, 1)
    for minute in range(4):
        AuditLog(TABLE).record(event(f"a.{minute}", minute))
    out = io.StringIO()
    assert audit_tool.main(["verify", "--firm", "f1", "--table-name", TABLE], out=out) == 0
    printed = out.getvalue().splitlines()
    assert printed[-1] == "firm f1: 4 events in 2 chain(s): intact"
    anchors = [line.split()[1] for line in printed if line.startswith("anchor ")]
    assert [a.split(":")[:2] for a in anchors] == [["0", "1"], ["1", "1"]]
    # a later run given those anchors is intact too; without the newest event it is not
    assert audit_tool.main(["verify", "--firm", "f1", "--table-name", TABLE, "--anchor", anchors[0]]) == 0
    newest = lane_items("f1", 0)[-1]
    dynamodb_client().delete_item(TableName=TABLE, Key=to_item({"PK": newest["PK"], "SK": newest["SK"]}))
    out = io.StringIO()
    argv = ["verify", "--firm", "f1", "--table-name", TABLE, "--anchor", anchors[0]]
    assert audit_tool.main(argv, out=out) == 1
    assert "BREAK lane 0 position 1: truncated" in out.getvalue()


def _altered(value: Any) -> Any:
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
    if isinstance(value, Decimal):
        return value + 1
    if isinstance(value, dict):
        return value | {"forged": "yes"}
    raise AssertionError(f"no tampering for {type(value).__name__}")


def _restore(original: list[dict[str, Any]]) -> None:
    client = dynamodb_client()
    for item in stored():
        client.delete_item(TableName=TABLE, Key=to_item({"PK": item["PK"], "SK": item["SK"]}))
    for item in original:
        client.put_item(TableName=TABLE, Item=to_item(item))


def _put(item: dict[str, Any]) -> None:
    dynamodb_client().put_item(TableName=TABLE, Item=to_item(item))


def _delete(item: dict[str, Any]) -> None:
    dynamodb_client().delete_item(TableName=TABLE, Key=to_item({"PK": item["PK"], "SK": item["SK"]}))


def test_verify_detects_every_tampering_it_claims(aws, lanes, request):
    """Tampering generated from the stored event: every attribute altered in turn and removed in turn
    (the keys: the event moved), each position class removed (first, middle, last: the last against
    an anchor), two events swapped, an event replayed at the tail, one put outside the chains. Each
    must break the chain where it was made; an untouched log must not."""
    lanes(0, 1)
    customers = ["c1", None]
    for minute in range(10):
        AuditLog(TABLE).record(event(f"read.n{minute}", minute, customer=customers[minute % 4 % 2]))
    original = stored()
    report = verify_audit_chains(AuditLog(TABLE), "f1")
    assert report.breaks == [] and report.events == 10
    anchors = {tip.lane: tip for tip in report.tips}
    lane0 = lane_items("f1", 0)  # 5 events, positions 0-4
    middle = next(i for i in lane0 if int(i["position"]) == 2 and i.get("customer_id"))

    cases: list[tuple[str, int, Callable[[], None]]] = []  # (name, lane, tamper)
    for name in sorted(middle):
        if name in ("PK", "SK"):
            moved = middle | {
                name: keys.audit_lane_pk("f1", 1) if name == "PK" else keys.audit_position_sk(9)
            }
            cases.append((f"move by {name}", 0, lambda moved=moved: (_delete(middle), _put(moved))))
            continue
        altered = middle | {name: _altered(middle[name])}
        cases.append((f"alter {name}", 0, lambda altered=altered: _put(altered)))
        dropped = {k: v for k, v in middle.items() if k != name}
        cases.append((f"drop {name}", 0, lambda dropped=dropped: _put(dropped)))
    for label, position in (("first", 0), ("middle", 2), ("last", 4)):
        gone = lane0[position]
        cases.append((f"remove {label}", 0, lambda gone=gone: _delete(gone)))
    keep = ("PK", "SK")
    one, two = lane0[1], lane0[3]
    swapped = (
        {**{k: v for k, v in two.items() if k not in keep}, "PK": one["PK"], "SK": one["SK"]},
        {**{k: v for k, v in one.items() if k not in keep}, "PK": two["PK"], "SK": two["SK"]},
    )
    cases.append(("swap two", 0, lambda: (_put(swapped[0]), _put(swapped[1]))))
    replay = lane0[1] | {"SK": keys.audit_position_sk(5)}
    cases.append(("replay at the tail", 0, lambda: _put(replay)))
    foreign = lane0[1] | {"PK": keys.audit_lane_pk("f1", keys.AUDIT_LANES), "lane": keys.AUDIT_LANES}
    cases.append(("outside the chains", keys.AUDIT_LANES, lambda: _put(foreign)))

    undetected = []
    for name, lane, tamper in cases:
        tamper()
        found = verify_audit_chains(AuditLog(TABLE), "f1", anchors).breaks
        if not any(b.lane == lane for b in found):
            undetected.append(name)
        _restore(original)
    assert breaks("f1", anchors) == []  # restored: intact again
    made, detected = len(cases), len(cases) - len(undetected)
    request.node.user_properties.append(
        (SUM_KEY, ["privacy", {"audit_chain_breaks_made": made, "audit_chain_breaks_detected": detected}])
    )
    assert made >= 30 and undetected == []


def test_a_firm_bound_audit_log_hands_out_its_chained_puts_as_they_are(aws):
    from shared import bootstrap
    from shared.adapters.dynamodb.client import ChainedPut
    from shared.domain.errors import NotFound
    from shared.ports.firm_bound import bind

    bound = bind(bootstrap.audit_log(), "f1")
    assert isinstance(bound.put_op(event("export.requested", 0)), ChainedPut)
    with pytest.raises(NotFound):
        bound.put_op(event("export.requested", 0, firm="f2"))
