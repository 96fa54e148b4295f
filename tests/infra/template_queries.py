"""Navigation in the synthesized template: from `infra/spec.py` names to the resources built for them."""

from __future__ import annotations

from typing import Any

from infra.spec import FUNCTIONS

Resources = dict[str, dict[str, Any]]


def of_type(resources: Resources, resource_type: str) -> Resources:
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == resource_type}


def referenced_ids(value: Any) -> set[str]:
    """Logical ids that a property value points at through Ref or Fn::GetAtt (pseudo parameters aside)."""
    if isinstance(value, dict):
        if "Ref" in value and not value["Ref"].startswith("AWS::"):
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(referenced_ids(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_ids(item) for item in value))
    return set()


def function_id(resources: Resources, name: str) -> str:
    """The Lambda function built for FUNCTIONS[name], recognised by its handler."""
    (logical_id,) = (
        logical_id
        for logical_id, r in of_type(resources, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == FUNCTIONS[name].handler
    )
    return logical_id


def environment(resources: Resources, name: str) -> dict[str, Any]:
    return resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]


def resource_behind(resources: Resources, env_var: str) -> str:
    """The one resource whose name or URL functions receive in `env_var`."""
    referenced = set().union(
        *(
            referenced_ids(r["Properties"]["Environment"]["Variables"][env_var])
            for r in of_type(resources, "AWS::Lambda::Function").values()
            if env_var in r["Properties"]["Environment"]["Variables"]
        )
    )
    assert len(referenced) == 1, f"{env_var} points at {referenced or 'nothing'}"
    return referenced.pop()


def policy_statements(resources: Resources, name: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to the function's role."""
    role_ids = referenced_ids(resources[function_id(resources, name)]["Properties"]["Role"])
    return [
        statement
        for policy in of_type(resources, "AWS::IAM::Policy").values()
        if referenced_ids(policy["Properties"]["Roles"]) & role_ids
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def resources_allowed(statements: list[dict[str, Any]], action: str) -> set[str]:
    """Logical ids of the resources on which the statements allow `action`."""
    return set().union(
        *(
            referenced_ids(s["Resource"])
            for s in statements
            if s["Effect"] == "Allow" and action in actions(s)
        )
    )


def schedules_dead_letter_queue(resources: Resources) -> str:
    """The one dead-letter queue of every schedule."""
    (queue_id,) = set().union(
        *(
            referenced_ids(schedule["Properties"]["Target"]["DeadLetterConfig"])
            for schedule in of_type(resources, "AWS::Scheduler::Schedule").values()
        )
    )
    return queue_id
