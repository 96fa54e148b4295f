"""Lambda packaging by local bundling (infra/bundling.py): no Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.conftest import Synthesized, cdk_json_context, start_jsii_quietly
from tests.infra.template_queries import Resources, of_type


def test_the_session_synth_skips_bundling(synthesized: Synthesized) -> None:
    assert list(synthesized.outdir.glob("asset.*")) == []


@pytest.mark.slow
def test_bundling_builds_an_arm64_layer_and_a_code_asset_without_tests(tmp_path: Path) -> None:
    start_jsii_quietly()
    from infra.stack import create_app

    (stack,) = create_app(cdk_json_context(), outdir=str(tmp_path)).synth().stacks
    resources: Resources = stack.template["Resources"]

    (layer,) = of_type(resources, "AWS::Lambda::LayerVersion").values()
    site = _asset_dir(tmp_path, layer["Properties"]["Content"]["S3Key"]) / "python"
    assert list((site / "pydantic_core").glob("*aarch64*.so"))
    assert not (site / "boto3").exists()
    assert not (site / "botocore").exists()  # the runtime's own, matching its boto3

    (code_key,) = {
        f["Properties"]["Code"]["S3Key"] for f in of_type(resources, "AWS::Lambda::Function").values()
    }
    code = _asset_dir(tmp_path, code_key)
    assert {path.name for path in code.iterdir()} == {"functions", "shared"}
    shipped = [path.relative_to(code) for path in code.rglob("*")]
    assert not [path for path in shipped if "tests" in path.parts or path.name.startswith("test_")]
    # Bytecode only if written by a 3.14 interpreter, for the 3.14 runtime.
    assert all(".cpython-314." in path.name for path in shipped if path.suffix == ".pyc")


def _asset_dir(outdir: Path, s3_key: str) -> Path:
    return outdir / f"asset.{s3_key.removesuffix('.zip')}"
