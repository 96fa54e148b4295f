"""Route-level throttles of the HTTP API stage for the public routes (issue 17 item 7)."""

from __future__ import annotations

from infra.spec import PUBLIC_ROUTE_THROTTLES, ROUTES
from tests.infra.template_queries import Resources, of_type, referenced_ids


def test_every_public_route_has_its_own_throttle_on_the_stage_below_the_stages_default(
    resources: Resources,
) -> None:
    public = {f"{route.method} {route.path}" for route in ROUTES if route.public}
    assert set(PUBLIC_ROUTE_THROTTLES) == public, "a public route without a throttle, or one for no route"
    ((stage_id, stage),) = of_type(resources, "AWS::ApiGatewayV2::Stage").items()
    settings = stage["Properties"]["RouteSettings"]
    assert set(settings) == public  # the routes behind the JWT authorizer keep the stage's default
    default = stage["Properties"]["DefaultRouteSettings"]
    for route_key, throttle in PUBLIC_ROUTE_THROTTLES.items():
        assert settings[route_key] == {
            "ThrottlingRateLimit": throttle.rate,
            "ThrottlingBurstLimit": throttle.burst,
        }
        assert throttle.rate < default["ThrottlingRateLimit"]
        assert throttle.burst < default["ThrottlingBurstLimit"]
    # the stage is deployed after the routes its settings name (CloudFormation refuses unknown routes)
    routes = {
        logical_id
        for logical_id, route in of_type(resources, "AWS::ApiGatewayV2::Route").items()
        if route["Properties"]["RouteKey"] in public
    }
    assert routes <= set(stage.get("DependsOn", []))
    assert stage_id not in referenced_ids(list(settings.values()))
