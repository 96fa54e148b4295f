from __future__ import annotations

import json

from cfnlint.api import lint

from tests.bars import BarRecorder
from tests.infra.conftest import Synthesized

REGION = "eu-west-2"


def test_template_has_no_cfn_lint_errors(synthesized: Synthesized, bar: BarRecorder) -> None:
    matches = lint(json.dumps(synthesized.template_json), regions=[REGION])
    found = {
        kind: [
            f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.id[0] == kind
        ]
        for kind in ("E", "W", "I")
    }
    bar("cfn-lint", errors=len(found["E"]), warnings=len(found["W"]), informational=len(found["I"]))
    assert found["E"] == []
