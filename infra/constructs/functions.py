"""Lambda functions, one per `spec.FUNCTIONS` entry, with exactly the grants the spec declares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct, IConstruct

from infra import bundling
from infra.constructs.email import Email
from infra.constructs.users import Users
from infra.nag import acknowledge, wildcard_finding
from infra.naming import pascal_case
from infra.spec import BUCKETS, FUNCTIONS, QUEUES, TABLES, FunctionSpec, Grant, function_environment
from infra.spec_user_pool import USER_POOL_ACTIONS, USER_POOL_KEY

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
EMAIL = "email"  # the Grant resource that means "send through the SES identity"
# What a function may do with a KMS key: seal or open, each alone (never ReEncrypt or data keys).
KEY_ACTIONS = {"encrypt": "kms:Encrypt", "decrypt": "kms:Decrypt"}
# What a function may do with a bucket's objects: read one (a presigned GET is signed with the
# function's role), or write one in parts (and abort an unfinished upload). No listing, no deleting.
BUCKET_ACTIONS = {
    "read": ("s3:GetObject",),
    "write": ("s3:PutObject", "s3:AbortMultipartUpload"),
    "delete": ("s3:DeleteObject",),  # a customer's erasure (issue 17)
}
# "append" (the audit table): put new events, and Query the table itself (not its indexes) for a
# chain's tip. Nothing that changes or removes an item: no UpdateItem, DeleteItem, BatchWriteItem.
APPEND_ACTIONS = ("dynamodb:PutItem", "dynamodb:Query")


@dataclass(frozen=True)
class GrantTargets:
    """The resources a `spec.Grant` can name, by their spec key."""

    tables: Mapping[str, dynamodb.TableV2]
    queues: Mapping[str, sqs.Queue]
    secrets: Mapping[str, secretsmanager.Secret]
    email: Email
    users: Users
    buckets: Mapping[str, s3.Bucket]
    keys: Mapping[str, kms.Key]

    def physical_names(self) -> dict[str, str]:
        """What `spec.function_environment` puts in the environment: table names, queue URLs, secret
        names, the KMS keys' ARNs, the user pool's id."""
        return {
            **{key: table.table_name for key, table in self.tables.items()},
            **{key: queue.queue_url for key, queue in self.queues.items()},
            **{key: secret.secret_name for key, secret in self.secrets.items()},
            **{key: bucket.bucket_name for key, bucket in self.buckets.items()},
            **{key: kms_key.key_arn for key, kms_key in self.keys.items()},
            USER_POOL_KEY: self.users.user_pool.user_pool_id,
        }


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        targets: GrantTargets,
        common_environment: Mapping[str, str],
        metrics_namespace: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._targets = targets
        self._code = bundling.application_code()
        self._dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=bundling.dependencies_layer_code(),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="requirements.txt for Python 3.14 arm64 (boto3 comes with the runtime)",
        )
        self._shared_environment = {
            "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            **common_environment,
        }
        self.functions = {name: self._function(name, spec) for name, spec in FUNCTIONS.items()}

    def _function(self, name: str, spec: FunctionSpec) -> lambda_.Function:
        construct_id = pascal_case(name)
        log_group = logs.LogGroup(self, f"{construct_id}Logs", retention=LOG_RETENTION)
        # Own role without AWSLambdaBasicExecutionRole: writes to its own log group only.
        role = iam.Role(self, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=self._code,
            layers=[self._dependencies],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            environment={
                **self._shared_environment,
                **function_environment(name, self._targets.physical_names()),
            },
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )
        for grant in spec.grants:
            self._grant(name, function, grant)
        self._acknowledge_wildcards(role.node.find_child("DefaultPolicy"), spec)
        return function

    def _acknowledge_wildcards(self, policy: IConstruct, spec: FunctionSpec) -> None:
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
            "permissions, so '*' is the only resource they accept.",
        )
        indexed = (g.resource for g in spec.grants if g.resource in TABLES and g.access != "append")
        for key in dict.fromkeys(indexed):
            if TABLES[key].gsis:
                acknowledge(
                    policy,
                    wildcard_finding(self._targets.tables[key], "/index/*"),
                    f"Queries on the global secondary indexes of the {key} table, and of no other table "
                    "(grant_*_data covers a table's indexes as <table ARN>/index/*).",
                )
        for grant in spec.grants:
            if grant.resource in BUCKETS:
                acknowledge(
                    policy,
                    wildcard_finding(self._targets.buckets[grant.resource], "/*"),
                    f"The objects of the {grant.resource} bucket, and of no other: one object per export, "
                    "named by ids known only at run time; only the actions the function needs "
                    f"({', '.join(BUCKET_ACTIONS[grant.access])}).",
                )

    def _grant(self, name: str, function: lambda_.Function, grant: Grant) -> None:
        targets = self._targets
        match grant.access:
            case "read" | "write" | "delete" if grant.resource in BUCKETS:
                bucket = targets.buckets[grant.resource]
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=list(BUCKET_ACTIONS[grant.access]), resources=[bucket.arn_for_objects("*")]
                    )
                )
            case "append":
                table = targets.tables[grant.resource]
                function.add_to_role_policy(
                    iam.PolicyStatement(actions=list(APPEND_ACTIONS), resources=[table.table_arn])
                )
            case "read":
                targets.tables[grant.resource].grant_read_data(function)
            case "write":
                targets.tables[grant.resource].grant_write_data(function)
            case "read_write":
                targets.tables[grant.resource].grant_read_write_data(function)
            case "send" if grant.resource == EMAIL:
                targets.email.grant_send(function)
            case "send":
                targets.queues[grant.resource].grant_send_messages(function)
            case "consume":
                function.add_event_source(_queue_event_source(name, grant.resource, targets.queues))
            case "encrypt" | "decrypt" if grant.resource in targets.keys:
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=[KEY_ACTIONS[grant.access]], resources=[targets.keys[grant.resource].key_arn]
                    )
                )
            case "read_secret":
                targets.secrets[grant.resource].grant_read(function)
            case access if grant.resource == USER_POOL_KEY and access in USER_POOL_ACTIONS:
                targets.users.grant(function, access, trigger=FUNCTIONS[name].kind == "trigger")
            case _:
                raise ValueError(f"{name}: no grant for {grant}")


def _queue_event_source(
    function_name: str, queue_key: str, queues: Mapping[str, sqs.Queue]
) -> SqsEventSource:
    spec = QUEUES[queue_key]
    if spec.consumer != function_name:  # the queue's visibility timeout is sized for its declared consumer
        raise ValueError(
            f"{function_name} consumes '{queue_key}', whose declared consumer is {spec.consumer}"
        )
    return SqsEventSource(
        queues[queue_key],
        batch_size=spec.batch_size,
        max_batching_window=Duration.seconds(spec.max_batching_window_seconds),
        max_concurrency=spec.max_concurrency,
        report_batch_item_failures=True,
    )
