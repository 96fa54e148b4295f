"""Data Refresh fan-out: one page of a job per message (R-REF-3..6); retries and parking in shared.worker."""

from shared import bootstrap
from shared.domain.refresh import FanoutMessage
from shared.services.refresh import fan_out, fan_out_given_up
from shared.worker import job_handler

lambda_handler = job_handler(
    FanoutMessage.from_json,
    lambda message: fan_out(bootstrap.refresh_for_job(message), message),
    lambda message: fan_out_given_up(bootstrap.refresh_for_job(message), message),
    what="a refresh fan-out message",
)
