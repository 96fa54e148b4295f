"""Workers and jobs are wired to their events; until their use cases land they refuse every
message, so the queue retries it and then parks it in the DLQ (nothing lost)."""

from __future__ import annotations

import importlib

import pytest

from infra.spec import FUNCTIONS, SCHEDULES
from shared.services.not_yet import CapabilityNotBuilt
from tests.conftest import load_event


@pytest.mark.parametrize("name", [n for n, f in FUNCTIONS.items() if f.kind == "worker"])
def test_worker_reports_every_refused_record_as_a_batch_item_failure(name, lambda_context):
    handler = importlib.import_module(FUNCTIONS[name].handler.rsplit(".", 1)[0]).lambda_handler
    event = load_event("sqs/import_jobs.json")
    response = handler(event, lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_scheduled_job_events_match_the_schedule_payloads(schedule):
    event = load_event(f"scheduler/{schedule.replace('-', '_')}.json")
    assert event == SCHEDULES[schedule].payload


def test_the_import_dispatcher_refuses_until_imports_exist(lambda_context):
    from functions.import_dispatcher.handler import lambda_handler

    with pytest.raises(CapabilityNotBuilt):
        lambda_handler(load_event("scheduler/daily_import.json"), lambda_context)
