"""The recorder's DynamoDB capacity units (tools/capacity/record.py, issue 20), on moto, against what
DynamoDB on-demand charges: writes per KB of the larger image (twice in a transaction), each GSI entry
added, moved (its delete and its put) or rewritten, reads per 4 KB (half when eventually consistent),
a Query on what it read before its filter."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from infra.spec import TABLES
from tools.capacity.record import Recorder
from tools.capacity.usage import BASE, KeyUnits

pytestmark = pytest.mark.usefixtures("aws")
KB_AND_A_HALF = "x" * 1500  # with its other attributes: an item of 1.5 to 2 KB


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    tables = {os.environ[spec.env]: name for name, spec in TABLES.items()}
    with Recorder(tables).installed() as installed, installed.activity("test"):
        yield installed


@pytest.fixture
def table() -> str:
    return os.environ[TABLES["data"].env]


def units(recorder: Recorder, kind: str) -> list[KeyUnits]:
    """What calls outside any invocation spent (a test is not a Lambda invocation)."""
    spent = recorder.recording.outside_writes if kind == "write" else recorder.recording.outside_reads
    found = [units for activity, units in spent if activity == "test"]
    spent.clear()
    return found


def put(client: object, table: str, pk: str, gsi1pk: str | None = None, **extra: dict[str, str]) -> None:
    item = {"PK": {"S": pk}, "SK": {"S": "A"}, "blob": {"S": KB_AND_A_HALF}, **extra}
    if gsi1pk:
        item |= {"GSI1PK": {"S": gsi1pk}, "GSI1SK": {"S": "1"}}
    client.put_item(TableName=table, Item=item)  # type: ignore[attr-defined]


def test_a_put_and_an_update_that_moves_its_index_entry(recorder: Recorder, table: str) -> None:
    client = boto3.client("dynamodb")
    put(client, table, "P#1", gsi1pk="G#old")
    assert units(recorder, "write") == [
        KeyUnits("data", BASE, "P#1", 2),  # 1.5 KB: 2 units
        KeyUnits("data", "GSI1", "G#old", 2),  # the new entry (projection ALL)
    ]
    client.update_item(
        TableName=table,
        Key={"PK": {"S": "P#1"}, "SK": {"S": "A"}},
        UpdateExpression="SET GSI1PK = :new",
        ExpressionAttributeValues={":new": {"S": "G#new"}},
    )
    assert units(recorder, "write") == [
        KeyUnits("data", BASE, "P#1", 2),
        KeyUnits("data", "GSI1", "G#old", 2),  # the old entry's delete
        KeyUnits("data", "GSI1", "G#new", 2),  # the new entry's put, on its own partition
    ]
    client.update_item(  # nothing changes: no index write
        TableName=table,
        Key={"PK": {"S": "P#1"}, "SK": {"S": "A"}},
        UpdateExpression="SET GSI1PK = :same",
        ExpressionAttributeValues={":same": {"S": "G#new"}},
    )
    assert units(recorder, "write") == [KeyUnits("data", BASE, "P#1", 2)]


def test_a_transaction_costs_twice_and_a_refused_write_still_costs(recorder: Recorder, table: str) -> None:
    client = boto3.client("dynamodb")
    small = {"PK": {"S": "T#1"}, "SK": {"S": "A"}}
    client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": small}}])
    assert units(recorder, "write") == [KeyUnits("data", BASE, "T#1", 2)]  # 1 unit, twice
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=table, Item=small, ConditionExpression="attribute_not_exists(PK)")
    assert units(recorder, "write") == [KeyUnits("data", BASE, "T#1", 1)]


def test_reads_per_4_kb_and_a_query_on_what_it_read_before_its_filter(recorder: Recorder, table: str) -> None:
    client = boto3.client("dynamodb")
    for sort_key in ("A", "B", "C"):  # three items of 1.5+ KB: 4.5+ KB read by the Query
        client.put_item(
            TableName=table, Item={"PK": {"S": "Q#1"}, "SK": {"S": sort_key}, "blob": {"S": KB_AND_A_HALF}}
        )
    units(recorder, "write")
    key = {"PK": {"S": "Q#1"}, "SK": {"S": "A"}}
    client.get_item(TableName=table, Key=key)
    client.get_item(TableName=table, Key=key, ConsistentRead=True)
    found = client.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        FilterExpression="attribute_exists(nothing_has_this)",
        ExpressionAttributeValues={":pk": {"S": "Q#1"}},
    )
    assert found["Count"] == 0 and found["ScannedCount"] == 3
    assert units(recorder, "read") == [
        KeyUnits("data", BASE, "Q#1", 0.5),  # under 4 KB, eventually consistent
        KeyUnits("data", BASE, "Q#1", 1.0),  # strongly consistent
        KeyUnits("data", BASE, "Q#1", 1.0),  # 3 items over 4 KB together: 2 units, halved
    ]


def test_everything_is_put_back_after_the_block() -> None:
    from local.functions import Functions

    before = Functions.invoke
    with Recorder({}).installed():
        assert Functions.invoke is not before
    assert Functions.invoke is before


def test_a_client_built_inside_the_block_is_not_recorded_after_it(table: str) -> None:
    recorder = Recorder({})
    with recorder.installed(), recorder.activity("test"):
        client = boto3.client("dynamodb")  # botocore copies the hooks into the client
        put(client, table, "L#1")
    calls = sum(recorder.recording.outside_calls.values())
    assert calls == 1
    put(client, table, "L#2")
    client.get_item(TableName=table, Key={"PK": {"S": "L#2"}, "SK": {"S": "A"}})
    assert sum(recorder.recording.outside_calls.values()) == calls


def test_a_transactional_read_costs_two_read_units_per_4_kb(recorder: Recorder, table: str) -> None:
    client = boto3.client("dynamodb")
    put(client, table, "R#1")  # 1.5 KB: one 4 KB read unit
    units(recorder, "write")
    client.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": table, "Key": {"PK": {"S": "R#1"}, "SK": {"S": "A"}}}},
            {"Get": {"TableName": table, "Key": {"PK": {"S": "R#2"}, "SK": {"S": "A"}}}},  # missing
        ]
    )
    assert units(recorder, "write") == []
    assert units(recorder, "read") == [
        KeyUnits("data", BASE, "R#1", 2.0),
        KeyUnits("data", BASE, "R#2", 2.0),  # a missing item is charged too
    ]


def test_batches_per_item_a_delete_removes_its_index_entry_and_a_gsi_query(
    recorder: Recorder, table: str
) -> None:
    client = boto3.client("dynamodb")
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "PK": {"S": f"B#{n}"},
                    "SK": {"S": "A"},
                    "GSI1PK": {"S": "G#b"},
                    "GSI1SK": {"S": str(n)},
                }
            }
        }
        for n in range(2)
    ]
    client.batch_write_item(RequestItems={table: requests})
    assert units(recorder, "write") == [
        KeyUnits("data", BASE, "B#0", 1),
        KeyUnits("data", "GSI1", "G#b", 1),
        KeyUnits("data", BASE, "B#1", 1),
        KeyUnits("data", "GSI1", "G#b", 1),
    ]
    client.batch_get_item(
        RequestItems={table: {"Keys": [{"PK": {"S": f"B#{n}"}, "SK": {"S": "A"}} for n in range(2)]}}
    )
    assert units(recorder, "read") == [KeyUnits("data", BASE, "B#0", 0.5), KeyUnits("data", BASE, "B#1", 0.5)]
    client.query(
        TableName=table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "G#b"}},
    )
    assert units(recorder, "read") == [KeyUnits("data", "GSI1", "G#b", 0.5)]
    client.delete_item(TableName=table, Key={"PK": {"S": "B#0"}, "SK": {"S": "A"}})
    assert units(recorder, "write") == [KeyUnits("data", BASE, "B#0", 1), KeyUnits("data", "GSI1", "G#b", 1)]


def test_a_condition_check_in_a_transaction_costs_two_units_and_writes_no_index(
    recorder: Recorder, table: str
) -> None:
    client = boto3.client("dynamodb")
    put(client, table, "C#1", gsi1pk="G#c")
    units(recorder, "write")
    check = {
        "TableName": table,
        "Key": {"PK": {"S": "C#1"}, "SK": {"S": "A"}},
        "ConditionExpression": "attribute_exists(PK)",
    }
    client.transact_write_items(TransactItems=[{"ConditionCheck": check}])
    assert units(recorder, "write") == [KeyUnits("data", BASE, "C#1", 4)]  # 2 KB, twice; no GSI write
