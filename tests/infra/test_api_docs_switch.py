"""Issue 17 item 10: /docs and /openapi.json can be switched off per stage (CDK context `api_docs`), off
by default in `prod`. Off, the routes are not deployed at all: API Gateway answers 404."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import ROUTES
from tests.infra.conftest import cdk_json_context, stage_config, start_jsii_quietly
from tests.infra.template_queries import Resources, of_type

DOCS = {f"{r.method} {r.path}" for r in ROUTES if r.docs}
OTHERS = {f"{r.method} {r.path}" for r in ROUTES if not r.docs}


def route_keys(resources: Resources) -> set[str]:
    return {r["Properties"]["RouteKey"] for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()}


@pytest.mark.parametrize(
    ("context", "on"),
    [
        ({}, True),  # dev
        ({"stage": "staging"}, True),
        ({"stage": "prod"}, False),
        ({"stage": "prod", "api_docs": True}, True),
        ({"stage": "prod", "api_docs": "true"}, True),  # as `-c api_docs=true` gives it
        ({"stage": "dev", "api_docs": False}, False),
        ({"stage": "dev", "api_docs": "FALSE"}, False),
    ],
)
def test_the_docs_are_on_except_in_prod_unless_the_context_says(context, on):
    assert stage_config(**context).api_docs is on


@pytest.mark.parametrize("value", ["no", "0", "yes please"])
def test_a_switch_that_is_neither_true_nor_false_stops_the_synth(value):
    with pytest.raises(ValueError, match="api_docs"):
        stage_config(api_docs=value)


def test_the_spec_marks_exactly_the_documentation_routes():
    documentation = {"GET /docs", "GET /openapi.json"}
    assert documentation == DOCS


def test_on_the_docs_routes_are_deployed_with_every_other_route(resources: Resources):
    """The session's template: cdk.json's stage (dev), docs on by default."""
    assert route_keys(resources) == DOCS | OTHERS


@pytest.fixture(scope="module")
def prod_resources(tmp_path_factory: pytest.TempPathFactory) -> Resources:
    start_jsii_quietly()
    from infra.stack import create_app

    outdir: Path = tmp_path_factory.mktemp("cdk.out.prod")
    context = {**cdk_json_context(), "stage": "prod", "aws:cdk:bundling-stacks": []}
    (stack,) = create_app(context, outdir=str(outdir)).synth().stacks
    return dict(stack.template["Resources"])


def test_off_in_prod_the_docs_routes_do_not_exist_and_every_other_route_does(prod_resources: Resources):
    assert route_keys(prod_resources) == OTHERS
    assert not DOCS & route_keys(prod_resources)
