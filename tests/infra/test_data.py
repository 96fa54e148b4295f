from __future__ import annotations

import pytest

from infra.spec import TABLES
from tests.infra.template_queries import Resources, resource_behind


@pytest.mark.parametrize("key", TABLES)
def test_table_has_the_keys_indexes_and_ttl_of_the_spec(resources: Resources, key: str) -> None:
    spec = TABLES[key]
    table = resources[resource_behind(resources, spec.env)]
    assert table["Type"] == "AWS::DynamoDB::GlobalTable"
    properties = table["Properties"]

    assert properties["KeySchema"] == _key_schema(spec.partition_key, spec.sort_key)
    assert {
        index["IndexName"]: index["KeySchema"] for index in properties.get("GlobalSecondaryIndexes", [])
    } == {gsi.name: _key_schema(gsi.partition_key, gsi.sort_key) for gsi in spec.gsis}
    if spec.ttl_attribute:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:  # the audit log: nothing expires
        assert "TimeToLiveSpecification" not in properties


@pytest.mark.parametrize("key", TABLES)
def test_table_is_on_demand_encrypted_and_recoverable(resources: Resources, key: str) -> None:
    table = resources[resource_behind(resources, TABLES[key].env)]
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert "KMSMasterKeyId" not in str(properties)  # the AWS managed key
    (replica,) = properties["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}

    retained = TABLES[key].retain
    assert replica["DeletionProtectionEnabled"] is retained
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == ("Retain" if retained else "Delete")


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    return schema + ([{"AttributeName": sort_key, "KeyType": "RANGE"}] if sort_key else [])
