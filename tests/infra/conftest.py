"""The CDK app synthesized once per session, in-process, as `npx cdk synth` builds it but without bundling."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.config import StageConfig
from tests.infra.template_queries import Resources

if TYPE_CHECKING:
    from aws_cdk import App
    from aws_cdk.assertions import Template

ROOT = Path(__file__).resolve().parents[2]
# A stand-in for the console's build (web/dist): the synth needs no Node build of web/.
WEB_DIST_FIXTURE = Path(__file__).parent / "fixtures" / "web_dist"


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context, with the console's build taken from the fixture."""
    context = dict(json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"])
    return {**context, "web_dist": str(WEB_DIST_FIXTURE)}


def stage_config(**context: Any) -> StageConfig:
    """The settings read from these context values (with a sender, the one required value)."""
    values = {"email_sender": "no-reply@example.com", **context}

    class Node:
        def try_get_context(self, key: str) -> Any:
            return values.get(key)

    return StageConfig.from_context(Node())  # type: ignore[arg-type]


def start_jsii_quietly() -> None:
    """Silence the jsii runtime's Node version banners; effective only before its first import."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@dataclass(frozen=True)
class Synthesized:
    app: App
    outdir: Path
    template_json: dict[str, Any]

    @property
    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    start_jsii_quietly()
    from infra.stack import create_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    # An empty bundling-stacks list skips all asset bundling: no pip install, no copies.
    app = create_app({**cdk_json_context(), "aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    try:
        assembly = app.synth()
    except RuntimeError as error:  # cdk-nag findings stop the synth, as they stop `npx cdk synth`
        report = outdir / "validation-report.json"
        pytest.fail(f"{error}\n{report.read_text() if report.exists() else ''}", pytrace=False)
    (stack,) = assembly.stacks
    return Synthesized(app=app, outdir=outdir, template_json=stack.template)


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    from aws_cdk.assertions import Template

    return Template.from_json(synthesized.template_json)


@pytest.fixture(scope="session")
def resources(synthesized: Synthesized) -> Resources:
    return synthesized.template_json["Resources"]
