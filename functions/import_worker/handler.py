"""Imports one connection per SQS job (R-IMP-1..4), reporting Data Refresh progress (R-REF-6);
retries, delays and parking in shared.worker."""

import json

from shared import bootstrap
from shared.domain.jobs import ImportJob
from shared.services.refresh import import_and_report
from shared.worker import PoisonMessage, sqs_handler


def handle(body: str) -> None:
    try:
        job = ImportJob.from_json(body)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoisonMessage(f"not an import job ({type(error).__name__})") from None
    import_and_report(bootstrap.imports(), bootstrap.engagement_index(), job)


lambda_handler = sqs_handler(handle)
