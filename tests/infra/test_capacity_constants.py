"""What the cost model repeats of the stack must be what the stack says (issue 20)."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from infra.constructs.functions import LOG_RETENTION
from tools.capacity.figures import LOG_RETENTION_DAYS


def test_the_log_storage_is_priced_for_the_retention_the_functions_log_groups_have() -> None:
    days = {
        logs.RetentionDays.ONE_MONTH: 30,
        logs.RetentionDays.THREE_MONTHS: 90,
        logs.RetentionDays.SIX_MONTHS: 180,
    }
    assert days[LOG_RETENTION] == LOG_RETENTION_DAYS
