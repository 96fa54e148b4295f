"""Erases one customer of one firm per SQS job (issue 17, R-PRIV-3); retries and parking in
shared.worker."""

from shared import bootstrap
from shared.domain.lifecycle import ErasureJob
from shared.services.lifecycle import erase_customer, erasure_given_up
from shared.worker import job_handler

lambda_handler = job_handler(
    ErasureJob.from_json,
    lambda job: erase_customer(bootstrap.lifecycle_for_job(job), job),
    lambda job: erasure_given_up(bootstrap.lifecycle_for_job(job), job),
    what="an erasure job",
)
