"""Lambda packaging without Docker: the CDK's local bundling hands over what infra/packaging.py builds.

One dependencies layer (requirements.txt for Python 3.14 arm64, cached under `.build/`) and one code
asset shared by every function, both with unchecked-hash bytecode of the runtime's version when an
interpreter of that version can be had (infra/runtime_python.py), sources only otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import packaging
from infra.runtime_python import PROJECT_ROOT, RUNTIME_VERSION

# Required by the BundlingOptions API only: local bundling either succeeds or raises, so it is never pulled.
_UNUSED_IMAGE = DockerImage.from_registry(f"public.ecr.aws/sam/build-python{RUNTIME_VERSION}")


def dependencies_layer_code(root: Path = PROJECT_ROOT) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=packaging.layer_cache_key(root),
        bundling=BundlingOptions(image=_UNUSED_IMAGE, local=_DependenciesBundler(root)),
    )


def application_code(root: Path = PROJECT_ROOT) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=packaging.application_content_hash(root),
        bundling=BundlingOptions(image=_UNUSED_IMAGE, local=_ApplicationBundler(root)),
    )


@jsii.implements(ILocalBundling)
class _DependenciesBundler:
    def __init__(self, root: Path) -> None:
        self.root = root

    def try_bundle(self, output_dir: str, _options: BundlingOptions) -> bool:
        shutil.copytree(packaging.dependencies_layer(self.root), output_dir, dirs_exist_ok=True)
        return True


@jsii.implements(ILocalBundling)
class _ApplicationBundler:
    def __init__(self, root: Path) -> None:
        self.root = root

    def try_bundle(self, output_dir: str, _options: BundlingOptions) -> bool:
        packaging.bundle_application(Path(output_dir), self.root)
        return True
