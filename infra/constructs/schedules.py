"""EventBridge Scheduler schedules, one per `spec.SCHEDULES` entry, each invoking its target function."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_destinations import SqsDestination
from aws_cdk.aws_scheduler_targets import LambdaInvoke
from constructs import Construct

from infra.nag import acknowledge, wildcard_finding
from infra.naming import pascal_case
from infra.spec import SCHEDULES


class Schedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        targets = dict.fromkeys(spec.target for spec in SCHEDULES.values())
        invoker_roles = {target: self._invoker_role(functions[target]) for target in targets}
        self.schedules = {
            key: scheduler.Schedule(
                self,
                pascal_case(key),
                description=spec.description,
                schedule=scheduler.ScheduleExpression.expression(spec.expression, TimeZone.of(spec.timezone)),
                target=LambdaInvoke(
                    functions[spec.target],
                    input=scheduler.ScheduleTargetInput.from_object(spec.payload),
                    retry_attempts=spec.maximum_retry_attempts,
                    max_event_age=Duration.seconds(spec.maximum_event_age_seconds),
                    dead_letter_queue=dead_letter_queue,
                    role=invoker_roles[spec.target],
                ),
            )
            for key, spec in SCHEDULES.items()
        }
        # The scheduler invokes asynchronously: its retry policy and DLQ cover delivery only. A run whose
        # function fails goes, after Lambda's own retries, to the same DLQ with the error (R-IMP-4).
        for target in targets:
            functions[target].configure_async_invoke(on_failure=SqsDestination(dead_letter_queue))

    def _invoker_role(self, function: lambda_.Function) -> iam.Role:
        """The role the scheduler assumes to invoke one function (LambdaInvoke adds the permissions)."""
        role = iam.Role(
            self,
            f"{function.node.id}InvokerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
        )
        acknowledge(
            role,
            wildcard_finding(function, ":*"),
            "lambda:InvokeFunction on the function's versions and aliases (<function ARN>:*), granted by "
            "LambdaInvoke; the role can invoke this one function and nothing else.",
        )
        return role
