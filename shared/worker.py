"""Entry points for SQS workers and scheduled jobs.

SQS workers use Powertools batch processing with partial batch responses, so one failing
record is retried alone. Every message ends in one of three ways, never silently:
done; retried later (a rate limit delays it until the reset); or in the dead-letter queue
with its reason (a poison message at once, any other failure on its last delivery).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.queue import park_in_dead_letter_queue, redrive_of, retry_after
from shared.domain.errors import RateLimited
from shared.observability import logger, metrics, tracer

LambdaHandler = Callable[[dict[str, Any], LambdaContext], Any]
Job = TypeVar("Job")


class PoisonMessage(ValueError):
    """A message that can never be processed (malformed): straight to the DLQ."""


def sqs_handler(
    handle_message: Callable[[str], None], *, on_given_up: Callable[[str], None] | None = None
) -> LambdaHandler:
    """A Lambda handler that calls `handle_message(body)` for each SQS record, and
    `on_given_up(body)` once a well-formed message is parked after its last delivery, so that
    whatever waits for the job (a refresh's progress) learns that it failed."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle_record(record: SQSRecord) -> None:
        attempts = int(record.attributes.approximate_receive_count or 1)
        try:
            handle_message(record.body)
        except PoisonMessage as error:
            _park(record, f"poison: {error}", attempts)
        except RateLimited as error:
            # Not a failure: the job comes back after the provider's reset.
            metrics.add_metric(name="JobsDelayedByRateLimit", unit="Count", value=1)
            retry_after(
                record.event_source_arn,
                record.receipt_handle,
                record.body,
                error.retry_after_seconds or error.default_retry_after_seconds,
            )
        except Exception as error:
            if attempts < redrive_of(record.event_source_arn).max_receive_count:
                metrics.add_metric(name="JobsRetried", unit="Count", value=1)
                raise
            # The type and the domain code only: an exception's text may quote personal data.
            _park(record, f"{type(error).__name__}: {getattr(error, 'code', 'unexpected')}", attempts)
            if on_given_up is not None:
                _report_given_up(on_given_up, record)

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=handle_record, processor=processor, context=context
        )

    return lambda_handler


def job_handler(
    parse: Callable[[str], Job],
    run: Callable[[Job], object],
    given_up: Callable[[Job], object],
    *,
    what: str,
) -> LambdaHandler:
    """`sqs_handler` for messages that `parse` reads into a job (a body it cannot read is poison:
    "not <what>"), `run` processes, and `given_up` records as failed once parked."""

    def job(body: str) -> Job:
        try:
            return parse(body)
        except (ValueError, KeyError, TypeError) as error:  # json.JSONDecodeError is a ValueError
            raise PoisonMessage(f"not {what} ({type(error).__name__})") from None

    def handle(body: str) -> None:
        run(job(body))

    def report_given_up(body: str) -> None:
        given_up(job(body))

    return sqs_handler(handle, on_given_up=report_given_up)


def _park(record: SQSRecord, reason: str, attempts: int) -> None:
    logger.error(
        "Job parked in the dead-letter queue", extra={"message_id": record.message_id, "reason": reason}
    )
    park_in_dead_letter_queue(record.event_source_arn, record.body, reason, attempts)
    metrics.add_metric(name="JobsParked", unit="Count", value=1)


def _report_given_up(on_given_up: Callable[[str], None], record: SQSRecord) -> None:
    """The message is already safe in the DLQ with its reason (its depth is alarmed); a failure
    here must not bring it back for another delivery, so it is logged and counted instead."""
    try:
        on_given_up(record.body)
    except Exception:
        logger.exception("Could not record a parked job as failed", extra={"message_id": record.message_id})
        metrics.add_metric(name="GivenUpReportsFailed", unit="Count", value=1)


def scheduled_handler(run: Callable[[dict[str, Any]], dict[str, Any]]) -> LambdaHandler:
    """A Lambda handler for an EventBridge Scheduler target: the event is the schedule's payload."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return run(event)

    return lambda_handler
