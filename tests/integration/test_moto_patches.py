"""moto's DynamoDB as the local system and the suite run it (local/moto_patches.py): requests atomic
and isolated under concurrency, transactions all-or-nothing with an item-level undo log, Queries that
read their partition and answer exactly what moto's whole-table Query answered.

The concurrency tests run against moto's own threaded server (as `make run` does), with threads: each
would fail on moto as shipped (a cancelled transaction put back a copy of the whole table, undoing
what other requests had committed meanwhile; a Query could run between two writes of one transaction).
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from local import moto_patches

TABLE = "t"


def create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "G", "GS")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "G", "KeyType": "HASH"},
                    {"AttributeName": "GS", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def item(pk: str, sk: str = "X", **values: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **{name: {"S": value} for name, value in values.items()}}


@contextmanager
def moto_server(service: str) -> Iterator[Any]:
    """A client of a moto server in this process (the patches are process-wide), 20 connections."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield boto3.client(
            service,
            endpoint_url=f"http://{host}:{port}",
            region_name="eu-west-2",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=20, retries={"total_max_attempts": 1}),
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server_client() -> Iterator[Any]:
    with moto_server("dynamodb") as client:
        create_table(client)
        yield client


@pytest.fixture
def client(aws: None) -> Any:
    dynamodb = boto3.client("dynamodb")
    create_table(dynamodb)
    return dynamodb


def test_install_is_idempotent_and_done_for_the_suite() -> None:
    from moto.dynamodb.responses import DynamoHandler

    action = DynamoHandler.call_action
    moto_patches.install()
    assert DynamoHandler.call_action is action
    assert action.__code__.co_filename == moto_patches.__file__  # our wrapper, not moto's


def test_a_cancelled_transaction_leaves_nothing_and_a_good_one_applies_it_all(client: Any) -> None:
    def get(pk: str) -> dict[str, Any] | None:
        return client.get_item(TableName=TABLE, Key=item(pk)).get("Item")

    client.put_item(TableName=TABLE, Item=item("a", state="old"))
    client.put_item(TableName=TABLE, Item=item("d", state="old", G="g1", GS="1"))
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": item("b", state="new")}},
                {"Put": {"TableName": TABLE, "Item": item("a", state="new")}},
                {
                    "Update": {  # moves d to another index partition, then is undone
                        "TableName": TABLE,
                        "Key": item("d"),
                        "UpdateExpression": "SET G = :g",
                        "ExpressionAttributeValues": {":g": {"S": "g2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": item("c"),
                        "ConditionExpression": "attribute_exists(PK)",  # fails: c does not exist
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert (get("a"), get("b"), get("c")) == (item("a", state="old"), None, None)
    assert [found["PK"]["S"] for found in gsi(client, "g1")] == ["d"]
    assert gsi(client, "g2") == []

    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item("b", state="new")}},
            {"Put": {"TableName": TABLE, "Item": item("a", state="new")}},
        ]
    )
    assert (get("a"), get("b")) == (item("a", state="new"), item("b", state="new"))


def gsi(client: Any, value: str, **extra: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.query(
        TableName=TABLE,
        IndexName="GSI1",
        KeyConditionExpression="G = :g",
        ExpressionAttributeValues={":g": {"S": value}},
        **extra,
    )["Items"]
    return items


def test_concurrent_transactions_lose_no_committed_write(server_client: Any) -> None:
    """Threads increment one counter in transactions that also add a unique row, while others run
    transactions that are cancelled (their condition fails after an earlier write in them): the
    counter ends equal to the rows, every committed row is there, no cancelled write is."""
    counter = item("counter#1")
    server_client.put_item(TableName=TABLE, Item={**counter, "n": {"N": "0"}})

    def committed(n: int) -> None:
        server_client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": item("rows#1", f"row#{n:04d}"),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": counter,
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    def cancelled(n: int) -> None:
        with pytest.raises(ClientError):
            server_client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": item("rows#1", f"ghost#{n:04d}")}},
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": counter,
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": item("absent"),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            )

    work = [(committed, n) for n in range(120)] + [(cancelled, n) for n in range(60)]
    random.Random(19).shuffle(work)
    with ThreadPoolExecutor(max_workers=12) as pool:
        for future in [pool.submit(task, n) for task, n in work]:
            future.result()

    rows = query_all(server_client, "rows#1")
    assert sorted(row["SK"]["S"] for row in rows) == [f"row#{n:04d}" for n in range(120)]
    stored = server_client.get_item(TableName=TABLE, Key=counter)["Item"]["n"]["N"]
    assert int(stored) == 120


def query_all(client: Any, pk: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    while True:
        page = client.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": pk}},
            Limit=25,
            **extra,
        )
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        extra = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def test_a_query_never_sees_a_transaction_half_applied(server_client: Any) -> None:
    """One writer moves a pair of items together from value i to i+1 in transactions; readers Query
    their partition meanwhile: both items always carry the same value."""
    pair = "pair#1"
    server_client.put_item(TableName=TABLE, Item=item(pair, "a", v="0"))
    server_client.put_item(TableName=TABLE, Item=item(pair, "b", v="0"))
    done = threading.Event()
    seen: list[tuple[str, ...]] = []

    def write() -> None:
        try:
            for n in range(1, 80):
                server_client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": TABLE, "Item": item(pair, side, v=str(n))}}
                        for side in ("a", "b")
                    ]
                )
        finally:
            done.set()

    def read() -> None:
        while not done.is_set() and len(seen) < 5_000:  # bounded
            seen.append(tuple(found["v"]["S"] for found in query_all(server_client, pair)))

    readers = [threading.Thread(target=read) for _ in range(3)]
    writer = threading.Thread(target=write)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads switch often: an interleaving inside a request shows up
    try:
        for thread in [*readers, writer]:
            thread.start()
        for thread in [writer, *readers]:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(switch_interval)
    assert seen, "the readers ran"
    assert [values for values in seen if len(set(values)) != 1] == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_queries_answer_what_a_whole_table_query_answers(client: Any, seed: int) -> None:
    """Random puts, updates that move items between index partitions, deletes and batch writes; then
    every partition of the table and of the index is queried (forwards, backwards, in pages, with a
    range condition) and compared with the answer computed from a plain model of the table."""
    rng = random.Random(seed)
    model: dict[tuple[str, str], dict[str, str]] = {}
    for step in range(400):
        key = (f"p{rng.randrange(8)}", f"s{rng.randrange(40):02d}")
        action = rng.random()
        if action < 0.5:
            values = (
                {"G": f"g{rng.randrange(5)}", "GS": f"{rng.randrange(100):03d}"} if rng.random() < 0.8 else {}
            )
            client.put_item(TableName=TABLE, Item=item(*key, **values, n=str(step)))
            model[key] = {**values, "n": str(step)}
        elif action < 0.8 and key in model:
            moved = f"g{rng.randrange(5)}"
            client.update_item(
                TableName=TABLE,
                Key=item(*key),
                UpdateExpression="SET G = :g, GS = :s",
                ExpressionAttributeValues={":g": {"S": moved}, ":s": {"S": f"{step:03d}"}},
            )
            model[key].update(G=moved, GS=f"{step:03d}")
        elif action < 0.9:
            client.delete_item(TableName=TABLE, Key=item(*key))
            model.pop(key, None)
        elif gone := [k for k in model if k[0] == key[0]][:3]:
            client.batch_write_item(
                RequestItems={TABLE: [{"DeleteRequest": {"Key": item(*k)}} for k in gone]}
            )
            for k in gone:
                model.pop(k)

    for pk in {k[0] for k in model} | {"p-none"}:
        expected = sorted(sk for (p, sk) in model if p == pk)
        assert [row["SK"]["S"] for row in query_all(client, pk)] == expected
        backwards = client.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :p AND SK BETWEEN :a AND :b",
            ExpressionAttributeValues={":p": {"S": pk}, ":a": {"S": "s10"}, ":b": {"S": "s29"}},
            ScanIndexForward=False,
        )["Items"]
        assert [row["SK"]["S"] for row in backwards] == [
            sk for sk in reversed(expected) if "s10" <= sk <= "s29"
        ]
    for pk in {k[0] for k in model}:
        expected = sorted(sk for (p, sk) in model if p == pk)
        for op, values, keep in (
            ("SK < :a", {":a": "s20"}, lambda sk: sk < "s20"),
            ("SK <= :a", {":a": "s20"}, lambda sk: sk <= "s20"),
            ("SK > :a", {":a": "s20"}, lambda sk: sk > "s20"),
            ("SK >= :a", {":a": "s20"}, lambda sk: sk >= "s20"),
            ("SK = :a", {":a": "s07"}, lambda sk: sk == "s07"),
            ("begins_with(SK, :a)", {":a": "s1"}, lambda sk: sk.startswith("s1")),
        ):
            for forward in (True, False):
                wanted = [sk for sk in expected if keep(sk)]
                answered = paged(
                    client,
                    KeyConditionExpression=f"PK = :p AND {op}",
                    ExpressionAttributeValues={":p": {"S": pk}, **{k: {"S": v} for k, v in values.items()}},
                    ScanIndexForward=forward,
                )
                assert [row["SK"]["S"] for row in answered] == (wanted if forward else wanted[::-1]), (
                    op,
                    forward,
                )
    for g in [f"g{n}" for n in range(6)]:
        members = sorted(
            (
                (values["GS"], p, sk)
                for (p, sk), values in model.items()
                if values.get("G") == g and "GS" in values
            )
        )
        answered = [(row["GS"]["S"], row["PK"]["S"], row["SK"]["S"]) for row in gsi(client, g)]
        assert answered == members
        newest = gsi(client, g, ScanIndexForward=False, Limit=3)
        assert [(row["GS"]["S"], row["PK"]["S"], row["SK"]["S"]) for row in newest] == members[::-1][:3]
        for forward in (True, False):
            pages = paged(
                client,
                IndexName="GSI1",
                KeyConditionExpression="G = :g AND GS BETWEEN :a AND :b",
                ExpressionAttributeValues={":g": {"S": g}, ":a": {"S": "010"}, ":b": {"S": "300"}},
                ScanIndexForward=forward,
            )
            wanted = [m for m in members if "010" <= m[0] <= "300"]
            shown = [(row["GS"]["S"], row["PK"]["S"], row["SK"]["S"]) for row in pages]
            assert shown == (wanted if forward else wanted[::-1]), (g, forward)


def paged(client: Any, **query: Any) -> list[dict[str, Any]]:
    """Every item a Query answers, read 4 at a time through its ExclusiveStartKey (bounded)."""
    items: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for _ in range(200):
        page = client.query(TableName=TABLE, Limit=4, **query, **extra)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        extra = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    raise AssertionError("more than 200 pages")


def test_reads_of_missing_items_leave_no_empty_partition(client: Any) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].tables[TABLE]
    client.put_item(TableName=TABLE, Item=item("kept"))
    client.put_item(TableName=TABLE, Item=item("gone"))
    for n in range(50):
        assert "Item" not in client.get_item(TableName=TABLE, Key=item(f"missing{n}"))
        client.delete_item(TableName=TABLE, Key=item(f"missing-too{n}"))
    client.delete_item(TableName=TABLE, Key=item("gone"))
    assert sorted(key.value for key in table.items) == ["kept"]


def test_sqs_receives_deletes_and_counts_as_moto_did(aws: None) -> None:
    """moto's SQS reading only what a call takes: each message received once until deleted or visible
    again, deletes (again too) as before, the queue's counts exact, a redrive to the dead-letter queue."""
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="work",
        Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "1"}}',
        },
    )["QueueUrl"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{start + n}"} for n in range(10)]
        )
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)

    def counts() -> tuple[int, int, int]:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return tuple(int(found[name]) for name in names)  # type: ignore[return-value]

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert counts() == (20, 10, 1)
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(first)],
    )
    assert len(deleted["Successful"]) == 10 and not deleted.get("Failed")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # again: accepted
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert counts() == (20, 0, 1)

    bodies, handles = [m["Body"] for m in first], []
    for _ in range(5):  # bounded: 20 messages, 10 a call
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        bodies += [m["Body"] for m in received]
        handles += [m["ReceiptHandle"] for m in received]
    assert sorted(bodies) == sorted(f"m{n}" for n in range(30))  # each once; the delayed one not yet
    assert counts() == (0, 20, 1)
    # received once already (maxReceiveCount 1): visible again, the next receive moves them to the DLQ
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    assert counts() == (0, 0, 1)
    moved = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert moved["Attributes"]["ApproximateNumberOfMessages"] == "20"


def test_concurrent_deletes_remove_exactly_their_own_messages() -> None:
    """Threads delete received messages of one queue at once (as the pumps' concurrent batches do) while
    others are received: every deleted message is gone, every other one still there (none deleted in
    another's place, no valid receipt handle refused)."""
    switch_interval = sys.getswitchinterval()
    with moto_server("sqs") as sqs:
        url = sqs.create_queue(QueueName="deletes", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
        for start in range(0, 400, 10):
            sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{start + n:03d}"} for n in range(10)]
            )
        received = []
        for _ in range(40):  # bounded: 400 messages, 10 a call
            received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert len(received) == 400
        doomed = [message for n, message in enumerate(received) if n % 2 == 0]
        sys.setswitchinterval(1e-5)  # threads switch often: an interleaving inside a delete shows up
        try:
            with ThreadPoolExecutor(max_workers=16) as pool:
                deletes = [
                    pool.submit(sqs.delete_message, QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                    for m in doomed
                ]
                for future in deletes:
                    future.result()
        finally:
            sys.setswitchinterval(switch_interval)
        kept = []
        for message in received:
            if message in doomed:
                continue
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            kept.append(message["Body"])
        left = []
        for _ in range(40):
            left += [
                m["Body"]
                for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            ]
        assert sorted(left) == sorted(kept) and len(kept) == 200
