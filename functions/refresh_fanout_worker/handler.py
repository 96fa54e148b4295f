"""Data Refresh fan-out: one page of a job per message (R-REF-3..6); retries and parking in shared.worker."""

import json

from shared import bootstrap
from shared.domain.refresh import FanoutMessage
from shared.services.refresh import fan_out, fan_out_given_up
from shared.worker import PoisonMessage, sqs_handler


def handle(body: str) -> None:
    message = _message(body)
    fan_out(bootstrap.refresh_for_job(message), message)


def given_up(body: str) -> None:
    message = _message(body)
    fan_out_given_up(bootstrap.refresh_for_job(message), message)


def _message(body: str) -> FanoutMessage:
    try:
        return FanoutMessage.from_json(body)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoisonMessage(f"not a refresh fan-out message ({type(error).__name__})") from None


lambda_handler = sqs_handler(handle, on_given_up=given_up)
