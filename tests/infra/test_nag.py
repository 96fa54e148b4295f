"""cdk-nag (AwsSolutions): every finding fixed or acknowledged on the one resource it concerns."""

from __future__ import annotations

from aws_cdk import Stack, Validations

from tests.infra.conftest import Synthesized
from tests.infra.template_queries import Resources


def test_no_unacknowledged_errors(synthesized: Synthesized) -> None:
    violations = [
        f"{violation['ruleName']}: {[c['constructPath'] for c in violation['violatingConstructs']]}"
        for report in synthesized.validation_report["pluginReports"]
        for violation in report["violations"]
        if violation["severity"] == "error"
    ]
    assert violations == []


def test_nothing_is_acknowledged_for_the_whole_app_or_stack(synthesized: Synthesized) -> None:
    app = synthesized.app
    scopes = [app, *(child for child in app.node.children if isinstance(child, Stack))]
    for scope in scopes:
        acknowledged = [
            m for m in scope.node.metadata if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        ]
        assert acknowledged == [], f"{scope.node.path or 'App'} acknowledges {acknowledged}"
    assert "cdk_nag" not in synthesized.template_json.get("Metadata", {})


def test_every_acknowledgement_gives_a_specific_reason(resources: Resources) -> None:
    acknowledgements = [
        (logical_id, rule)
        for logical_id, resource in resources.items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert acknowledgements, "the audit trail of acknowledgements is written to the template"
    for logical_id, rule in acknowledgements:
        assert len(rule["reason"]) >= 60, f"{logical_id} {rule['id']}: reason too short"
