"""EventBridge Scheduler, locally: fires each spec schedule at its cron times in its time
zone, invoking the target with the schedule's payload as the event.

In AWS the scheduler invokes the function asynchronously: a function error is retried by
Lambda, and the stack sends the failed invocation to the schedules' dead-letter queue (the
function's on-failure destination). Locally a delivery cannot fail, so the schedule's retry
policy (`maximum_retry_attempts` within `maximum_event_age_seconds`) stands for both, and a
run that still fails lands in that queue as the same Lambda invocation record.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from infra.spec import ScheduleSpec
from local.aws_cron import CronExpression
from local.fake_aws import ACCOUNT_ID, REGION
from shared.clock import Now
from shared.clock import now as business_now

log = logging.getLogger("local.scheduler")

CLOCK_POLL_SECONDS = 1.0
Invoke = Callable[[str, Any], Any]  # (function name, event) -> result


class UnknownSchedule(KeyError):
    pass


class Scheduler:
    def __init__(
        self,
        schedules: Mapping[str, ScheduleSpec],
        *,
        invoke: Invoke,
        sqs: Any,
        dead_letter_queue_url: str,
        stop: threading.Event,
        clock: Now = business_now,
        first_retry_delay_seconds: float = 1.0,
    ):
        self._schedules = dict(schedules)
        self._cron = {name: CronExpression.parse(spec.expression) for name, spec in schedules.items()}
        self._invoke = invoke
        self._sqs = sqs
        self._dead_letter_queue_url = dead_letter_queue_url
        self._clock = clock
        self._first_retry_delay = first_retry_delay_seconds
        self._stop = stop
        self._threads = [
            threading.Thread(target=self._run_schedule, args=(name,), name=f"schedule-{name}", daemon=True)
            for name in schedules
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    def next_fire(self, name: str, after: datetime) -> datetime | None:
        return self._cron[name].next_fire(after, ZoneInfo(self._schedules[name].timezone))

    def describe(self) -> list[dict[str, Any]]:
        now = self._clock()
        return [
            {
                "name": name,
                "expression": spec.expression,
                "timezone": spec.timezone,
                "target": spec.target,
                "payload": spec.payload,
                "description": spec.description,
                "next_fire_time": _iso(self.next_fire(name, now), ZoneInfo(spec.timezone)),
            }
            for name, spec in self._schedules.items()
        ]

    def run_now(self, name: str) -> Any:
        """One invocation, now, without retries; the handler's exception propagates."""
        spec = self._spec(name)
        return self._invoke(spec.target, dict(spec.payload))

    def fire(self, name: str) -> None:
        """A scheduled invocation with the schedule's retry policy and dead-letter queue."""
        spec = self._spec(name)
        started = time.monotonic()
        delay = self._first_retry_delay
        for attempt in range(spec.maximum_retry_attempts + 1):
            try:
                self._invoke(spec.target, dict(spec.payload))
                log.info("schedule %s: %s succeeded (attempt %d)", name, spec.target, attempt + 1)
                return
            except Exception as error:
                log.exception("schedule %s: %s failed (attempt %d)", name, spec.target, attempt + 1)
                last_error = error
            if attempt == spec.maximum_retry_attempts:
                condition = "RetriesExhausted"
                break
            if time.monotonic() - started + delay > spec.maximum_event_age_seconds:
                condition = "EventAgeExceeded"
                break
            if self._stop.wait(delay):
                return
            delay *= 2
        self._dead_letter(name, spec, last_error, condition, invocations=attempt + 1)

    def _spec(self, name: str) -> ScheduleSpec:
        try:
            return self._schedules[name]
        except KeyError:
            raise UnknownSchedule(name) from None

    def _dead_letter(
        self, name: str, spec: ScheduleSpec, error: Exception, condition: str, invocations: int
    ) -> None:
        """The record Lambda sends to an on-failure destination after an asynchronous invocation failed."""
        record = {
            "version": "1.0",
            "timestamp": self._clock().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{spec.target}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "requestPayload": spec.payload,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            },
        }
        self._sqs.send_message(QueueUrl=self._dead_letter_queue_url, MessageBody=json.dumps(record))
        log.error(
            "schedule %s: failed %d time(s), sent to the schedules' dead-letter queue", name, invocations
        )

    def _run_schedule(self, name: str) -> None:
        """Waits for the next fire time in steps of at most a second, so a clock moved forward
        (`POST /_local/clock`) is noticed at once: everything that fell due fires once, as one
        late run (the jobs catch up: reminders take everything due, imports every missed day)."""
        after = self._clock()
        while (fire_at := self.next_fire(name, after)) is not None:
            while (left := (fire_at - self._clock()).total_seconds()) > 0:
                if self._stop.wait(min(left, CLOCK_POLL_SECONDS)):
                    return
            if self._stop.is_set():
                return
            self.fire(name)
            after = max(self._clock(), fire_at)


def _iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat()
