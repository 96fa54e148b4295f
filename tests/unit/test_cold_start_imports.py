"""Init is cold-start time: importing a handler must not build AWS clients or load the
aggregator's HTTP stack. Each handler is imported in a fresh interpreter, as Lambda does, with
tracing active as deployed (X-Ray patching must not drag httpx in either)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.spec import FUNCTIONS
from tests.conftest import ROOT

CHECK = """
import sys, importlib
importlib.import_module({module!r})
print(",".join(m for m in ("boto3", "httpx") if m in sys.modules))
"""


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_handler_import_builds_no_aws_client(name):
    module = FUNCTIONS[name].handler.rsplit(".", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": name, "LAMBDA_TASK_ROOT": str(ROOT)},
    )
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()} at init"
