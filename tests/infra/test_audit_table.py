"""The audit table in the synthesized template (issue 17 item 3): nobody may change or remove an event.
Every IAM policy of the stack is read, not only the functions': no statement allows an action that
updates or deletes items on the audit table or its indexes, and exactly the functions the spec grants
"append" (or another writing access) may PutItem there."""

from __future__ import annotations

from fnmatch import fnmatchcase

from infra.spec import FUNCTIONS, TABLES
from tests.infra.template_queries import (
    Resources,
    actions,
    function_id,
    of_type,
    referenced_ids,
    resource_behind,
)

AUDIT = "audit"
# What would let a role alter the log: change or delete an item, one by one, in batches or in PartiQL.
CHANGING = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:ImportTable",
)


def _allows(statement: dict, action: str) -> bool:
    return statement["Effect"] == "Allow" and any(fnmatchcase(action, a) for a in actions(statement))


def _roles_allowed(resources: Resources, table: str, action: str) -> set[str]:
    """The roles (logical ids) whose policies allow `action` on the table or its indexes."""
    return {
        role
        for policy in of_type(resources, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if _allows(statement, action)
        and (table in referenced_ids(statement["Resource"]) or "*" in _listed(statement["Resource"]))
        for role in referenced_ids(policy["Properties"].get("Roles", []))
    }


def _listed(resource: object) -> list[object]:
    return resource if isinstance(resource, list) else [resource]


def _role_of(resources: Resources, name: str) -> str:
    (role,) = referenced_ids(resources[function_id(resources, name)]["Properties"]["Role"])
    return role


def test_no_role_may_update_or_delete_audit_events(resources: Resources) -> None:
    table = resource_behind(resources, TABLES[AUDIT].env)
    for action in CHANGING:
        assert _roles_allowed(resources, table, action) == set(), action


def test_who_may_put_audit_events_is_who_the_spec_grants_append(resources: Resources) -> None:
    table = resource_behind(resources, TABLES[AUDIT].env)
    writers = {
        name
        for name, spec in FUNCTIONS.items()
        for grant in spec.grants
        if grant.resource == AUDIT and grant.access in ("append", "write", "read_write")
    }
    assert writers, "some function writes the audit log"
    assert all(
        g.access in ("append", "read") for s in FUNCTIONS.values() for g in s.grants if g.resource == AUDIT
    )
    assert _roles_allowed(resources, table, "dynamodb:PutItem") == {_role_of(resources, n) for n in writers}
    readers = {
        n for n, s in FUNCTIONS.items() if any(g.resource == AUDIT and g.access == "read" for g in s.grants)
    }
    # appenders read the chain's tip on the table itself; only readers list through its indexes
    assert _roles_allowed(resources, table, "dynamodb:Query") == {
        _role_of(resources, n) for n in writers | readers
    }
    print(f"audit table PutItem: {', '.join(sorted(writers))}")


def test_the_audit_table_is_kept_and_never_expires(resources: Resources) -> None:
    properties = resources[resource_behind(resources, TABLES[AUDIT].env)]
    assert properties["DeletionPolicy"] == "Retain"
    (replica,) = properties["Properties"]["Replicas"]
    assert replica["DeletionProtectionEnabled"] is True
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "TimeToLiveSpecification" not in properties["Properties"]
