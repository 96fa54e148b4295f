"""Invitation reminders: wired from the foundation (trigger, permissions, DLQ, alarms); the use case
arrives with its issue and meanwhile every message is refused into the retry/DLQ path."""

from shared.services.not_yet import refuse_message
from shared.worker import scheduled_handler

lambda_handler = scheduled_handler(refuse_message("invitation reminders"))
