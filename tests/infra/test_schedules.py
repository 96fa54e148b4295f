from __future__ import annotations

import json

import pytest

from infra.spec import SCHEDULES
from tests.infra.template_queries import (
    Resources,
    function_id,
    of_type,
    referenced_ids,
    schedules_dead_letter_queue,
)


@pytest.mark.parametrize("key", SCHEDULES)
def test_schedule_invokes_its_target_as_declared(resources: Resources, key: str) -> None:
    spec = SCHEDULES[key]
    (schedule,) = (
        s["Properties"]
        for s in of_type(resources, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["Description"] == spec.description
    )
    assert schedule["ScheduleExpression"] == spec.expression
    assert schedule["ScheduleExpressionTimezone"] == spec.timezone
    target = schedule["Target"]
    assert referenced_ids(target["Arn"]) == {function_id(resources, spec.target)}
    assert json.loads(target["Input"]) == spec.payload
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": spec.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": spec.maximum_event_age_seconds,
    }
    assert referenced_ids(target["DeadLetterConfig"]["Arn"]) == {schedules_dead_letter_queue(resources)}


@pytest.mark.parametrize("target", sorted({spec.target for spec in SCHEDULES.values()}))
def test_failed_scheduled_runs_go_to_the_schedules_dead_letter_queue(
    resources: Resources, target: str
) -> None:
    (invoke_config,) = (
        c["Properties"]
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
        if referenced_ids(c["Properties"]["FunctionName"]) == {function_id(resources, target)}
    )
    on_failure = invoke_config["DestinationConfig"]["OnFailure"]["Destination"]
    assert referenced_ids(on_failure) == {schedules_dead_letter_queue(resources)}


def test_schedules_dead_letter_queue_keeps_messages_fourteen_days(resources: Resources) -> None:
    queue = resources[schedules_dead_letter_queue(resources)]["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
