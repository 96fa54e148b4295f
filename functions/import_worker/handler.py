"""Imports one connection per SQS job (R-IMP-1..4), reporting Data Refresh progress (R-REF-6);
retries, delays and parking in shared.worker."""

import json

from shared import bootstrap
from shared.domain.jobs import ImportJob
from shared.services.imports import import_and_report, import_given_up
from shared.worker import PoisonMessage, sqs_handler


def handle(body: str) -> None:
    job = _job(body)
    import_and_report(bootstrap.imports_for_job(job), job)


def given_up(body: str) -> None:
    job = _job(body)
    import_given_up(bootstrap.imports_for_job(job), job)


def _job(body: str) -> ImportJob:
    try:
        return ImportJob.from_json(body)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoisonMessage(f"not an import job ({type(error).__name__})") from None


lambda_handler = sqs_handler(handle, on_given_up=given_up)
