"""Lambda packaging by local bundling (infra/bundling.py): no Docker."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import packaging
from infra.runtime_python import RUNTIME_VERSION, runtime_interpreter
from infra.spec import FUNCTIONS
from tests.infra.conftest import Synthesized, cdk_json_context, start_jsii_quietly
from tests.infra.template_queries import Resources, of_type


def _ours(resources: Resources) -> tuple[dict[str, Any], set[str]]:
    """The dependencies layer and the code keys of the `spec.FUNCTIONS` functions (the web console's
    deployment brings the CDK's own function and AWS CLI layer besides)."""
    handlers = {spec.handler for spec in FUNCTIONS.values()}
    functions = [
        f
        for f in of_type(resources, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] in handlers
    ]
    (layer,) = (
        layer
        for layer_id, layer in of_type(resources, "AWS::Lambda::LayerVersion").items()
        if any({"Ref": layer_id} in f["Properties"]["Layers"] for f in functions)
    )
    return layer, {f["Properties"]["Code"]["S3Key"] for f in functions}


def test_the_session_synth_skips_bundling(synthesized: Synthesized, resources: Resources) -> None:
    layer, code_keys = _ours(resources)
    keys = {layer["Properties"]["Content"]["S3Key"], *code_keys}
    assert keys
    assert [
        _asset_dir(synthesized.outdir, key) for key in keys if _asset_dir(synthesized.outdir, key).exists()
    ] == []


@pytest.mark.slow
def test_bundling_builds_an_arm64_layer_and_a_code_asset_without_tests(tmp_path: Path) -> None:
    start_jsii_quietly()
    from infra.stack import create_app

    (stack,) = create_app(cdk_json_context(), outdir=str(tmp_path)).synth().stacks
    resources: Resources = stack.template["Resources"]

    layer, code_keys = _ours(resources)
    site = _asset_dir(tmp_path, layer["Properties"]["Content"]["S3Key"]) / "python"
    assert list((site / "pydantic_core").glob("*aarch64*.so"))
    assert not (site / "boto3").exists()
    assert not (site / "botocore").exists()  # the runtime's own, matching its boto3

    (code_key,) = code_keys
    code = _asset_dir(tmp_path, code_key)
    assert {path.name for path in code.iterdir()} == {"functions", "shared"}
    shipped = [path.relative_to(code) for path in code.rglob("*")]
    assert not [path for path in shipped if "tests" in path.parts or path.name.startswith("test_")]
    # Bytecode only if written by a 3.14 interpreter, for the 3.14 runtime: then every module of both
    # assets has it, hash-based and unchecked, so it stays valid in a zip dated 1980.
    assert all(".cpython-314." in path.name for path in shipped if path.suffix == ".pyc")
    interpreter = runtime_interpreter()
    for asset in (code, site):
        sources, headers = _bytecode(asset)
        if interpreter is None:
            assert headers == {}
        else:
            assert set(headers) == sources
            assert set(headers.values()) == {(_magic(interpreter), UNCHECKED_HASH)}


def test_the_runtime_interpreter_is_of_the_runtime_version_or_absent() -> None:
    interpreter = runtime_interpreter()
    if interpreter is not None:
        command = [interpreter, "-c", "import sys; print(sys.version_info[:2])"]
        version = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
        assert version == str(tuple(int(part) for part in RUNTIME_VERSION.split(".")))
    assert packaging.bytecode_tag() == (
        "sources-only" if interpreter is None else "unchecked-hash-bytecode-3.14"
    )


def _bytecode(asset: Path) -> tuple[set[Path], dict[Path, tuple[bytes, int]]]:
    """The asset's modules, and for each module that has bytecode: its magic number and PEP 552 flags."""
    sources = {path.with_suffix("") for path in asset.rglob("*.py")}
    headers = {}
    for pyc in asset.rglob("__pycache__/*.pyc"):
        header = pyc.read_bytes()[:8]
        headers[pyc.parent.parent / pyc.name.split(".")[0]] = (
            header[:4],
            int.from_bytes(header[4:], "little"),
        )
    return sources, headers


def _magic(interpreter: str) -> bytes:
    command = [interpreter, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"]
    return bytes.fromhex(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip())


UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source never checked


def _asset_dir(outdir: Path, s3_key: str) -> Path:
    return outdir / f"asset.{s3_key.removesuffix('.zip')}"
