"""The exports bucket (issue 16 item 8) as `infra/spec.py` BUCKETS declares it: private, encrypted,
TLS only, objects and unfinished uploads gone after the declared days."""

from __future__ import annotations

from typing import Any

import pytest

from infra.spec import BUCKETS
from tests.infra.template_queries import Resources, of_type, referenced_ids, resource_behind


def _bucket(resources: Resources, key: str) -> tuple[str, dict[str, Any]]:
    bucket_id = resource_behind(resources, BUCKETS[key].env)
    return bucket_id, resources[bucket_id]["Properties"]


@pytest.mark.parametrize("key", BUCKETS)
def test_bucket_is_private_and_encrypted(resources: Resources, key: str) -> None:
    _, bucket = _bucket(resources, key)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


@pytest.mark.parametrize("key", BUCKETS)
def test_bucket_objects_and_unfinished_uploads_expire(resources: Resources, key: str) -> None:
    _, bucket = _bucket(resources, key)
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    days = BUCKETS[key].expire_days
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", days)
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": days}


@pytest.mark.parametrize("key", BUCKETS)
def test_bucket_refuses_requests_without_tls(resources: Resources, key: str) -> None:
    bucket_id, _ = _bucket(resources, key)
    (policy,) = [
        p
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if referenced_ids(p["Properties"]["Bucket"]) == {bucket_id}
    ]
    assert any(
        statement["Effect"] == "Deny"
        and statement["Principal"] == {"AWS": "*"}
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    )
