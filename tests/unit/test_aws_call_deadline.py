"""A function whose caller has a deadline (the pool's pre-token trigger: Cognito waits 5 s) bounds
every AWS call: short connect and read timeouts, one retry, so a slow table or a throttled pool
cannot make the trigger time out and Cognito refuse every sign-in."""

from __future__ import annotations

import pytest

from infra.spec import FUNCTIONS, SIGN_IN_CHECK, function_environment
from shared.adapters import aws_clients
from shared.settings import get_settings

ATTEMPTS = 2  # aws_clients: retries={"total_max_attempts": 2}
CALLS_PER_CHECK = 2  # our MFA record, then the pool (shared/services/mfa.check_at_token_issue)


def test_the_triggers_worst_case_fits_in_its_deadline():
    spec = FUNCTIONS[SIGN_IN_CHECK]
    assert spec.aws_call_timeout_seconds is not None
    worst = CALLS_PER_CHECK * ATTEMPTS * spec.aws_call_timeout_seconds
    assert worst < spec.timeout_seconds <= 5


def test_the_timeout_reaches_the_function_and_its_clients(monkeypatch):
    env = function_environment(SIGN_IN_CHECK, {"data": "t", "audit": "a", "users": "p"})
    assert env["AWS_CALL_TIMEOUT_SECONDS"] == "1.0"
    monkeypatch.setenv("AWS_CALL_TIMEOUT_SECONDS", env["AWS_CALL_TIMEOUT_SECONDS"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    get_settings.cache_clear()
    aws_clients.aws_client.cache_clear()
    try:
        config = aws_clients.aws_client("dynamodb").meta.config
        assert (config.connect_timeout, config.read_timeout) == (1.0, 1.0)
        assert config.retries["total_max_attempts"] == ATTEMPTS
    finally:
        get_settings.cache_clear()
        aws_clients.aws_client.cache_clear()


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n != SIGN_IN_CHECK])
def test_other_functions_keep_the_sdks_defaults(name):
    assert FUNCTIONS[name].aws_call_timeout_seconds is None
