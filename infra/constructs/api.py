"""HTTP API with a Cognito JWT authorizer, its routes built from `spec.ROUTES`."""

from __future__ import annotations

import json
from collections.abc import Mapping

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
from infra.spec import ROUTES

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
        allowed_origin: str,
    ) -> None:
        """The pool, the API and its stage; the routes come with `add_routes`, once the functions
        (which are granted access to the pool) exist."""
        super().__init__(scope, construct_id)
        self.users = build_users(self, allowed_origin)
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
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=[allowed_origin],
                allow_methods=[apigwv2.CorsHttpMethod.ANY],
                # The request headers of shared/api: firm selection and idempotency keys.
                allow_headers=["Authorization", "Content-Type", "X-Firm-Id", "Idempotency-Key"],
                expose_headers=["Retry-After"],
                max_age=Duration.hours(1),
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

    def add_routes(self, functions: Mapping[str, lambda_.IFunction]) -> None:
        integrations = {
            name: HttpLambdaIntegration(f"{pascal_case(name)}Integration", functions[name])
            for name in dict.fromkeys(route.function for route in ROUTES)
        }
        for route in ROUTES:
            (http_route,) = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=integrations[route.function],
                authorizer=apigwv2.HttpNoneAuthorizer() if route.public else None,
            )
            if route.public:
                acknowledge(
                    http_route,
                    "AwsSolutions-APIG4",
                    f"{route.method} {route.path} is public by design (infra/spec.py ROUTES): health, API "
                    "documentation, aggregator callbacks and invitation-token checks have no signed-in user.",
                )
