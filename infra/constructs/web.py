"""The web console (web/, a static SPA) and the API behind ONE CloudFront origin: the SPA at /app/*
from a private bucket (origin access control), every other path to the HTTP API, uncached, so the
browser needs no CORS. config.json is written at deploy with the stage's values (no rebuild per stage)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.constructs.storage import private_bucket
from infra.constructs.users import Users
from infra.nag import acknowledge, wildcard_finding
from infra.spec_user_pool import OAUTH_CALLBACK_PATH, OAUTH_SIGNED_OUT_PATH
from infra.web_console import CONFIG_KEYS, PLAID_LINK_ORIGIN, PLAID_LINK_SCRIPT, content_security_policy

ROOT = Path(__file__).resolve().parents[2]
APP_PATH = "/app"  # where the SPA lives (Vite `base: '/app/'`); APP_BASE_URL is <origin>/app
ASSETS_DIR = "assets"  # Vite's hashed files: cached for a year, never rewritten
CONFIG_FILE = "config.json"
HSTS_MAX_AGE = Duration.days(730)
IMMUTABLE = "public, max-age=31536000, immutable"
DEPLOYMENT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# The CDK bootstrap's assets bucket (default qualifier), as cdk-nag names it in a finding.
CDK_ASSETS_BUCKET_ARN = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>"

# CloudFront Function (viewer request) on /app and /app/*: a path whose last segment has no dot is a
# route of the SPA, answered with index.html; a file (/app/config.json, /app/favicon.svg) is served as
# it is, so a missing file stays a 404 instead of an index.html that hides it.
SPA_FALLBACK_CODE = """function handler(event) {
  var request = event.request;
  if (request.uri === '/app') {
    return {statusCode: 301, statusDescription: 'Moved Permanently', headers: {location: {value: '/app/'}}};
  }
  var last = request.uri.substring(request.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    request.uri = '/app/index.html';
  }
  return request;
}
"""


@dataclass(frozen=True)
class CustomDomain:
    name: str  # e.g. app.firm.example (its DNS record is the operator's: docs/deploy.md)
    certificate_arn: str  # ACM, us-east-1


class Web(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        http_api: apigwv2.IHttpApi,
        sign_in_origin: str,
        identity_origin: str,
        plaid_api_origin: str,
        domain: CustomDomain | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Unversioned: the build is reproducible from git, and old hashed assets are kept (never pruned)
        # for the tabs still running the previous index.html. Deleted with the stack once emptied.
        self.bucket = private_bucket(
            self,
            "Bucket",
            s3.LifecycleRule(id="abort-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Holds only the console's public build (HTML, JS, CSS), written by the stack's deployment and "
            "read only by the CloudFront distribution through origin access control; no customer data is "
            "ever stored here, so server access logs would record nothing worth keeping.",
        )
        # READ and LIST: a missing file is S3's 404 (without LIST, S3 answers 403 for it).
        app_origin = origins.S3BucketOrigin.with_origin_access_control(
            self.bucket, origin_access_levels=[cloudfront.AccessLevel.READ, cloudfront.AccessLevel.LIST]
        )
        api_origin = origins.HttpOrigin(
            f"{http_api.api_id}.execute-api.{stack.region}.{stack.url_suffix}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
        )
        app_headers = self._headers_policy(
            "AppHeaders",
            cloudfront.ResponseHeadersContentSecurityPolicy(
                # Plaid Link: its script from Plaid's CDN, its frame, and the stage's Plaid environment.
                content_security_policy=content_security_policy(
                    connect_to=(sign_in_origin, identity_origin, plaid_api_origin),
                    forms_to=(sign_in_origin,),
                    scripts_from=(PLAID_LINK_SCRIPT,),
                    frames_from=(PLAID_LINK_ORIGIN,),
                ),
                override=True,
            ),
        )
        # The API's own pages (Swagger UI at /docs) set what they need: no CSP imposed on them.
        api_headers = self._headers_policy("ApiHeaders", None)
        spa_fallback = cloudfront.Function(
            self,
            "SpaFallback",
            code=cloudfront.FunctionCode.from_inline(SPA_FALLBACK_CODE),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="SPA routes under /app/ answered with /app/index.html; files as they are",
        )
        # index.html, config.json and other unhashed files: the objects say no-cache, so the edge asks
        # the bucket again (a 304 when unchanged) and a deployment is seen at once.
        shell_cache = cloudfront.CachePolicy(
            self,
            "ShellCache",
            comment="The console's index.html and config.json: as the objects' Cache-Control says",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.days(1),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        shell = cloudfront.BehaviorOptions(
            origin=app_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            cache_policy=shell_cache,
            response_headers_policy=app_headers,
            function_associations=[
                cloudfront.FunctionAssociation(
                    function=spa_fallback, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                )
            ],
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{stack.stack_name}: the web console at {APP_PATH}/ and the API",
            default_behavior=cloudfront.BehaviorOptions(
                origin=api_origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                # Every viewer header (Authorization, X-Firm-Id, Idempotency-Key), query string and
                # cookie, but not Host: API Gateway answers only to its own name.
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                response_headers_policy=api_headers,
            ),
            additional_behaviors={  # in this order: the first pattern that matches wins
                f"{APP_PATH}/{ASSETS_DIR}/*": cloudfront.BehaviorOptions(
                    origin=app_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                    response_headers_policy=app_headers,
                ),
                f"{APP_PATH}/*": shell,
                APP_PATH: shell,
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # Only a custom certificate takes a policy (the default certificate's is CloudFront's).
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if domain else None,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            domain_names=[domain.name] if domain else None,
            certificate=(
                acm.Certificate.from_certificate_arn(self, "Certificate", domain.certificate_arn)
                if domain
                else None
            ),
        )
        self._acknowledge_distribution(custom_domain=domain is not None)
        acknowledge(
            self.distribution,
            "Annotation::@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk",
            "The bucket is never the default behaviour's origin (the API is): only /app, /app/* and "
            "/app/assets/* reach it, each a GetObject of one key, so the bucket root is never listed; LIST "
            "is granted so that a missing file is S3's 404, not a 403.",
        )
        self.origin = f"https://{domain.name if domain else self.distribution.distribution_domain_name}"
        self.app_base_url = self.origin + APP_PATH

    def _headers_policy(
        self, construct_id: str, csp: cloudfront.ResponseHeadersContentSecurityPolicy | None
    ) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            construct_id,
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=csp,
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, preload=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
            ),
        )

    def _acknowledge_distribution(self, *, custom_domain: bool) -> None:
        distribution = self.distribution
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "No geo restriction by design: firms' customers, family members and external advisers reach "
            "their file from wherever they are; every request is authenticated by the API or is a static "
            "file.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR2",
            "A web ACL for a CloudFront distribution must live in us-east-1, outside this regional stack; "
            "the API behind it keeps its stage and per-route throttles and the pool its threat protection.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR3",
            "API requests through the distribution are logged by the API's JSON access logs (route, status, "
            "caller's sub, latency); the rest are the console's public static files. Standard logging would "
            "need an ACL-enabled log bucket (or a us-east-1 log delivery) for no record we lack.",
        )
        if not custom_domain:
            acknowledge(
                distribution,
                "AwsSolutions-CFR4",
                "Without a custom domain the distribution uses the default *.cloudfront.net certificate, "
                "whose viewer TLS policy CloudFront fixes; with web_domain and its certificate it is "
                "TLSv1.2_2021.",
            )

    def deploy(self, build_dir: Path, config: Mapping[str, str]) -> None:
        """The build's files under app/ (hashed assets first, kept across deployments for open tabs),
        then index.html and the rest with config.json, whose values CloudFormation resolves at deploy;
        the edge's copies of index.html and config.json are invalidated."""
        build = build_dir if build_dir.is_absolute() else ROOT / build_dir
        if not (build / "index.html").is_file():
            raise ValueError(
                f"No web console build at {build} (index.html): build it with `npm --prefix web ci && "
                "npm --prefix web run build` (`make synth` does), or point -c web_dist=<dir> at one"
            )
        if missing := sorted(set(CONFIG_KEYS) ^ set(config)):
            raise ValueError(f"config.json keys differ from CONFIG_KEYS: {missing}")
        log_group = logs.LogGroup(self, "DeploymentLogs", retention=DEPLOYMENT_LOG_RETENTION)
        assets = None
        if (build / ASSETS_DIR).is_dir():
            assets = s3deploy.BucketDeployment(
                self,
                "Assets",
                sources=[s3deploy.Source.asset(str(build / ASSETS_DIR))],
                destination_bucket=self.bucket,
                destination_key_prefix=f"{APP_PATH[1:]}/{ASSETS_DIR}/",
                prune=False,
                cache_control=[s3deploy.CacheControl.from_string(IMMUTABLE)],
                memory_limit=512,
                log_group=log_group,
            )
        shell = s3deploy.BucketDeployment(
            self,
            "Shell",
            sources=[
                s3deploy.Source.asset(str(build), exclude=[f"{ASSETS_DIR}/*", CONFIG_FILE]),
                s3deploy.Source.json_data(CONFIG_FILE, dict(config)),
            ],
            destination_bucket=self.bucket,
            destination_key_prefix=f"{APP_PATH[1:]}/",
            exclude=[f"{ASSETS_DIR}/*"],  # neither copied nor pruned here: the Assets deployment's
            cache_control=[s3deploy.CacheControl.no_cache()],
            distribution=self.distribution,
            distribution_paths=[f"{APP_PATH}/index.html", f"{APP_PATH}/{CONFIG_FILE}"],
            memory_limit=512,
            log_group=log_group,
        )
        if assets is not None:
            shell.node.add_dependency(assets)  # a new index.html never names an asset not yet there
        _acknowledge_deployment_function(shell, self.bucket)


def _acknowledge_deployment_function(deployment: s3deploy.BucketDeployment, bucket: s3.Bucket) -> None:
    """The CDK's own deployment function (one for both deployments): its role is the CDK's, made for
    `aws s3 sync` from the assets bucket into the console's bucket."""
    role = deployment.handler_role
    function = role.node.scope
    assert function is not None
    acknowledge(
        function,
        "AwsSolutions-L1",
        "The CDK's BucketDeployment function, whose Python runtime the CDK release pins (it bundles the "
        "AWS CLI layer it was tested with); it runs only during deployments, never on a request.",
    )
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "The CDK's BucketDeployment function role: the managed policy only lets it write its own logs, "
        "and the function is invoked by CloudFormation during deployments only.",
    )
    policy = role.node.find_child("DefaultPolicy")
    reasons = {
        "AwsSolutions-IAM5[Action::s3:GetBucket*]": "read the uploaded build from the CDK assets bucket",
        "AwsSolutions-IAM5[Action::s3:GetObject*]": "read the uploaded build from the CDK assets bucket",
        "AwsSolutions-IAM5[Action::s3:List*]": "list what to sync in the assets and console buckets",
        "AwsSolutions-IAM5[Action::s3:Abort*]": "abort its own unfinished uploads to the console bucket",
        "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "prune removed files of the console's shell",
        f"AwsSolutions-IAM5[Resource::{CDK_ASSETS_BUCKET_ARN}/*]": "the build's zip in the CDK assets "
        "bucket, named by its hash",
        wildcard_finding(bucket, "/*"): "every file of the console's bucket, and of no other bucket",
        "AwsSolutions-IAM5[Resource::*]": "cloudfront:CreateInvalidation/GetInvalidation of index.html and "
        "config.json (the CDK grants them on '*')",
    }
    for finding, what in reasons.items():
        acknowledge(
            policy,
            finding,
            f"The CDK's BucketDeployment role, used by CloudFormation during deployments only: {what}.",
        )


def console_config(
    *, web: Web, users: Users, hosted_pages: cognito.UserPoolDomain, region: str
) -> dict[str, str]:
    """/app/config.json: the stage's API, pool and hosted pages (CloudFormation tokens, resolved at
    deploy). The API is on the console's own origin; the sign-in comes back to the console."""
    authority = f"https://{users.user_pool.user_pool_provider_url}"  # the tokens' issuer
    pages = hosted_pages.base_url()
    return {
        "apiBaseUrl": web.origin,
        "authority": authority,
        "clientId": users.user_pool_client.user_pool_client_id,
        "userPoolId": users.user_pool.user_pool_id,
        "region": region,
        "authorizationEndpoint": f"{pages}/oauth2/authorize",
        "tokenEndpoint": f"{pages}/oauth2/token",
        "endSessionEndpoint": f"{pages}/logout",
        "userInfoEndpoint": f"{pages}/oauth2/userInfo",
        "redirectUri": web.app_base_url + OAUTH_CALLBACK_PATH,
        "postLogoutRedirectUri": web.app_base_url + OAUTH_SIGNED_OUT_PATH,
        "jwksUri": f"{authority}/.well-known/jwks.json",
        "identityEndpoint": f"https://cognito-idp.{region}.amazonaws.com/",
        "plaidLinkScript": PLAID_LINK_SCRIPT,
    }
