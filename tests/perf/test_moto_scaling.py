"""B8 moto at size (issue 19): the cost of a DynamoDB call must not grow with the table.

The same calls are timed on the data table's shape at 2,000 and at 20,000 items (the partitions
the same size, ten times as many of them), and the ratio printed: TransactWriteItems (a conditional
Put and a counter Update), a Query of a base-table partition, a Query of a GSI1 partition, a GetItem
that misses. On moto as shipped this bench measured ratios of 43.5 (transaction), 18.9 (Query) and
28 (GSI Query), and a peak of 1.5 GB during the calls (every transaction copied the whole table);
with local/moto_patches.py each ratio stays near 1 and the calls' peak near 1 MB.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import boto3

SMALL, LARGE = 2_000, 20_000
PARTITION = 20  # items a partition holds, base table and index alike
CALLS = 40
TARGET_RATIO = 2.0


def seed(client: Any, first: int, last: int) -> None:
    for start in range(first, last, 25):
        client.batch_write_item(
            RequestItems={
                "data": [
                    {
                        "PutRequest": {
                            "Item": {
                                "PK": {"S": f"FIRM#{n // PARTITION}"},
                                "SK": {"S": f"CUSTOMER#{n:06d}"},
                                "GSI1PK": {"S": f"SEARCH#{n // PARTITION}"},
                                "GSI1SK": {"S": f"{n:06d}"},
                                "name": {"S": "x" * 200},
                            }
                        }
                    }
                    for n in range(start, min(last, start + 25))
                ]
            }
        )


def per_call_ms(work: Callable[[int], Any]) -> float:
    started = time.perf_counter()
    for n in range(CALLS):
        work(n)
    return (time.perf_counter() - started) / CALLS * 1000


def measure(client: Any, size: int) -> dict[str, float]:
    partitions = size // PARTITION

    def transaction(n: int) -> None:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "data",
                        "Item": {"PK": {"S": f"JOB#{size}"}, "SK": {"S": f"CLAIM#{n}"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": "data",
                        "Key": {"PK": {"S": "FIRM#0"}, "SK": {"S": "CUSTOMER#000000"}},
                        "UpdateExpression": "ADD claims :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    def query(n: int) -> None:
        client.query(
            TableName="data",
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"FIRM#{(n * 7) % partitions}"}},
            Limit=10,
        )

    def gsi_query(n: int) -> None:
        client.query(
            TableName="data",
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SEARCH#{(n * 7) % partitions}"}},
            Limit=10,
            ScanIndexForward=False,
        )

    def get_miss(n: int) -> None:
        client.get_item(TableName="data", Key={"PK": {"S": f"NONE#{size}#{n}"}, "SK": {"S": "X"}})

    return {
        "transaction": per_call_ms(transaction),
        "query": per_call_ms(query),
        "gsi_query": per_call_ms(gsi_query),
        "get_miss": per_call_ms(get_miss),
    }


def test_b8_a_call_costs_the_same_on_a_table_ten_times_larger(aws: None, bar: Any) -> None:
    client = boto3.client("dynamodb")
    seed(client, 0, SMALL)
    small = measure(client, SMALL)
    seed(client, SMALL, LARGE)
    large = measure(client, LARGE)
    tracemalloc.start()  # memory apart: tracing slows every call
    try:
        measure(client, LARGE + 1)
        peak_kb = tracemalloc.get_traced_memory()[1] / 1024  # the peak while tracing
    finally:
        tracemalloc.stop()
    ratios = {name: large[name] / small[name] for name in small}
    bar(
        "moto at size",
        items=f"{SMALL}->{LARGE}",
        **{f"{name}_ratio": round(ratio, 2) for name, ratio in ratios.items()},
        **{f"{name}_ms": round(large[name], 2) for name in large},
        peak_memory_of_calls_kb=round(peak_kb),
    )
    assert all(ratio <= TARGET_RATIO for ratio in ratios.values()), ratios
    assert peak_kb < 5_000  # 160 calls on 20,000 items: no copy of the table (moto's: 1.5 GB)


def test_b8_a_queue_call_costs_the_same_on_a_queue_25_times_deeper(aws: None, bar: Any) -> None:
    """ReceiveMessage + DeleteMessageBatch of 10 and a SendMessage, on a queue 200 then 5,000 deep (a Data
    Refresh's fan-out queues thousands). moto as shipped: 3 ms at 10 deep, 2.4 s at 5,000."""
    sqs = boto3.client("sqs")

    def per_call(depth: int) -> float:
        url = sqs.create_queue(QueueName=f"depth-{depth}", Attributes={"VisibilityTimeout": "300"})[
            "QueueUrl"
        ]
        for _ in range(depth // 10):
            sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "x" * 200} for n in range(10)]
            )

        def receive_delete_send(_: int) -> None:
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
            sqs.send_message(QueueUrl=url, MessageBody="y")

        return per_call_ms(receive_delete_send)

    shallow, deep = per_call(200), per_call(5_000)
    bar("moto queue at size", depth="200->5000", ratio=round(deep / shallow, 2), deep_ms=round(deep, 2))
    assert deep / shallow <= TARGET_RATIO
