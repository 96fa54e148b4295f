"""Email, secrets and alarms."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

from infra.spec import FUNCTIONS, QUEUES, SECRETS
from tests.infra.conftest import cdk_json_context
from tests.infra.template_queries import (
    Resources,
    function_id,
    of_type,
    referenced_ids,
    resource_behind,
    schedules_dead_letter_queue,
)


def test_sender_identity_uses_the_configuration_set_with_reputation_metrics(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {
            "EmailIdentity": cdk_json_context()["email_sender"],
            "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": Match.any_value()}},
        },
    )
    template.has_resource_properties(
        "AWS::SES::ConfigurationSet", {"ReputationOptions": {"ReputationMetricsEnabled": True}}
    )


@pytest.mark.parametrize("key", SECRETS)
def test_secret_holds_a_generated_placeholder_only(resources: Resources, key: str) -> None:
    secret = resources[resource_behind(resources, SECRETS[key].env)]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in secret["Properties"]
    assert "GenerateSecretString" in secret["Properties"]


def test_alarm_topic_is_encrypted_and_tls_only(resources: Resources, template: Template) -> None:
    (topic,) = of_type(resources, "AWS::SNS::Topic").values()
    (key_id,) = referenced_ids(topic["Properties"]["KmsMasterKeyId"])
    assert resources[key_id]["Properties"]["EnableKeyRotation"] is True
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_every_dead_letter_queue_raises_an_alarm_on_its_first_message(resources: Resources) -> None:
    dead_letter_queues = {schedules_dead_letter_queue(resources)} | {
        next(
            iter(
                referenced_ids(resources[resource_behind(resources, spec.env)]["Properties"]["RedrivePolicy"])
            )
        )
        for spec in QUEUES.values()
    }
    alarmed = _alarmed(resources, "ApproximateNumberOfMessagesVisible", "QueueName")
    assert alarmed == dead_letter_queues


def test_every_function_raises_an_alarm_on_errors(resources: Resources) -> None:
    alarmed = _alarmed(resources, "Errors", "FunctionName")
    assert alarmed == {function_id(resources, name) for name in FUNCTIONS}


def _alarmed(resources: Resources, metric: str, dimension: str) -> set[str]:
    """Resources with an alarm to the topic when `metric` goes above zero."""
    (topic_id,) = of_type(resources, "AWS::SNS::Topic")
    alarms = [
        alarm["Properties"]
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == metric
    ]
    for alarm in alarms:
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert referenced_ids(alarm["AlarmActions"]) == {topic_id}
    return {
        resource_id
        for alarm in alarms
        for d in alarm["Dimensions"]
        if d["Name"] == dimension
        for resource_id in referenced_ids(d["Value"])
    }


def test_the_stack_outputs_what_the_operators_firm_command_reads(template: Template) -> None:
    """tools/firms.py emails a firm's first admin as the functions email everyone: the same sender,
    configuration set and link origin, read from these outputs (a renamed one would break it)."""
    from tools.firms import STACK_OUTPUTS

    outputs = template.to_json()["Outputs"]
    assert set(STACK_OUTPUTS) <= set(outputs)
    assert outputs["EmailSender"]["Value"] == cdk_json_context()["email_sender"]
    configuration_set = outputs["EmailConfigurationSetName"]["Value"]["Ref"]
    assert template.to_json()["Resources"][configuration_set]["Type"] == "AWS::SES::ConfigurationSet"
