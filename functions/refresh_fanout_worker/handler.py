"""Data Refresh fan-out: one page of a job per message (R-REF-3..6); retries and parking in shared.worker."""

import json

from shared import bootstrap
from shared.domain.refresh import FanoutMessage
from shared.services.refresh import fan_out
from shared.worker import PoisonMessage, sqs_handler


def handle(body: str) -> None:
    try:
        message = FanoutMessage.from_json(body)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoisonMessage(f"not a refresh fan-out message ({type(error).__name__})") from None
    fan_out(bootstrap.refresh(), message)


lambda_handler = sqs_handler(handle)
