"""What the cost model repeats of the stack must be what the stack says (issue 20)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_logs as logs

from infra.constructs.functions import LOG_RETENTION
from infra.spec import FUNCTIONS
from tests.infra.conftest import stage_config
from tests.infra.template_queries import Resources, environment
from tools.capacity.figures import LOG_RETENTION_DAYS


def test_the_log_storage_is_priced_for_the_retention_the_functions_log_groups_have() -> None:
    days = {
        logs.RetentionDays.ONE_MONTH: 30,
        logs.RetentionDays.THREE_MONTHS: 90,
        logs.RetentionDays.SIX_MONTHS: 180,
    }
    assert days[LOG_RETENTION] == LOG_RETENTION_DAYS


def test_the_gocardless_pace_is_a_deploy_setting_given_to_every_function(resources: Resources) -> None:
    assert stage_config().gocardless_account_calls_per_minute == 100  # GoCardless's published limit
    assert stage_config(gocardless_account_calls_per_minute="250").gocardless_account_calls_per_minute == 250
    for wrong in ("0", "-5", "many", "2.5"):
        with pytest.raises(ValueError, match="gocardless_account_calls_per_minute"):
            stage_config(gocardless_account_calls_per_minute=wrong)
    paces = {environment(resources, name)["GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE"] for name in FUNCTIONS}
    assert paces == {"100"}  # cdk.json sets none: the default, in every function
