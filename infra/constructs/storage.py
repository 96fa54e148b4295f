"""Private S3 buckets, one per `spec.BUCKETS` entry (the CSV exports)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge
from infra.naming import pascal_case
from infra.spec import BUCKETS, BucketSpec


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.buckets = {key: self._bucket(pascal_case(key), spec) for key, spec in BUCKETS.items()}

    def _bucket(self, construct_id: str, spec: BucketSpec) -> s3.Bucket:
        lifetime = Duration.days(spec.expire_days)
        # Objects live a day: an emptied bucket goes with the stack (one not yet emptied stops the
        # deletion until its objects expire, docs/deploy.md).
        bucket = private_bucket(
            self,
            construct_id,
            s3.LifecycleRule(
                id="expire", expiration=lifetime, abort_incomplete_multipart_upload_after=lifetime
            ),
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "Short-lived export files only (deleted after a day): who requested, completed and downloaded "
            "each export is in the application's audit log (R-PRIV-4), and the objects are reached only "
            "through presigned GETs the API issues; server access logs would add a second bucket of logs "
            "holding the same facts.",
        )
        return bucket


def private_bucket(scope: Construct, construct_id: str, lifecycle_rule: s3.LifecycleRule) -> s3.Bucket:
    """A bucket of the stack: public access blocked, S3-managed encryption, TLS only, no ACLs, no
    versions, deleted with the stack once empty."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=False,
        lifecycle_rules=[lifecycle_rule],
        removal_policy=RemovalPolicy.DESTROY,
    )
