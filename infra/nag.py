"""cdk-nag acknowledgements: each on the one construct it concerns, with the reason it is safe."""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def wildcard_finding(resource: IConstruct, arn_suffix: str) -> str:
    """The AwsSolutions-IAM5 finding id for `<resource ARN><arn_suffix>`, e.g. a table's `/index/*`."""
    cfn_resource = cast(CfnResource, resource.node.default_child)
    logical_id = Stack.of(resource).resolve(cfn_resource.logical_id)
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>{arn_suffix}]"
