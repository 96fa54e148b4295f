"""Secrets Manager secrets, one per `spec.SECRETS` entry. The value is set after deployment."""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge
from infra.naming import pascal_case
from infra.spec import SECRETS


class Secrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for key, spec in SECRETS.items():
            # No value in code: Secrets Manager generates a random placeholder until an operator
            # puts the real credentials (docs/deploy.md).
            secret = secretsmanager.Secret(self, pascal_case(key), description=spec.description)
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "Third-party API credentials, issued and revoked in the provider's portal: no rotation "
                "Lambda can create new ones, so operators rotate them there and put the new value.",
            )
            self.secrets[key] = secret
