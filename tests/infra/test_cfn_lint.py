from __future__ import annotations

import json

from cfnlint.api import lint

from tests.infra.conftest import Synthesized

REGION = "eu-west-2"


def test_template_has_no_cfn_lint_errors(synthesized: Synthesized) -> None:
    matches = lint(json.dumps(synthesized.template_json), regions=[REGION])
    errors = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id.startswith("E")
    ]
    assert errors == []
