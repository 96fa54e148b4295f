from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from infra.spec import ROUTES, Route
from infra.spec_user_pool import (
    create_user_pool_client_request,
    create_user_pool_request,
    oauth_client_settings,
)
from tests.infra.template_queries import Resources, function_id, of_type, referenced_ids


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_route_reaches_its_function_with_the_declared_authorization(
    resources: Resources, route: Route
) -> None:
    (declared,) = (
        r["Properties"]
        for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == f"{route.method} {route.path}"
    )
    if route.public:
        assert declared["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in declared
    else:
        assert declared["AuthorizationType"] == "JWT"
        assert set(referenced_ids(declared["AuthorizerId"])) == set(
            of_type(resources, "AWS::ApiGatewayV2::Authorizer")
        )
    (integration_id,) = referenced_ids(declared["Target"])
    integration = resources[integration_id]["Properties"]
    assert referenced_ids(integration["IntegrationUri"]) == {function_id(resources, route.function)}


def test_every_api_route_is_declared_in_the_spec(resources: Resources) -> None:
    route_keys = {
        r["Properties"]["RouteKey"] for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()
    }
    assert route_keys == {f"{route.method} {route.path}" for route in ROUTES}


def test_jwt_authorizer_trusts_the_stack_user_pool_and_client(resources: Resources) -> None:
    (authorizer,) = (r["Properties"] for r in of_type(resources, "AWS::ApiGatewayV2::Authorizer").values())
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    configuration = authorizer["JwtConfiguration"]
    assert referenced_ids(configuration["Audience"]) == set(
        of_type(resources, "AWS::Cognito::UserPoolClient")
    )
    issuer = configuration["Issuer"]["Fn::Join"][1]
    assert issuer[0] == "https://"
    assert issuer[1] == {"Fn::GetAtt": [*of_type(resources, "AWS::Cognito::UserPool"), "ProviderURL"]}


def test_user_pool_is_invitation_only_with_strong_passwords(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "MfaConfiguration": "OPTIONAL",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "UserPoolTier": "PLUS",
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {
                        "MinimumLength": 12,
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                    }
                )
            },
        },
    )
    template.has_resource_properties("AWS::Cognito::UserPoolClient", {"GenerateSecret": Match.absent()})


def test_the_pool_and_client_are_those_the_local_system_creates_from_the_spec(resources: Resources) -> None:
    """infra/spec_user_pool.py gives moto (local/provision.py) and the stack the same pool and client."""
    ((pool_id, pool),) = of_type(resources, "AWS::Cognito::UserPool").items()
    ((client_id, client),) = of_type(resources, "AWS::Cognito::UserPoolClient").items()
    local_pool = create_user_pool_request("users")
    local_client = create_user_pool_client_request("pool", "web")
    properties = pool["Properties"]
    for name in ("UsernameAttributes", "AutoVerifiedAttributes", "AdminCreateUserConfig", "MfaConfiguration"):
        assert properties[name] == local_pool[name], name
    local_policy = local_pool["Policies"]["PasswordPolicy"]  # type: ignore[index]
    assert properties["Policies"]["PasswordPolicy"] == local_policy
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    client_properties = client["Properties"]
    assert set(client_properties["ExplicitAuthFlows"]) == set(local_client["ExplicitAuthFlows"])  # type: ignore[arg-type]
    assert "ALLOW_USER_PASSWORD_AUTH" not in client_properties["ExplicitAuthFlows"]
    assert set(client_properties["ReadAttributes"]) == set(local_client["ReadAttributes"])  # type: ignore[arg-type]
    # The deployed pool and client keep their logical ids (a new id would be a new pool without its users).
    assert (pool_id, client_id) == ("ApiUserPool5AB2526B", "ApiUserPoolWebClient14D21EAE")


def test_the_app_client_signs_in_with_the_code_grant_only_back_to_the_app(resources: Resources) -> None:
    """Issue 17 item 6: the authorization code grant (with PKCE: a public client, no secret), no
    implicit grant; Cognito redirects only to the console's own pages, on the distribution's URL
    (issue 18: the console is served by the stack's CloudFront distribution at /app)."""
    ((_, client),) = of_type(resources, "AWS::Cognito::UserPoolClient").items()
    properties = client["Properties"]
    (distribution_id,) = of_type(resources, "AWS::CloudFront::Distribution")
    app = "https://{DomainName}/app"
    assert (
        properties["AllowedOAuthFlows"] == ["code"] and properties["AllowedOAuthFlowsUserPoolClient"] is True
    )
    for name, page in (("CallbackURLs", "/auth/callback"), ("LogoutURLs", "/auth/signed-out")):
        (url,) = properties[name]
        assert url == {
            "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, f"/app{page}"]]
        }
    assert not properties.get("GenerateSecret")
    for name, value in oauth_client_settings(app).items():  # what the spec declares, as declared
        if name in ("CallbackURLs", "LogoutURLs"):
            continue  # above, with the distribution's domain name
        assert (
            sorted(properties[name]) == sorted(value)
            if isinstance(value, list)
            else properties[name] == value
        )


def test_default_stage_logs_every_request_as_json_and_throttles(resources: Resources) -> None:
    (stage,) = (r["Properties"] for r in of_type(resources, "AWS::ApiGatewayV2::Stage").values())
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    (log_group_id,) = referenced_ids(stage["AccessLogSettings"]["DestinationArn"])
    assert resources[log_group_id]["Properties"]["RetentionInDays"] > 0
    fields = json.loads(stage["AccessLogSettings"]["Format"])
    assert {"requestId", "ip", "routeKey", "status", "latency", "integrationError"} <= set(fields)
    assert fields["requestId"] == "$context.requestId"
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0


def test_the_console_reaches_the_api_on_its_own_origin_without_cors(resources: Resources) -> None:
    """The console and the API share the distribution's origin (infra/constructs/web.py): the API
    allows no other origin unless `app_base_url` names a front end served elsewhere (test_web.py)."""
    (api,) = (r["Properties"] for r in of_type(resources, "AWS::ApiGatewayV2::Api").values())
    assert "CorsConfiguration" not in api
