from __future__ import annotations

from typing import Any

import pytest

from infra.spec import FUNCTIONS, QUEUES
from tests.infra.template_queries import Resources, function_id, of_type, referenced_ids, resource_behind

FOURTEEN_DAYS = 14 * 24 * 3600


@pytest.mark.parametrize("key", QUEUES)
def test_queue_redrives_to_its_dead_letter_queue_after_max_receives(resources: Resources, key: str) -> None:
    redrive = _queue(resources, key)["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == QUEUES[key].max_receive_count
    dead_letter_queue = resources[_dead_letter_queue_id(resources, key)]["Properties"]
    assert dead_letter_queue["MessageRetentionPeriod"] == FOURTEEN_DAYS


def test_every_queue_has_its_own_dead_letter_queue(resources: Resources) -> None:
    assert len({_dead_letter_queue_id(resources, key) for key in QUEUES}) == len(QUEUES)


@pytest.mark.parametrize("key", QUEUES)
def test_visibility_timeout_is_six_times_the_consumer_timeout(resources: Resources, key: str) -> None:
    assert _queue(resources, key)["VisibilityTimeout"] >= 6 * FUNCTIONS[QUEUES[key].consumer].timeout_seconds


def test_every_queue_is_encrypted_and_refuses_requests_without_tls(resources: Resources) -> None:
    queues = of_type(resources, "AWS::SQS::Queue")
    ssl_only = set().union(
        *(
            referenced_ids(policy["Properties"]["Queues"])
            for policy in of_type(resources, "AWS::SQS::QueuePolicy").values()
            if any(
                statement["Effect"] == "Deny"
                and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            )
        )
    )
    assert ssl_only == set(queues)
    assert all(queue["Properties"]["SqsManagedSseEnabled"] is True for queue in queues.values())


@pytest.mark.parametrize("key", QUEUES)
def test_consumer_reads_the_queue_with_partial_batch_failures(resources: Resources, key: str) -> None:
    spec = QUEUES[key]
    queue_id = resource_behind(resources, spec.env)
    (mapping,) = (
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if referenced_ids(m["Properties"]["EventSourceArn"]) == {queue_id}
    )
    assert referenced_ids(mapping["FunctionName"]) == {function_id(resources, spec.consumer)}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == spec.batch_size
    assert mapping["MaximumBatchingWindowInSeconds"] == spec.max_batching_window_seconds
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": spec.max_concurrency}


def _queue(resources: Resources, key: str) -> dict[str, Any]:
    return resources[resource_behind(resources, QUEUES[key].env)]["Properties"]


def _dead_letter_queue_id(resources: Resources, key: str) -> str:
    (dead_letter_queue_id,) = referenced_ids(_queue(resources, key)["RedrivePolicy"]["deadLetterTargetArn"])
    return dead_letter_queue_id
