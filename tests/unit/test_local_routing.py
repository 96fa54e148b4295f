"""Route selection as API Gateway HTTP APIs do it, over routes like the spec's."""

from __future__ import annotations

import pytest

from infra.spec import ROUTES, Route
from local.routing import RouteTable

TABLE = RouteTable(
    [
        Route("GET", "/customers", "a"),
        Route("GET", "/customers/{customer_id}", "b"),
        Route("GET", "/customers/mine", "c"),
        Route("ANY", "/customers/{customer_id}/accounts", "d"),
        Route("POST", "/customers/{customer_id}/accounts", "e"),
        Route("GET", "/files/{proxy+}", "f"),
        Route("GET", "/files/{file_id}/meta", "g"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "function", "parameters"),
    [
        ("GET", "/customers", "a", {}),
        ("GET", "/customers/c-1", "b", {"customer_id": "c-1"}),
        ("GET", "/customers/mine", "c", {}),  # a literal beats a variable
        ("GET", "/customers/c-1/accounts", "d", {"customer_id": "c-1"}),
        ("POST", "/customers/c-1/accounts", "e", {"customer_id": "c-1"}),  # the method beats ANY
        ("GET", "/files/a/b/c", "f", {"proxy": "a/b/c"}),
        ("GET", "/files/x/meta", "g", {"file_id": "x"}),  # a variable beats a greedy variable
        ("GET", "/customers/a%20b", "b", {"customer_id": "a b"}),
    ],
)
def test_the_most_specific_route_wins(method, path, function, parameters):
    match = TABLE.match(method, path)
    assert match is not None
    assert (match.route.function, match.path_parameters) == (function, parameters)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/customers"),  # known path, other method
        ("GET", "/customers/"),  # empty variable
        ("GET", "/customers/c-1/accounts/extra"),
        ("GET", "/files"),  # a greedy variable needs at least one segment
        ("GET", "/nope"),
    ],
)
def test_no_route_is_no_match(method, path):
    assert TABLE.match(method, path) is None


def test_the_route_key_is_method_and_declared_path():
    match = TABLE.match("GET", "/customers/c-1")
    assert match is not None and match.route_key == "GET /customers/{customer_id}"


def test_a_greedy_variable_must_be_last():
    with pytest.raises(ValueError, match="greedy"):
        RouteTable([Route("GET", "/{proxy+}/x", "f")])


def test_every_spec_route_matches_its_own_path():
    table = RouteTable(ROUTES)
    for route in ROUTES:
        concrete = route.path.replace("{", "").replace("+}", "").replace("}", "")
        match = table.match(route.method, concrete)
        assert match is not None and match.route == route
