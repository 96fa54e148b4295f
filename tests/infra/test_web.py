"""The web console's hosting (issue 18): a private bucket behind CloudFront with origin access control,
the API on the same origin, security headers, SPA fallback, config.json written at deploy, the pool's
hosted pages, and the custom-domain option."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.constructs.web import IMMUTABLE
from infra.web_console import CONFIG_KEYS, PLAID_LINK_SCRIPT
from tests.infra.conftest import Synthesized, cdk_json_context, stage_config, start_jsii_quietly
from tests.infra.template_queries import Resources, environment, of_type, referenced_ids

# CloudFront's managed policies (ids documented by AWS, the same in every account).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
TWO_YEARS = 2 * 365 * 24 * 3600
CUSTOM = {
    "web_domain": "app.firm.example",
    "web_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/"
    "0f0e0d0c-0b0a-0908-0706-050403020100",
    "app_base_url": "http://localhost:5173",  # a front end served elsewhere (a dev server)
}


def _one(resources: Resources, resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = of_type(resources, resource_type).items()
    return logical_id, resource["Properties"]


def _distribution(resources: Resources) -> tuple[str, dict[str, Any]]:
    logical_id, properties = _one(resources, "AWS::CloudFront::Distribution")
    return logical_id, properties["DistributionConfig"]


def _behaviours(resources: Resources) -> dict[str, dict[str, Any]]:
    """Path pattern -> behaviour; the default behaviour under '*'."""
    _, config = _distribution(resources)
    return {"*": config["DefaultCacheBehavior"], **{b["PathPattern"]: b for b in config["CacheBehaviors"]}}


def _origin(resources: Resources, behaviour: dict[str, Any]) -> dict[str, Any]:
    _, config = _distribution(resources)
    (origin,) = (o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"])
    return origin


def _web_bucket(resources: Resources) -> str:
    (bucket_id,) = referenced_ids(_origin(resources, _behaviours(resources)["/app/*"])["DomainName"])
    return bucket_id


def _text(value: Any) -> str:
    """A template string with each reference written as {LogicalId} or {LogicalId.Attribute}."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_text(part) for part in parts)
    if "Ref" in value:
        return "{" + value["Ref"] + "}"
    if "Fn::GetAtt" in value:
        return "{" + ".".join(value["Fn::GetAtt"]) + "}"
    raise AssertionError(f"unexpected intrinsic {value}")


def _headers_policy(resources: Resources, path_pattern: str) -> dict[str, Any]:
    (policy_id,) = referenced_ids(_behaviours(resources)[path_pattern]["ResponseHeadersPolicyId"])
    return resources[policy_id]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]


def _csp(resources: Resources) -> dict[str, list[str]]:
    csp = _text(_headers_policy(resources, "/app/*")["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    return {name: values for name, *values in (d.split() for d in csp.split(";") if d.strip())}


def _deployments(resources: Resources) -> dict[str, dict[str, Any]]:
    """Destination key prefix -> the BucketDeployment's properties."""
    return {
        d["Properties"]["DestinationBucketKeyPrefix"]: d["Properties"]
        for d in of_type(resources, "Custom::CDKBucketDeployment").values()
    }


# ---- the bucket: private, and readable by the distribution only


def test_the_bucket_is_private_encrypted_and_refuses_plain_http(resources: Resources) -> None:
    bucket = resources[_web_bucket(resources)]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "WebsiteConfiguration" not in bucket


def test_the_bucket_policy_lets_only_this_distribution_read(resources: Resources) -> None:
    bucket_id = _web_bucket(resources)
    distribution_id, _ = _distribution(resources)
    (policy,) = (
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if referenced_ids(p["Properties"]["Bucket"]) == {bucket_id}
    )
    allows = [s for s in policy if s["Effect"] == "Allow"]
    assert allows, "the distribution must be allowed to read"
    for statement in allows:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert set(statement["Action"]) <= {"s3:GetObject", "s3:ListBucket"}
        (condition,) = statement["Condition"]["StringEquals"].values()
        assert _text(condition).endswith(f":distribution/{{{distribution_id}}}")
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    )


def test_the_bucket_is_reached_through_origin_access_control(resources: Resources) -> None:
    origin = _origin(resources, _behaviours(resources)["/app/*"])
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    (oac_id,) = referenced_ids(origin["OriginAccessControlId"])
    oac = resources[oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )


# ---- the distribution: https, the API on the same origin, caching


def test_every_path_redirects_to_https_over_http2_and_http3(resources: Resources) -> None:
    _, config = _distribution(resources)
    assert config["HttpVersion"] == "http2and3"
    assert {p: b["ViewerProtocolPolicy"] for p, b in _behaviours(resources).items()} == {
        "*": "redirect-to-https",
        "/app/assets/*": "redirect-to-https",
        "/app/*": "redirect-to-https",
        "/app": "redirect-to-https",
    }


def test_every_other_path_goes_to_the_api_uncached_with_the_callers_headers(resources: Resources) -> None:
    api = _behaviours(resources)["*"]
    (api_id,) = of_type(resources, "AWS::ApiGatewayV2::Api")
    origin = _origin(resources, api)
    assert _text(origin["DomainName"]) == f"{{{api_id}}}.execute-api.{{AWS::Region}}.{{AWS::URLSuffix}}"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api["CachePolicyId"] == CACHING_DISABLED
    # Authorization, X-Firm-Id, Idempotency-Key…: every viewer header but Host (API Gateway's own name).
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert {"POST", "PUT", "PATCH", "DELETE"} <= set(api["AllowedMethods"])


def test_assets_are_cached_long_and_the_shell_is_revalidated(resources: Resources) -> None:
    behaviours = _behaviours(resources)
    assert behaviours["/app/assets/*"]["CachePolicyId"] == CACHING_OPTIMIZED
    deployments = _deployments(resources)
    assert deployments["app/assets/"]["SystemMetadata"] == {"cache-control": IMMUTABLE}
    assert deployments["app/assets/"]["Prune"] is False  # open tabs still load the previous chunks
    shell = deployments["app/"]
    assert shell["SystemMetadata"] == {"cache-control": "no-cache"}
    assert shell["Exclude"] == ["assets/*"]  # nor copied nor pruned by the shell's deployment
    (cache_id,) = referenced_ids(behaviours["/app/*"]["CachePolicyId"])
    cache = resources[cache_id]["Properties"]["CachePolicyConfig"]
    assert (cache["MinTTL"], cache["DefaultTTL"]) == (0, 0)  # the objects' no-cache is obeyed


def test_a_deployment_invalidates_index_html_and_config_json(resources: Resources) -> None:
    shell = _deployments(resources)["app/"]
    distribution_id, _ = _distribution(resources)
    assert referenced_ids(shell["DistributionId"]) == {distribution_id}
    assert sorted(shell["DistributionPaths"]) == ["/app/config.json", "/app/index.html"]


# ---- security headers


def test_the_csp_allows_no_inline_script_nor_framing(resources: Resources) -> None:
    csp = _csp(resources)
    (domain_id,) = of_type(resources, "AWS::Cognito::UserPoolDomain")
    # The same origin as the domain resource's, spelled from its prefix (no dependency on it).
    prefix = _text(resources[domain_id]["Properties"]["Domain"])
    hosted_pages = f"https://{prefix}.auth.{{AWS::Region}}.amazoncognito.com"
    assert csp["script-src"] == ["'self'", PLAID_LINK_SCRIPT]
    assert not any("unsafe" in value for values in csp.values() for value in values)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert csp["default-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["form-action"] == ["'self'", hosted_pages]
    assert csp["connect-src"] == [
        "'self'",
        hosted_pages,
        "https://cognito-idp.{AWS::Region}.{AWS::URLSuffix}",
        "https://sandbox.plaid.com",  # the stage's Plaid environment (plaid_base_url, default sandbox)
    ]


def test_the_csp_names_plaids_origins_only_where_plaid_link_needs_them(resources: Resources) -> None:
    """Plaid Link on the web: its script from Plaid's CDN (that one file), its frame from the CDN, its
    calls to the stage's Plaid environment; nothing of Plaid anywhere else, and still no 'unsafe-inline'."""
    csp = _csp(resources)
    plaid = {name: [v for v in values if "plaid.com" in v] for name, values in csp.items()}
    assert {name: values for name, values in plaid.items() if values} == {
        "script-src": [PLAID_LINK_SCRIPT],
        "frame-src": ["https://cdn.plaid.com"],
        "connect-src": ["https://sandbox.plaid.com"],
    }
    assert csp["frame-src"] == ["'self'", "https://cdn.plaid.com"]
    assert not any("unsafe-inline" in value for values in csp.values() for value in values)


@pytest.mark.parametrize("path_pattern", ["*", "/app/assets/*", "/app/*", "/app"])
def test_every_answer_carries_hsts_nosniff_referrer_policy_and_no_framing(
    resources: Resources, path_pattern: str
) -> None:
    headers = _headers_policy(resources, path_pattern)
    hsts = headers["StrictTransportSecurity"]
    assert (hsts["AccessControlMaxAgeSec"], hsts["IncludeSubdomains"], hsts["Preload"]) == (
        TWO_YEARS,
        True,
        True,
    )
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    assert headers["FrameOptions"]["FrameOption"] == "DENY"


# ---- SPA fallback: a CloudFront Function, not error pages


def _run_fallback(code: str, uri: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node runs the CDK (jsii): it is on PATH wherever these tests run"
    script = (
        f"{code}\nprocess.stdout.write(JSON.stringify(handler({{request: {{uri: {json.dumps(uri)}}}}})));"
    )
    done = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30)
    return dict(json.loads(done.stdout))


def test_spa_routes_under_app_are_answered_with_index_html_and_files_as_they_are(
    resources: Resources,
) -> None:
    behaviours = _behaviours(resources)
    _, config = _distribution(resources)
    assert "CustomErrorResponses" not in config  # a real 403/404 (of the API, of a file) stays one
    function_ids = {
        pattern: {ref for a in b.get("FunctionAssociations", []) for ref in referenced_ids(a["FunctionARN"])}
        for pattern, b in behaviours.items()
    }
    (function_id,) = function_ids["/app/*"]
    assert function_ids == {
        "*": set(),
        "/app/assets/*": set(),
        "/app/*": {function_id},
        "/app": {function_id},
    }
    assert {a["EventType"] for a in behaviours["/app/*"]["FunctionAssociations"]} == {"viewer-request"}
    function = resources[function_id]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    code = function["FunctionCode"]
    for route in ("/app/", "/app/customers", "/app/customers/01JABC/accounts", "/app/auth/callback"):
        assert _run_fallback(code, route) == {"uri": "/app/index.html"}, route
    for file in ("/app/config.json", "/app/index.html", "/app/assets/index-abc123.js", "/app/favicon.svg"):
        assert _run_fallback(code, file) == {"uri": file}, file
    redirect = _run_fallback(code, "/app")
    assert (redirect["statusCode"], redirect["headers"]["location"]["value"]) == (301, "/app/")


# ---- config.json, written at deploy


def _config_json(synthesized: Synthesized, resources: Resources) -> dict[str, str]:
    """config.json as deployed: the staged file with each deploy-time marker replaced by its value."""
    shell = _deployments(resources)["app/"]
    for key, markers in zip(shell["SourceObjectKeys"], shell["SourceMarkers"], strict=True):
        staged = synthesized.outdir / f"asset.{key.removesuffix('.zip')}" / "config.json"
        if staged.is_file():
            text = staged.read_text(encoding="utf-8")
            for marker, value in markers.items():
                text = text.replace(marker, _text(value))
            return dict(json.loads(text))
    raise AssertionError("no config.json among the shell deployment's sources")


def test_config_json_has_every_key_with_the_stages_values(
    synthesized: Synthesized, resources: Resources
) -> None:
    config = _config_json(synthesized, resources)
    distribution_id, _ = _distribution(resources)
    (pool_id,) = of_type(resources, "AWS::Cognito::UserPool")
    (client_id,) = of_type(resources, "AWS::Cognito::UserPoolClient")
    (domain_id,) = of_type(resources, "AWS::Cognito::UserPoolDomain")
    origin = f"https://{{{distribution_id}.DomainName}}"
    pages = f"https://{{{domain_id}}}.auth.{{AWS::Region}}.amazoncognito.com"
    assert sorted(config) == sorted(CONFIG_KEYS)
    assert config == {
        "apiBaseUrl": origin,  # the API on the console's own origin
        "authority": f"https://{{{pool_id}.ProviderURL}}",
        "clientId": f"{{{client_id}}}",
        "userPoolId": f"{{{pool_id}}}",
        "region": "{AWS::Region}",
        "authorizationEndpoint": f"{pages}/oauth2/authorize",
        "tokenEndpoint": f"{pages}/oauth2/token",
        "endSessionEndpoint": f"{pages}/logout",
        "userInfoEndpoint": f"{pages}/oauth2/userInfo",
        "redirectUri": f"{origin}/app/auth/callback",
        "postLogoutRedirectUri": f"{origin}/app/auth/signed-out",
        "jwksUri": f"https://{{{pool_id}.ProviderURL}}/.well-known/jwks.json",
        "identityEndpoint": "https://cognito-idp.{AWS::Region}.amazonaws.com/",
        "plaidLinkScript": "https://cdn.plaid.com/link/v2/stable/link-initialize.js",
    }
    client = resources[client_id]["Properties"]
    assert [_text(url) for url in client["CallbackURLs"]] == [config["redirectUri"]]
    assert [_text(url) for url in client["LogoutURLs"]] == [config["postLogoutRedirectUri"]]


def test_emailed_links_and_bank_redirects_go_to_the_console(resources: Resources) -> None:
    distribution_id, _ = _distribution(resources)
    assert _text(environment(resources, "invitations_api")["APP_BASE_URL"]) == (
        f"https://{{{distribution_id}.DomainName}}/app"
    )


# ---- the pool's hosted pages


def test_the_pool_has_managed_login_pages_for_the_app_client(resources: Resources) -> None:
    _, domain = _one(resources, "AWS::Cognito::UserPoolDomain")
    (pool_id,) = of_type(resources, "AWS::Cognito::UserPool")
    (client_id,) = of_type(resources, "AWS::Cognito::UserPoolClient")
    assert referenced_ids(domain["UserPoolId"]) == {pool_id}
    assert domain["ManagedLoginVersion"] == 2
    assert "CustomDomainConfig" not in domain  # a prefix domain
    assert re.fullmatch(r"clientdatasharing-dev-\{AWS::AccountId\}", _text(domain["Domain"]))
    _, branding = _one(resources, "AWS::Cognito::ManagedLoginBranding")
    assert referenced_ids(branding["ClientId"]) == {client_id}
    assert branding["UseCognitoProvidedValues"] is True


# ---- the custom domain, and a front end served elsewhere


@pytest.fixture(scope="module")
def custom_resources(tmp_path_factory: pytest.TempPathFactory) -> Resources:
    start_jsii_quietly()
    from infra.stack import create_app

    outdir: Path = tmp_path_factory.mktemp("cdk.out.web")
    context = {**cdk_json_context(), **CUSTOM, "aws:cdk:bundling-stacks": []}
    (stack,) = create_app(context, outdir=str(outdir)).synth().stacks
    return dict(stack.template["Resources"])


def test_a_custom_domain_serves_the_console_with_its_certificate(custom_resources: Resources) -> None:
    _, config = _distribution(custom_resources)
    assert config["Aliases"] == ["app.firm.example"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CUSTOM["web_certificate_arn"],
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }
    _, client = _one(custom_resources, "AWS::Cognito::UserPoolClient")
    assert client["CallbackURLs"] == [
        "https://app.firm.example/app/auth/callback",
        "http://localhost:5173/app/auth/callback",
    ]
    assert client["LogoutURLs"] == [
        "https://app.firm.example/app/auth/signed-out",
        "http://localhost:5173/app/auth/signed-out",
    ]


def test_a_front_end_served_elsewhere_gets_the_links_and_cors(custom_resources: Resources) -> None:
    from shared.api.caller import FIRM_HEADER
    from shared.api.idempotency import IDEMPOTENCY_HEADER

    assert environment(custom_resources, "invitations_api")["APP_BASE_URL"] == "http://localhost:5173/app"
    _, api = _one(custom_resources, "AWS::ApiGatewayV2::Api")
    cors = api["CorsConfiguration"]
    assert cors["AllowOrigins"] == ["http://localhost:5173"]
    allowed = {header.lower() for header in cors["AllowHeaders"]}
    assert {"authorization", FIRM_HEADER.lower(), IDEMPOTENCY_HEADER.lower()} <= allowed


# ---- settings


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"web_domain": "app.firm.example"}, "go together"),
        ({"web_certificate_arn": CUSTOM["web_certificate_arn"]}, "go together"),
        (
            {
                "web_domain": "app.firm.example",
                "web_certificate_arn": CUSTOM["web_certificate_arn"].replace("us-east-1", "eu-west-2"),
            },
            "us-east-1",
        ),
        (
            {"web_domain": "https://app.firm.example", "web_certificate_arn": CUSTOM["web_certificate_arn"]},
            "DNS name",
        ),
        ({"auth_domain_prefix": "my-cognito-login"}, "without"),
        ({"auth_domain_prefix": "Upper"}, "lower-case"),
    ],
)
def test_web_settings_are_refused_when_cloudfront_or_cognito_would_refuse_them(
    context: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        stage_config(**context)


def test_web_settings_default_to_the_distribution_and_web_dist() -> None:
    config = stage_config()
    assert (config.app_base_url, config.web_domain, config.web_certificate_arn) == (None, None, None)
    assert config.web_dist == "web/dist"


def test_the_synth_names_the_missing_console_build(tmp_path: Path) -> None:
    start_jsii_quietly()
    from infra.stack import create_app

    with pytest.raises(ValueError, match="No web console build"):
        create_app({**cdk_json_context(), "web_dist": str(tmp_path), "aws:cdk:bundling-stacks": []})
