"""What the Lambda assets hold, built without the CDK (infra/bundling.py hands them to it; the
deployed-artifact bench builds them too): one dependencies layer and one code asset shared by every function.

The layer is `pip install --platform manylinux2014_aarch64 --python-version 3.14` of requirements.txt
constrained by requirements.lock, cached under `.build/` by a hash of its inputs, so later builds copy
it instead of reinstalling. The code asset is the `shared/` and `functions/` packages without tests or
bytecode of the dev interpreter.

Lambda zips are dated 1980, so timestamp-checked .pyc files are never valid there and the runtime
cannot write new ones to /var/task or /opt: it would recompile every module at every cold start. Both
assets therefore get `unchecked-hash` bytecode (PEP 552: valid whatever the files' dates), written by
an interpreter of the runtime's version (infra/runtime_python.py; a 3.11 .pyc has the wrong magic
number for the 3.14 runtime and would be ignored). Without one, they ship sources only, and say so.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from fnmatch import fnmatch
from pathlib import Path

from infra.runtime_python import PROJECT_ROOT, RUNTIME_VERSION, runtime_interpreter

LAMBDA_PLATFORM = "manylinux2014_aarch64"  # arm64 functions, whatever the machine that synthesizes
PIP_INSTALL = ["-m", "pip", "install", "--no-compile", "--quiet", "--disable-pip-version-check"]
# One process: the provisioned interpreter runs through its own loader, which compileall's worker
# processes (started from sys.executable) would not.
COMPILE_ALL = ["-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
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


def pip_target(platform: str) -> list[str]:
    return [
        "--platform",
        platform,
        "--implementation",
        "cp",
        "--python-version",
        RUNTIME_VERSION,
        "--only-binary=:all:",
    ]


def bytecode_tag() -> str:
    return f"unchecked-hash-bytecode-{RUNTIME_VERSION}" if runtime_interpreter() else "sources-only"


def layer_cache_key(root: Path = PROJECT_ROOT, platform: str = LAMBDA_PLATFORM) -> str:
    settings = [*PIP_INSTALL, *pip_target(platform), *RUNTIME_PROVIDED_DISTRIBUTIONS, bytecode_tag()]
    requirements = [(root / name).read_bytes() for name in ("requirements.txt", "requirements.lock")]
    return _sha256([*requirements, *(item.encode() for item in settings)])[:16]


def dependencies_layer(root: Path = PROJECT_ROOT, platform: str = LAMBDA_PLATFORM) -> Path:
    """The layer's folder (its `python/` is /opt/python on Lambda), built once per cache key."""
    build_dir = root / ".build"
    cache_key = layer_cache_key(root, platform)
    cached = build_dir / f"layer-{cache_key}"
    if cached.is_dir():
        _log(f"dependencies layer from cache {cached.relative_to(root)}")
        return cached
    _log(f"installing requirements.txt for python{RUNTIME_VERSION} {platform} into {cached.name}")
    build_dir.mkdir(exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{cached.name}.", dir=build_dir))
    site = partial / "python"
    # The lock pins the indirect dependencies too: the layer holds the versions the tests ran with.
    requirements = ["-r", str(root / "requirements.txt"), "-c", str(root / "requirements.lock")]
    command = [sys.executable, *PIP_INSTALL, *requirements, *pip_target(platform)]
    subprocess.run([*command, "--target", str(site)], check=True)  # noqa: S603 - fixed arguments, no shell
    _remove_distributions(site, RUNTIME_PROVIDED_DISTRIBUTIONS)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts pointing at the dev interpreter
    compile_bytecode(site, runtime_path="/opt/python")
    try:
        partial.rename(cached)
    except OSError:  # another build finished the same layer first
        shutil.rmtree(partial)
    return cached


def application_files(root: Path = PROJECT_ROOT) -> Iterator[Path]:
    for package in APPLICATION_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not _excluded(relative):
                yield relative


def application_content_hash(root: Path = PROJECT_ROOT) -> str:
    contents = [
        part for path in application_files(root) for part in (str(path).encode(), (root / path).read_bytes())
    ]
    return _sha256([bytecode_tag().encode(), *contents])


def bundle_application(output: Path, root: Path = PROJECT_ROOT) -> None:
    """The code asset (/var/task on Lambda): the application packages and their bytecode."""
    for relative in application_files(root):
        (output / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, output / relative)
    compile_bytecode(output, runtime_path="/var/task")


def compile_bytecode(directory: Path, runtime_path: str) -> None:
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
