"""DynamoDB tables, one per `spec.TABLES` entry."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.naming import pascal_case
from infra.spec import TABLES, TableSpec


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables = {key: self._table(pascal_case(key), spec) for key, spec in TABLES.items()}

    def _table(self, construct_id: str, spec: TableSpec) -> dynamodb.TableV2:
        return dynamodb.TableV2(
            self,
            construct_id,
            partition_key=_string_key(spec.partition_key),
            sort_key=_string_key(spec.sort_key) if spec.sort_key else None,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=gsi.name,
                    partition_key=_string_key(gsi.partition_key),
                    sort_key=_string_key(gsi.sort_key),
                )
                for gsi in spec.gsis
            ],
            time_to_live_attribute=spec.ttl_attribute,
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=spec.retain,
            removal_policy=RemovalPolicy.RETAIN if spec.retain else RemovalPolicy.DESTROY,
        )


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)
