"""SQS queues, one per `spec.QUEUES` entry with its own dead-letter queue, and the schedules' DLQ."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge
from infra.naming import pascal_case
from infra.spec import FUNCTIONS, QUEUES

DEAD_LETTER_RETENTION = Duration.days(14)  # the SQS maximum: time to find the cause and redrive
VISIBILITY_PER_CONSUMER_TIMEOUT = 6  # AWS guidance for queues consumed by Lambda


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for key, spec in QUEUES.items():
            dead_letter_queue = self._dead_letter_queue(f"{pascal_case(key)}DeadLetterQueue")
            consumer_timeout = FUNCTIONS[spec.consumer].timeout_seconds
            self.queues[key] = sqs.Queue(
                self,
                f"{pascal_case(key)}Queue",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                visibility_timeout=Duration.seconds(VISIBILITY_PER_CONSUMER_TIMEOUT * consumer_timeout),
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=dead_letter_queue, max_receive_count=spec.max_receive_count
                ),
            )
            self.dead_letter_queues[key] = dead_letter_queue

        # Invocations the scheduler could not deliver, and scheduled runs whose function failed.
        self.schedules_dead_letter_queue = self._dead_letter_queue("SchedulesDeadLetterQueue")
        self.dead_letter_queues["schedules"] = self.schedules_dead_letter_queue
        acknowledge(
            self.schedules_dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: of the EventBridge Scheduler targets and of the "
            "scheduled functions' failed asynchronous invocations, not of another SQS queue.",
        )

    def _dead_letter_queue(self, construct_id: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
