"""Creates every resource declared in `infra/spec.py` on moto (or under `mock_aws` in tests), its
user pool too.

Physical names are the spec's keys (`data`, `imports`, `imports-dlq`, …; a KMS key is named by
its alias, `alias/credentials`): one account, one stage, nothing to disambiguate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from infra.spec import BUCKETS, KEYS, QUEUES, SECRETS, TABLES, create_table_request
from infra.spec_user_pool import (
    USER_POOL_KEY,
    create_user_pool_client_request,
    create_user_pool_request,
    user_pool_mfa_request,
)

# Locally a message that its consumer failed becomes visible again after 5 s, so a demo shows
# the retries and the move to the dead-letter queue within a minute. In AWS the visibility
# timeout is at least 6x the consumer's timeout (minutes).
LOCAL_VISIBILITY_TIMEOUT_SECONDS = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
SCHEDULES_DLQ_NAME = "schedules-dlq"
APP_CLIENT_NAME = "web"


@dataclass(frozen=True)
class ProvisionedQueue:
    url: str
    arn: str
    dlq_url: str


@dataclass(frozen=True)
class ProvisionedUserPool:
    user_pool_id: str
    client_id: str  # the app client people sign in with (the JWT authorizer's audience)


@dataclass(frozen=True)
class Resources:
    tables: dict[str, str]  # spec key -> table name
    queues: dict[str, ProvisionedQueue]  # spec key -> queue and its dead-letter queue
    secrets: dict[str, str]  # spec key -> secret name
    schedules_dlq_url: str
    user_pool: ProvisionedUserPool
    buckets: dict[str, str]  # spec key -> bucket name
    keys: dict[str, str]  # spec key -> the KMS key's alias

    def resolve(self) -> dict[str, str]:
        """Resource key -> physical name, URL or id, as `infra.spec.function_environment` takes it."""
        return {
            **self.tables,
            **{key: queue.url for key, queue in self.queues.items()},
            **self.secrets,
            **self.buckets,
            **self.keys,
            USER_POOL_KEY: self.user_pool.user_pool_id,
        }


def provision(email_sender: str, configuration_set: str, app_base_url: str | None = None) -> Resources:
    """Every spec resource; with `app_base_url`, the app client has the app's OAuth settings (its
    callback and sign-out URLs there), which the hosted pages' stand-in (local/hosted_ui.py) reads."""
    tables = {key: key for key in TABLES}
    create_tables(tables)
    resources = Resources(
        tables=tables,
        queues=create_queues(),
        secrets=create_secrets(),
        schedules_dlq_url=create_schedules_dlq(),
        user_pool=create_user_pool(app_base_url),
        buckets=create_buckets(),
        keys=create_keys(),
    )
    create_email_sending(email_sender, configuration_set)
    return resources


def create_tables(table_names: Mapping[str, str]) -> None:
    """Create the spec's tables (keys, GSIs, TTL) under the given names (spec key -> name)."""
    dynamodb = boto3.client("dynamodb")
    for key, name in table_names.items():
        dynamodb.create_table(**create_table_request(key, name))
        if ttl := TABLES[key].ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
            )


def create_keys() -> dict[str, str]:
    """Each spec KMS key (symmetric, rotation on, as the stack's), named by its alias `alias/<key>`:
    Encrypt and Decrypt take the alias, so the name is known before the key exists."""
    kms = boto3.client("kms")
    aliases = {}
    for key, spec in KEYS.items():
        key_id = kms.create_key(Description=spec.description)["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key_id)
        aliases[key] = key_alias(key)
        kms.create_alias(AliasName=aliases[key], TargetKeyId=key_id)
    return aliases


def key_alias(key: str) -> str:
    return f"alias/{key}"


def create_buckets() -> dict[str, str]:
    """Each spec bucket, private and encrypted, with its lifecycle rule (moto keeps the rule; it
    does not run it)."""
    s3 = boto3.client("s3")
    for key, spec in BUCKETS.items():
        s3.create_bucket(Bucket=key, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
        s3.put_public_access_block(
            Bucket=key,
            PublicAccessBlockConfiguration={
                name: True
                for name in (
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                )
            },
        )
        s3.put_bucket_encryption(
            Bucket=key,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=key,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "expire",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Expiration": {"Days": spec.expire_days},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": spec.expire_days},
                    }
                ]
            },
        )
    return {key: key for key in BUCKETS}


def create_queues() -> dict[str, ProvisionedQueue]:
    """Each spec queue with its dead-letter queue, redriven after the spec's maxReceiveCount."""
    sqs = boto3.client("sqs")
    queues: dict[str, ProvisionedQueue] = {}
    for key, spec in QUEUES.items():
        dlq_url, dlq_arn = _create_queue(sqs, f"{key}-dlq", _dlq_attributes())
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
        url, arn = _create_queue(
            sqs,
            key,
            {
                "VisibilityTimeout": str(LOCAL_VISIBILITY_TIMEOUT_SECONDS),
                "RedrivePolicy": json.dumps(redrive),
            },
        )
        queues[key] = ProvisionedQueue(url=url, arn=arn, dlq_url=dlq_url)
    return queues


def create_schedules_dlq() -> str:
    """Where a schedule's event goes once its retries are spent (EventBridge Scheduler's DLQ)."""
    return _create_queue(boto3.client("sqs"), SCHEDULES_DLQ_NAME, _dlq_attributes())[0]


def _dlq_attributes() -> dict[str, str]:
    return {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}


def _create_queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, found["Attributes"]["QueueArn"]


def create_secrets() -> dict[str, str]:
    """Each spec secret with its local value (sandbox credentials only)."""
    secretsmanager = boto3.client("secretsmanager")
    for key, spec in SECRETS.items():
        secretsmanager.create_secret(
            Name=key, Description=spec.description, SecretString=json.dumps(spec.local_value)
        )
    return {key: key for key in SECRETS}


def create_user_pool(app_base_url: str | None = None) -> ProvisionedUserPool:
    """The spec's user pool (self sign-up off, the password policy, TOTP offered) and its app client
    (with its OAuth settings when the app's URL is given, as the stack makes it)."""
    cognito = boto3.client("cognito-idp")
    pool_id = cognito.create_user_pool(**create_user_pool_request(USER_POOL_KEY))["UserPool"]["Id"]
    cognito.set_user_pool_mfa_config(**user_pool_mfa_request(pool_id))
    client = cognito.create_user_pool_client(
        **create_user_pool_client_request(pool_id, APP_CLIENT_NAME, app_base_url)
    )
    return ProvisionedUserPool(user_pool_id=pool_id, client_id=client["UserPoolClient"]["ClientId"])


def create_email_sending(sender: str, configuration_set: str) -> None:
    """The verified sender identity and the configuration set the functions send with."""
    ses = boto3.client("sesv2")
    ses.create_email_identity(EmailIdentity=sender)
    ses.create_configuration_set(ConfigurationSetName=configuration_set)
