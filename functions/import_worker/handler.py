"""Imports one connection per SQS job (R-IMP-1..4), reporting Data Refresh progress (R-REF-6);
retries, delays and parking in shared.worker."""

from shared import bootstrap
from shared.domain.jobs import ImportJob
from shared.services.imports import import_and_report, import_given_up
from shared.worker import job_handler

lambda_handler = job_handler(
    ImportJob.from_json,
    lambda job: import_and_report(bootstrap.imports_for_job(job), job),
    lambda job: import_given_up(bootstrap.imports_for_job(job), job),
    what="an import job",
)
