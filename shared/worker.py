"""Entry points for SQS workers and scheduled jobs: Powertools batch processing with
partial batch responses, so one failing record is retried alone and, after the queue's
maxReceiveCount, lands in the dead-letter queue with the others untouched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics, tracer

LambdaHandler = Callable[[dict[str, Any], LambdaContext], Any]


def sqs_handler(handle_message: Callable[[str], None]) -> LambdaHandler:
    """A Lambda handler that calls `handle_message(body)` for each SQS record."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle_record(record: SQSRecord) -> None:
        handle_message(record.body)

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=handle_record, processor=processor, context=context
        )

    return lambda_handler


def scheduled_handler(run: Callable[[dict[str, Any]], dict[str, Any]]) -> LambdaHandler:
    """A Lambda handler for an EventBridge Scheduler target: the event is the schedule's payload."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return run(event)

    return lambda_handler
