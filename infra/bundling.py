"""Lambda packaging without Docker: one dependencies layer and one code asset shared by every function.

The layer is `pip install --platform manylinux2014_aarch64 --python-version 3.14` of requirements.txt,
cached under `.build/` by a hash of its inputs, so later synths copy it instead of reinstalling. The
code asset is the `shared/` and `functions/` packages without tests or bytecode of the dev interpreter.

Lambda zips are dated 1980, so timestamp-checked .pyc files are never valid there. When an interpreter
of the runtime's version is installed, both assets get `unchecked-hash` bytecode; otherwise they ship
sources only (a 3.11 .pyc has the wrong magic number for the 3.14 runtime and would be ignored).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_VERSION = "3.14"
PIP_INSTALL = ["-m", "pip", "install", "--no-compile", "--quiet", "--disable-pip-version-check"]
PIP_TARGET = [  # the Lambda platform, whatever the machine that synthesizes
    "--platform",
    "manylinux2014_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    RUNTIME_VERSION,
    "--only-binary=:all:",
]
COMPILE_ALL = ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
APPLICATION_PACKAGES = ("shared", "functions")
# The Lambda Python runtime ships boto3 and these; a layer copy (botocore comes in through
# aws-xray-sdk) would shadow the runtime's botocore and pair it with a boto3 of another version.
RUNTIME_PROVIDED_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)
EXCLUDED_NAMES = ("__pycache__", "*.pyc", ".*", "tests", "test_*.py", "*_test.py", "conftest.py")
# Required by the BundlingOptions API only: local bundling either succeeds or raises, so it is never pulled.
_UNUSED_IMAGE = DockerImage.from_registry(f"public.ecr.aws/sam/build-python{RUNTIME_VERSION}")


def dependencies_layer_code(root: Path = PROJECT_ROOT) -> lambda_.Code:
    bundler = _DependenciesBundler(root)
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=bundler.cache_key,
        bundling=BundlingOptions(image=_UNUSED_IMAGE, local=bundler),
    )


def application_code(root: Path = PROJECT_ROOT) -> lambda_.Code:
    bundler = _ApplicationBundler(root)
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=bundler.content_hash(),
        bundling=BundlingOptions(image=_UNUSED_IMAGE, local=bundler),
    )


@jsii.implements(ILocalBundling)
class _DependenciesBundler:
    def __init__(self, root: Path) -> None:
        self.requirements = root / "requirements.txt"
        self.build_dir = root / ".build"
        settings = [*PIP_INSTALL, *PIP_TARGET, *RUNTIME_PROVIDED_DISTRIBUTIONS, _bytecode_tag()]
        self.cache_key = _sha256([self.requirements.read_bytes(), *(item.encode() for item in settings)])[:16]

    def try_bundle(self, output_dir: str, _options: BundlingOptions) -> bool:
        shutil.copytree(self._cached_layer(), output_dir, dirs_exist_ok=True)
        return True

    def _cached_layer(self) -> Path:
        cached = self.build_dir / f"layer-{self.cache_key}"
        if cached.is_dir():
            _log(f"dependencies layer from cache {cached.relative_to(self.build_dir.parent)}")
            return cached
        _log(f"installing {self.requirements.name} for python{RUNTIME_VERSION} arm64 into {cached.name}")
        self.build_dir.mkdir(exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f"{cached.name}.", dir=self.build_dir))
        site = partial / "python"
        command = [sys.executable, *PIP_INSTALL, "-r", str(self.requirements), *PIP_TARGET]
        subprocess.run([*command, "--target", str(site)], check=True)  # noqa: S603 - fixed arguments, no shell
        _remove_distributions(site, RUNTIME_PROVIDED_DISTRIBUTIONS)
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts pointing at the dev interpreter
        _compile(site, runtime_path="/opt/python")
        try:
            partial.rename(cached)
        except OSError:  # another synth finished the same layer first
            shutil.rmtree(partial)
        return cached


@jsii.implements(ILocalBundling)
class _ApplicationBundler:
    def __init__(self, root: Path) -> None:
        self.root = root

    def files(self) -> Iterator[Path]:
        for package in APPLICATION_PACKAGES:
            for path in sorted((self.root / package).rglob("*")):
                relative = path.relative_to(self.root)
                if path.is_file() and not _excluded(relative):
                    yield relative

    def content_hash(self) -> str:
        contents = [
            part for path in self.files() for part in (str(path).encode(), (self.root / path).read_bytes())
        ]
        return _sha256([_bytecode_tag().encode(), *contents])

    def try_bundle(self, output_dir: str, _options: BundlingOptions) -> bool:
        output = Path(output_dir)
        for relative in self.files():
            (output / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.root / relative, output / relative)
        _compile(output, runtime_path="/var/task")
        return True


@cache
def runtime_interpreter() -> str | None:
    """An interpreter of the runtime's version, on PATH or under ~/.pyenv/versions, to write its bytecode."""
    name = f"python{RUNTIME_VERSION}"
    pyenv_builds = sorted(Path.home().glob(f".pyenv/versions/{RUNTIME_VERSION}*/bin/{name}"), reverse=True)
    found = shutil.which(name) or next((str(path) for path in pyenv_builds if os.access(path, os.X_OK)), None)
    if found is None:
        _log(f"{name} not found on PATH or in ~/.pyenv/versions: Lambda assets ship without bytecode")
    return found


def _bytecode_tag() -> str:
    return f"bytecode-{RUNTIME_VERSION}" if runtime_interpreter() else "sources-only"


def _compile(directory: Path, runtime_path: str) -> None:
    """Write unchecked-hash bytecode, with the paths the files will have in the Lambda environment."""
    interpreter = runtime_interpreter()
    if interpreter is not None:
        command = [interpreter, *COMPILE_ALL, "-s", str(directory), "-p", runtime_path, str(directory)]
        subprocess.run(command, check=True)  # noqa: S603 - fixed arguments, no shell


def _excluded(relative: Path) -> bool:
    return any(fnmatch(part, pattern) for part in relative.parts for pattern in EXCLUDED_NAMES)


def _remove_distributions(site: Path, names: tuple[str, ...]) -> None:
    """Delete installed distributions, file by file from their RECORD, then the directories left empty."""
    for name in names:
        for dist_info in site.glob(f"{re.sub(r'[-_.]+', '_', name)}-*.dist-info"):
            for line in (dist_info / "RECORD").read_text(encoding="utf-8").splitlines():
                installed = (site / line.split(",")[0]).resolve()
                if installed.is_relative_to(site.resolve()):
                    installed.unlink(missing_ok=True)
            shutil.rmtree(dist_info, ignore_errors=True)
    for directory in sorted((path for path in site.rglob("*") if path.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def _sha256(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _log(message: str) -> None:
    print(f"bundling: {message}", file=sys.stderr, flush=True)
