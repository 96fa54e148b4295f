"""Writes one CSV export per SQS job (issue 16 item 8); retries and parking in shared.worker."""

import json

from shared import bootstrap
from shared.domain.exports import ExportJob
from shared.services.exports import export_given_up, write_export
from shared.worker import PoisonMessage, sqs_handler


def handle(body: str) -> None:
    job = _job(body)
    write_export(bootstrap.exports_for_job(job), job)


def given_up(body: str) -> None:
    job = _job(body)
    export_given_up(bootstrap.exports_for_job(job), job)


def _job(body: str) -> ExportJob:
    try:
        return ExportJob.from_json(body)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoisonMessage(f"not an export job ({type(error).__name__})") from None


lambda_handler = sqs_handler(handle, on_given_up=given_up)
