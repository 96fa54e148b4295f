"""Writes one CSV export per SQS job (issue 16 item 8); retries and parking in shared.worker."""

from shared import bootstrap
from shared.domain.exports import ExportJob
from shared.services.exports import export_given_up, write_export
from shared.worker import job_handler

lambda_handler = job_handler(
    ExportJob.from_json,
    lambda job: write_export(bootstrap.exports_for_job(job), job),
    lambda job: export_given_up(bootstrap.exports_for_job(job), job),
    what="an export job",
)
