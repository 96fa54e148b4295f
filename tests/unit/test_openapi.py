"""The served OpenAPI document, the code's routes and the gateway's routes all agree."""

from __future__ import annotations

from infra.spec import ROUTES
from tools.openapi import build_document, main


def test_committed_document_matches_the_code():
    assert main(["--check"]) == 0, "run `make openapi` and commit functions/platform_api/openapi.json"


def test_every_code_route_is_a_gateway_route_and_back():
    document = build_document()
    in_code = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert in_code == {(route.method, route.path) for route in ROUTES}


def test_only_public_routes_skip_the_jwt():
    document = build_document()
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert (operation["security"] == []) is route.public, route
