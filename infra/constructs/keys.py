"""Customer-managed KMS keys, one per `spec.KEYS` entry (the one that seals provider credentials)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.naming import pascal_case
from infra.spec import KEYS


class Keys(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Retained like the data table whose items hold what they sealed: deleting a key would make
        # every sealed credential unreadable. Yearly automatic rotation keeps old ciphertexts readable.
        # The key policy is CDK's default (the account administers the key through IAM); only the
        # function roles the spec grants may use it, each for Encrypt or Decrypt alone.
        self.keys: dict[str, kms.Key] = {
            key: kms.Key(
                self,
                pascal_case(key),
                description=spec.description,
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for key, spec in KEYS.items()
        }
