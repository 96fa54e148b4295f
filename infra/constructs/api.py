"""HTTP API with a Cognito JWT authorizer, its routes built from `spec.ROUTES`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import cast

import jsii
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_authorizers import HttpJwtAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.constructs.users import build_users
from infra.nag import acknowledge
from infra.naming import pascal_case
from infra.spec import PUBLIC_ROUTE_THROTTLES, ROUTES

THROTTLE = apigwv2.ThrottleSettings(rate_limit=100, burst_limit=200)  # requests/second for the whole stage
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.claims.sub",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _JsonAccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._log_group)

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        app_base_urls: Sequence[str],
        cors_origin: str | None,
    ) -> None:
        """The pool, the API and its stage; the routes come with `add_routes`, once the functions
        (which are granted access to the pool) exist. The console calls the API on its own origin
        (infra/constructs/web.py): CORS only for `cors_origin`, a front end served elsewhere."""
        super().__init__(scope, construct_id)
        self.users = build_users(self, app_base_urls)
        authorizer = HttpJwtAuthorizer(
            "CognitoJwt",
            jwt_issuer=f"https://{self.users.user_pool.user_pool_provider_url}",
            jwt_audience=[self.users.user_pool_client.user_pool_client_id],
        )
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            default_authorizer=authorizer,  # secure by default: only routes declared public opt out
            create_default_stage=False,
            cors_preflight=(
                apigwv2.CorsPreflightOptions(
                    allow_origins=[cors_origin],
                    allow_methods=[apigwv2.CorsHttpMethod.ANY],
                    # The request headers of shared/api: firm selection and idempotency keys.
                    allow_headers=["Authorization", "Content-Type", "X-Firm-Id", "Idempotency-Key"],
                    expose_headers=["Retry-After"],
                    max_age=Duration.hours(1),
                )
                if cors_origin
                else None
            ),
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            auto_deploy=True,
            throttle=THROTTLE,
            access_log_settings=_JsonAccessLogs(
                logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
            ),
        )

    def add_routes(self, functions: Mapping[str, lambda_.IFunction], *, docs: bool = True) -> None:
        """Every route of `spec.ROUTES`; the documentation routes only with `docs` (the stage's
        `api_docs`): without them API Gateway answers 404 for /docs and /openapi.json."""
        routes = [route for route in ROUTES if docs or not route.docs]
        integrations = {
            name: HttpLambdaIntegration(f"{pascal_case(name)}Integration", functions[name])
            for name in dict.fromkeys(route.function for route in routes)
        }
        stage = cast(apigwv2.CfnStage, self.stage.node.default_child)
        route_settings: dict[str, dict[str, float | int]] = {}
        for route in routes:
            (http_route,) = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=integrations[route.function],
                authorizer=apigwv2.HttpNoneAuthorizer() if route.public else None,
            )
            if route.public:
                # the stage's settings for this route need the route to exist first
                throttle = PUBLIC_ROUTE_THROTTLES[f"{route.method} {route.path}"]
                route_settings[f"{route.method} {route.path}"] = {
                    "ThrottlingRateLimit": throttle.rate,
                    "ThrottlingBurstLimit": throttle.burst,
                }
                stage.node.add_dependency(http_route)
                acknowledge(
                    http_route,
                    "AwsSolutions-APIG4",
                    f"{route.method} {route.path} is public by design (infra/spec.py ROUTES): health, API "
                    "documentation, aggregator callbacks and invitation-token checks have no signed-in user.",
                )
        stage.route_settings = route_settings  # route-level throttles of the public routes (infra/spec.py)
