from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from infra.constructs.functions import BUCKET_ACTIONS
from infra.spec import (
    BUCKETS,
    COMMON_ENV,
    FUNCTIONS,
    KEYS,
    QUEUES,
    SCHEDULES,
    SECRETS,
    SIGN_IN_CHECK,
    TABLES,
    function_environment,
)
from infra.spec_user_pool import USER_POOL, USER_POOL_ACTIONS, USER_POOL_KEY
from tests.infra.template_queries import (
    Resources,
    actions,
    environment,
    function_id,
    of_type,
    policy_statements,
    referenced_ids,
    resource_behind,
    resources_allowed,
    schedules_dead_letter_queue,
)

POWERTOOLS_SETTINGS = {"POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_LOGGER_LOG_EVENT"}
RESOURCE_KEYS = {key: key for key in (*TABLES, *QUEUES, *SECRETS, *BUCKETS, *KEYS, USER_POOL_KEY)}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_runs_its_handler_on_arm64_python_3_14(resources: Resources, name: str) -> None:
    spec = FUNCTIONS[name]
    function = resources[function_id(resources, name)]["Properties"]
    assert function["Architectures"] == ["arm64"]
    assert function["Runtime"] == "python3.14"
    assert function["MemorySize"] == spec.memory_mb
    assert function["Timeout"] == spec.timeout_seconds
    assert function["TracingConfig"] == {"Mode": "Active"}
    (layer_id,) = referenced_ids(function["Layers"])
    layer = resources[layer_id]["Properties"]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    assert layer["CompatibleRuntimes"] == ["python3.14"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_environment_is_powertools_common_values_and_its_grants(
    resources: Resources, name: str
) -> None:
    variables = environment(resources, name)
    expected = POWERTOOLS_SETTINGS | set(COMMON_ENV) | set(function_environment(name, RESOURCE_KEYS))
    assert set(variables) == expected
    assert variables["POWERTOOLS_SERVICE_NAME"] == FUNCTIONS[name].service
    assert variables["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_logs_to_its_own_log_group_with_retention(resources: Resources, name: str) -> None:
    function = resources[function_id(resources, name)]["Properties"]
    (log_group_id,) = referenced_ids(function["LoggingConfig"]["LogGroup"])
    assert resources[log_group_id]["Properties"]["RetentionInDays"] > 0
    assert resources_allowed(policy_statements(resources, name), "logs:PutLogEvents") == {log_group_id}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_may_use_exactly_the_resources_it_is_granted(resources: Resources, name: str) -> None:
    grants = FUNCTIONS[name].grants
    statements = policy_statements(resources, name)

    def granted(declared: Mapping[str, Any], *accesses: str) -> set[str]:
        return {
            resource_behind(resources, declared[g.resource].env)
            for g in grants
            if g.resource in declared and g.access in accesses
        }

    # "append" (the audit table): Query for a chain's tip and PutItem (tests/infra/test_audit_table.py)
    assert resources_allowed(statements, "dynamodb:Query") == granted(TABLES, "read", "read_write", "append")
    assert resources_allowed(statements, "dynamodb:PutItem") == granted(
        TABLES, "write", "read_write", "append"
    )
    assert resources_allowed(statements, "sqs:ReceiveMessage") == granted(QUEUES, "consume")
    # Scheduled functions also send their failed runs to the schedules' dead-letter queue.
    scheduled = name in {schedule.target for schedule in SCHEDULES.values()}
    failed_runs = {schedules_dead_letter_queue(resources)} if scheduled else set()
    # Workers park messages in the dead-letter queue of the queue they consume, with the reason.
    parked = {
        dead_letter_queue
        for queue_id in granted(QUEUES, "consume")
        for dead_letter_queue in referenced_ids(resources[queue_id]["Properties"]["RedrivePolicy"])
    }
    assert resources_allowed(statements, "sqs:SendMessage") == granted(QUEUES, "send") | failed_runs | parked
    assert resources_allowed(statements, "secretsmanager:GetSecretValue") == granted(SECRETS, "read_secret")
    sends_email = any(g.resource == "email" for g in grants)
    email_resources = set(of_type(resources, "AWS::SES::EmailIdentity")) | set(
        of_type(resources, "AWS::SES::ConfigurationSet")
    )
    assert resources_allowed(statements, "ses:SendEmail") == (email_resources if sends_email else set())
    # Buckets: exactly the object actions of the grant, on that bucket's objects; never a listing.
    s3_actions = {a for s in statements for a in actions(s) if a.startswith("s3:")}
    assert s3_actions == {a for g in grants if g.resource in BUCKETS for a in BUCKET_ACTIONS[g.access]}
    for grant in (g for g in grants if g.resource in BUCKETS):
        bucket = resource_behind(resources, BUCKETS[grant.resource].env)
        for action in BUCKET_ACTIONS[grant.access]:
            assert resources_allowed(statements, action) == {bucket}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_may_manage_users_of_the_pool_only_as_granted(resources: Resources, name: str) -> None:
    statements = policy_statements(resources, name)
    allowed = {action for s in statements for action in actions(s) if action.startswith("cognito-idp:")}
    (granted,) = [g.access for g in FUNCTIONS[name].grants if g.resource == USER_POOL_KEY] or [None]
    assert allowed == set(USER_POOL_ACTIONS.get(granted or "", ()))
    pools = set(of_type(resources, "AWS::Cognito::UserPool"))
    for action in allowed:
        assert resources_allowed(statements, action) == pools
    if granted:
        assert resource_behind(resources, USER_POOL.env) in pools


def test_no_policy_allows_data_or_queue_actions_on_every_resource(resources: Resources) -> None:
    for policy_id, policy in of_type(resources, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(
                action.startswith(
                    ("dynamodb:", "sqs:", "ses:", "secretsmanager:", "cognito-idp:", "s3:", "kms:")
                )
                for action in actions(statement)
            ):
                assert "*" not in statement["Resource"], f"{policy_id}: {statement}"


def test_functions_have_no_aws_managed_policy(resources: Resources) -> None:
    for name in FUNCTIONS:
        role_id = next(iter(referenced_ids(resources[function_id(resources, name)]["Properties"]["Role"])))
        assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


def test_the_pool_checks_every_token_with_the_sign_in_check_trigger(resources: Resources) -> None:
    """Issue 17 (R-ID-4): before each token the pool issues, the trigger checks staff's TOTP record; Cognito
    may invoke it, from this pool only; its own grants reach the pool without naming it in its environment
    (the pool names the function: the other way round would be a circular dependency)."""
    (pool_id,) = of_type(resources, "AWS::Cognito::UserPool")
    trigger = function_id(resources, SIGN_IN_CHECK)
    config = resources[pool_id]["Properties"]["LambdaConfig"]["PreTokenGenerationConfig"]
    assert referenced_ids(config["LambdaArn"]) == {trigger} and config["LambdaVersion"] == "V1_0"
    (permission,) = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if referenced_ids(p["Properties"]["FunctionName"]) == {trigger}
    ]
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert referenced_ids(permission["SourceArn"]) == {pool_id}
    assert USER_POOL.env not in environment(resources, SIGN_IN_CHECK)
    statements = policy_statements(resources, SIGN_IN_CHECK)
    assert resources_allowed(statements, "cognito-idp:AdminGetUser") == {pool_id}


def test_only_staff_administration_may_switch_a_users_totp_off(resources: Resources) -> None:
    """The admin's reset of a lost authenticator (POST /firm/staff/{user_id}/mfa/reset) is the only
    AdminSetUserMFAPreference; reading a user's MFA settings is for the confirmation and the trigger."""

    def allowed(action: str) -> set[str]:
        return {name for name in FUNCTIONS if resources_allowed(policy_statements(resources, name), action)}

    assert allowed("cognito-idp:AdminSetUserMFAPreference") == {"invitations_api"}
    assert allowed("cognito-idp:AdminGetUser") == {"platform_api", SIGN_IN_CHECK}
