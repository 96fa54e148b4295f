"""Imports: wired from the foundation (trigger, permissions, DLQ, alarms); the use case
arrives with its issue and meanwhile every message is refused into the retry/DLQ path."""

from shared.services.not_yet import refuse_message
from shared.worker import sqs_handler

lambda_handler = sqs_handler(refuse_message("imports"))
