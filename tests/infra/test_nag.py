"""cdk-nag (AwsSolutions): every finding fixed or acknowledged on the one resource it concerns."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Validations

from tests.bars import BarRecorder
from tests.infra.conftest import Synthesized
from tests.infra.template_queries import Resources

MIN_REASON = 60


def unacknowledged(synthesized: Synthesized, severity: str) -> list[str]:
    return [
        f"{violation['ruleName']}: {[c['constructPath'] for c in violation['violatingConstructs']]}"
        for report in synthesized.validation_report["pluginReports"]
        for violation in report["violations"]
        if violation["severity"] == severity
    ]


def stack_level_acknowledgements(synthesized: Synthesized) -> list[str]:
    """Acknowledgements on the app or a stack (they would cover every resource): none allowed."""
    app = synthesized.app
    scopes = [app, *(child for child in app.node.children if isinstance(child, Stack))]
    found = [
        f"{scope.node.path or 'App'} acknowledges {m.data}"
        for scope in scopes
        for m in scope.node.metadata
        if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    if "cdk_nag" in synthesized.template_json.get("Metadata", {}):
        found.append("the template's own Metadata carries cdk_nag suppressions")
    return found


def resource_acknowledgements(resources: Resources) -> list[tuple[str, dict[str, Any]]]:
    """(logical id, rule) for every acknowledgement written to the template (the audit trail)."""
    return [
        (logical_id, rule)
        for logical_id, resource in resources.items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


def test_every_finding_is_fixed_or_acknowledged_on_its_resource(
    synthesized: Synthesized, resources: Resources, bar: BarRecorder
) -> None:
    errors = unacknowledged(synthesized, "error")
    stack_level = stack_level_acknowledgements(synthesized)
    acknowledged = resource_acknowledgements(resources)
    vague = [
        f"{logical_id} {rule['id']}" for logical_id, rule in acknowledged if len(rule["reason"]) < MIN_REASON
    ]
    bar(
        "cdk-nag",
        unacknowledged=len(errors),
        stack_level=len(stack_level),
        acknowledged=len(acknowledged),
        vague_reasons=len(vague),
        warnings=len(unacknowledged(synthesized, "warning")),
    )
    assert errors == []
    assert stack_level == []
    assert acknowledged, "the audit trail of acknowledgements is written to the template"
    assert vague == [], f"acknowledgements need a specific reason (>= {MIN_REASON} characters)"
