"""Alarms to an encrypted SNS topic: any message in a dead-letter queue, any function error."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_cloudwatch_actions import SnsAction
from aws_cdk.aws_sns_subscriptions import EmailSubscription
from constructs import Construct

from infra.naming import pascal_case


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        functions: Mapping[str, lambda_.IFunction],
        email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # A customer managed key: CloudWatch cannot publish to a topic under the AWS managed aws/sns key.
        topic_key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, description="Encrypts the alarm topic"
        )
        topic_key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(self, "Topic", master_key=topic_key, enforce_ssl=True)
        if email:
            self.topic.add_subscription(EmailSubscription(email))

        for key, queue in dead_letter_queues.items():
            self._alarm_above_zero(
                queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                f"{pascal_case(key)}DeadLetters",
                f"Messages are waiting in the {key} dead-letter queue",
            )
        for name, function in functions.items():
            self._alarm_above_zero(
                function.metric_errors(period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM),
                f"{pascal_case(name)}Errors",
                f"The {name} function raised errors",
            )

    def _alarm_above_zero(self, metric: cloudwatch.Metric, construct_id: str, description: str) -> None:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(SnsAction(self.topic))
