"""B2 deployed artifact (issue 8): the bytecode the assets ship stays valid where Lambda unzips them.

The code asset and the dependencies layer are bundled as the CDK bundles them (infra/packaging.py; the
layer for this machine's platform, so that it runs here), every file dated 1980-01-01 as the CDK's zip
dates it, and each handler is imported in fresh processes that cannot write bytecode
(PYTHONDONTWRITEBYTECODE, as a read-only /var/task), interleaved over three copies:

- shipped: the bundle as built, with its unchecked-hash .pyc files, re-dated;
- fresh:   the same sources with ordinary bytecode compiled here, not re-dated (the best case);
- stale:   ordinary bytecode compiled before the zip re-dates the sources: every .pyc is rejected and
           every module compiled again at each init (what shipping ordinary .pyc, or none, costs).

The interpreter is the one the bytecode is for (the runtime's version, infra/runtime_python.py). The
runtime's own boto3/botocore are installed for it beside the layer, with valid bytecode in all three.
Without an interpreter of the runtime's version, the same mechanism is measured on the code asset
with this interpreter, and the BAR line says so.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from infra import packaging
from infra.runtime_python import RUNTIME_VERSION, runtime_interpreter
from infra.spec import FUNCTIONS
from tests.conftest import ROOT
from tools.cold_start import Sample, import_code, lambda_environment, measure, median_cpu

RUNS = 7
TARGET = 1.05
ZIP_DATE = datetime(1980, 1, 1).timestamp()  # local time, as zip entries carry it
HOST_PLATFORM = f"manylinux2014_{platform.machine()}"
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, check_source off


@dataclass(frozen=True)
class Copy:
    task: Path
    path: tuple[Path, ...]  # sys.path after the task root, as Lambda orders it: layer, runtime


@dataclass(frozen=True)
class Setup:
    python: str
    version: str
    scope: str
    copies: dict[str, Copy]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    base = tmp_path_factory.mktemp("artifact")
    runtime_python = runtime_interpreter()
    python = runtime_python or sys.executable
    version = _version(python)
    shipped_task = base / "shipped" / "task"
    packaging.bundle_application(shipped_task)
    if runtime_python is not None:
        layer = base / "shipped" / "layer"
        shutil.copytree(packaging.dependencies_layer(platform=HOST_PLATFORM), layer)
        shipped_path: tuple[Path, ...] = (layer / "python",)
        runtime = _runtime_packages(python, version)
        scope = "code+layer"
    else:  # measure the mechanism on our code with this interpreter (its own site-packages)
        _compile(python, [shipped_task], "unchecked-hash")
        shipped_path, runtime = (), None
        scope = f"code_only_no_python{RUNTIME_VERSION}"
    shipped_sources = [shipped_task, *shipped_path]
    _assert_all_unchecked_hash(shipped_sources, _magic(python))
    copies = {"shipped": Copy(shipped_task, (*shipped_path, *([runtime] if runtime else [])))}
    for variant in ("fresh", "stale"):
        copied = [shutil.copytree(source, base / variant / source.name) for source in shipped_sources]
        for directory in copied:
            _remove_bytecode(directory)
        _compile(python, copied, "timestamp")
        copies[variant] = Copy(copied[0], (*copied[1:], *([runtime] if runtime else [])))
    for directory in (*shipped_sources, *(base / "stale").iterdir()):
        _date_as_zip(directory)
    return Setup(python, version, scope, copies)


def test_b2_shipped_bytecode_is_as_fast_as_fresh_bytecode(setup: Setup, bar) -> None:
    medians: dict[str, dict[str, float]] = {variant: {} for variant in setup.copies}
    for name in FUNCTIONS:
        samples: dict[str, list[Sample]] = {variant: [] for variant in setup.copies}
        for _ in range(RUNS):  # interleaved: machine load touches every variant alike
            for variant, copy in setup.copies.items():
                env = lambda_environment(name, copy.task, (copy.task, *copy.path))
                env["PYTHONDONTWRITEBYTECODE"] = "1"
                samples[variant].append(measure(setup.python, import_code(name), env, copy.task))
        for variant in setup.copies:
            medians[variant][name] = median_cpu(samples[variant])

    total = {variant: sum(by_name.values()) for variant, by_name in medians.items()}
    per_handler = {name: medians["shipped"][name] / medians["fresh"][name] for name in FUNCTIONS}
    worst = max(per_handler, key=per_handler.__getitem__)
    shipped_vs_fresh = total["shipped"] / total["fresh"]
    line = bar(
        "B2 deployed artifact",
        python=setup.version,
        scope=setup.scope,
        handlers=len(FUNCTIONS),
        runs=RUNS,
        shipped_vs_fresh=shipped_vs_fresh,
        target=TARGET,
        worst_handler=worst,
        worst_ratio=per_handler[worst],
        stale_vs_fresh=total["stale"] / total["fresh"],
        fresh_ms_per_handler=total["fresh"] * 1000 / len(FUNCTIONS),
        shipped_ms_per_handler=total["shipped"] * 1000 / len(FUNCTIONS),
        stale_ms_per_handler=total["stale"] * 1000 / len(FUNCTIONS),
    )
    assert shipped_vs_fresh <= TARGET, line


def _runtime_packages(python: str, version: str) -> Path:
    """What the Lambda runtime provides (boto3, botocore, ...) for `python`, at the versions we test with."""
    names = packaging.RUNTIME_PROVIDED_DISTRIBUTIONS
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in names]
    key = hashlib.sha256(" ".join([version, HOST_PLATFORM, *pins]).encode()).hexdigest()[:16]
    cached = ROOT / ".build" / f"bench-runtime-{key}"
    if not cached.is_dir():
        partial = cached.with_name(cached.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        target = packaging.pip_target(HOST_PLATFORM)
        subprocess.run(
            [sys.executable, *packaging.PIP_INSTALL, *target, "--no-deps", "--target", str(partial), *pins],
            check=True,
        )
        _compile(python, [partial], "timestamp")
        partial.rename(cached)
    return cached


def _magic(python: str) -> bytes:
    command = [python, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"]
    return bytes.fromhex(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip())


def _version(python: str) -> str:
    command = [python, "-c", "import platform; print(platform.python_version())"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def _compile(python: str, directories: list[Path], mode: str) -> None:
    command = [python, "-m", "compileall", "-q", "--invalidation-mode", mode, *map(str, directories)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def _remove_bytecode(directory: Path) -> None:
    for cache in list(directory.rglob("__pycache__")):
        shutil.rmtree(cache)


def _date_as_zip(directory: Path) -> None:
    for path in (directory, *directory.rglob("*")):
        os.utime(path, (ZIP_DATE, ZIP_DATE), follow_symlinks=False)


def _files(directories: list[Path], pattern: str) -> Iterator[Path]:
    for directory in directories:
        yield from directory.rglob(pattern)


def _assert_all_unchecked_hash(directories: list[Path], magic: bytes) -> None:
    """Every module shipped has its bytecode, and that bytecode is hash-based and never checked."""
    sources = list(_files(directories, "*.py"))
    pycs = list(_files(directories, "*.pyc"))
    headers = {(pyc.read_bytes()[:4], int.from_bytes(pyc.read_bytes()[4:8], "little")) for pyc in pycs}
    assert sources
    assert len(pycs) == len(sources), (len(pycs), len(sources))
    assert headers == {(magic, UNCHECKED_HASH)}, headers  # one Python version, all unchecked
