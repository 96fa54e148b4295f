"""The local resources and environment come from infra/spec.py, and the function host
invokes handlers as Lambda does."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from infra.spec import (
    BUCKETS,
    COMMON_ENV,
    FUNCTIONS,
    QUEUES,
    SECRETS,
    TABLES,
    FunctionSpec,
    function_environment,
)
from local import environment
from local.environment import EMAIL_SENDER, SES_CONFIGURATION_SET, handler_environment
from local.functions import Functions
from local.provision import LOCAL_VISIBILITY_TIMEOUT_SECONDS, create_user_pool, provision


@pytest.fixture
def resources():
    with mock_aws():
        yield provision(EMAIL_SENDER, SES_CONFIGURATION_SET)


def test_tables_have_the_spec_keys_indexes_and_ttl(resources):
    dynamodb = boto3.client("dynamodb")
    for key, spec in TABLES.items():
        table = dynamodb.describe_table(TableName=resources.tables[key])["Table"]
        assert [k["AttributeName"] for k in table["KeySchema"]] == [
            name for name in (spec.partition_key, spec.sort_key) if name
        ]
        indexes = {
            i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
            for i in table.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == {gsi.name: [gsi.partition_key, gsi.sort_key] for gsi in spec.gsis}
        ttl = dynamodb.describe_time_to_live(TableName=resources.tables[key])["TimeToLiveDescription"]
        if spec.ttl_attribute:
            assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", spec.ttl_attribute)
        else:  # the audit log: nothing expires
            assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_queues_redrive_to_their_dead_letter_queue_after_the_spec_count(resources):
    sqs = boto3.client("sqs")
    for key, spec in QUEUES.items():
        queue = resources.queues[key]
        attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=queue.dlq_url, AttributeNames=["QueueArn"])["Attributes"]
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": dlq_arn["QueueArn"],
            "maxReceiveCount": spec.max_receive_count,
        }
        assert attributes["VisibilityTimeout"] == str(LOCAL_VISIBILITY_TIMEOUT_SECONDS)
    assert sqs.get_queue_attributes(QueueUrl=resources.schedules_dlq_url, AttributeNames=["All"])


def test_buckets_are_private_encrypted_and_expire_as_declared(resources):
    s3 = boto3.client("s3")
    for key, spec in BUCKETS.items():
        name = resources.buckets[key]
        assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
        (encryption,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        assert rule["Expiration"] == {"Days": spec.expire_days}
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": spec.expire_days}
    assert resources.resolve()["export-files"] == "export-files"


def test_secrets_hold_their_local_value(resources):
    secretsmanager = boto3.client("secretsmanager")
    for key, spec in SECRETS.items():
        value = secretsmanager.get_secret_value(SecretId=resources.secrets[key])["SecretString"]
        assert json.loads(value) == spec.local_value


def test_the_sender_is_verified_and_the_configuration_set_exists(resources):
    ses = boto3.client("sesv2")
    # moto reports VerifiedForSendingStatus False whatever happens, but sends only from a verified identity.
    assert ses.get_email_identity(EmailIdentity=EMAIL_SENDER)["VerificationStatus"] == "SUCCESS"
    assert ses.get_configuration_set(ConfigurationSetName=SES_CONFIGURATION_SET)


def test_the_app_client_has_the_apps_oauth_settings_when_the_app_url_is_given():
    """Issue 18: the hosted pages' stand-in reads the callback and sign-out URLs from the pool, as
    the stack sets them (infra/spec_user_pool.py); without the app's URL the client has none."""
    app = "http://127.0.0.1:3000/app"
    with mock_aws():
        configured = provision(EMAIL_SENDER, SES_CONFIGURATION_SET, app).user_pool
        plain = create_user_pool()
        cognito = boto3.client("cognito-idp")
        client = cognito.describe_user_pool_client(
            UserPoolId=configured.user_pool_id, ClientId=configured.client_id
        )["UserPoolClient"]
        bare = cognito.describe_user_pool_client(UserPoolId=plain.user_pool_id, ClientId=plain.client_id)
    assert client["CallbackURLs"] == [f"{app}/auth/callback"]
    assert client["LogoutURLs"] == [f"{app}/auth/signed-out"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert "CallbackURLs" not in bare["UserPoolClient"]


def test_the_handler_environment_covers_every_function_and_common_name(resources):
    env = handler_environment(resources.resolve(), "http://127.0.0.1:3000")
    for name in FUNCTIONS:
        for variable, value in function_environment(name, resources.resolve()).items():
            if variable in environment.PER_FUNCTION_ONLY:
                assert variable not in env  # one function's own: not every function's in one process
            elif variable != "POWERTOOLS_SERVICE_NAME":
                assert env[variable] == value
    assert set(COMMON_ENV) <= env.keys()
    assert env["GOCARDLESS_BASE_URL"] == "http://127.0.0.1:3000/sandbox/gocardless"
    assert env["IMPORT_QUEUE_URL"] == resources.queues["imports"].url


def test_a_common_name_without_a_local_value_stops_the_start(monkeypatch):
    monkeypatch.setattr(environment, "COMMON_ENV", (*COMMON_ENV, "NEW_SETTING"))
    with pytest.raises(RuntimeError, match="NEW_SETTING"):
        environment.common_environment("http://127.0.0.1:3000")


SPEC = FunctionSpec(handler="x.y", description="", service="s", timeout_seconds=7, memory_mb=256)


def test_handlers_get_a_lambda_context_and_json_copies_of_event_and_result():
    seen = {}
    result = {"items": (1, 2)}

    def handler(event, context):
        seen.update(event=event, context=context)
        return result

    event = {"a": [1]}
    assert Functions({"worker": handler}, {"worker": SPEC}).invoke("worker", event) == {"items": [1, 2]}
    assert seen["event"] == event and seen["event"] is not event
    context = seen["context"]
    assert context.function_name == "worker" and context.memory_limit_in_mb == 256
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-2:123456789012:function:worker"
    assert context.log_group_name == "/aws/lambda/worker" and context.function_version == "$LATEST"
    assert context.aws_request_id and context.log_stream_name
    assert 0 < context.get_remaining_time_in_millis() <= 7000


def test_a_result_lambda_could_not_serialise_is_an_error():
    functions = Functions({"worker": lambda event, context: {"when": object()}}, {"worker": SPEC})
    with pytest.raises(TypeError):
        functions.invoke("worker", {})
