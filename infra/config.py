"""Per-deployment settings, read from CDK context (`cdk.json` or `npx cdk deploy -c key=value`)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from constructs import Node

from shared.adapters.aggregator.plaid import ENVIRONMENTS as PLAID_ENVIRONMENTS
from shared.adapters.eula_texts import MissingEulaText, eula_text_path
from shared.domain.aggregator import GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE
from shared.settings import DEFAULT_EULA_VERSION, gocardless_root

PRODUCTION_STAGE = "prod"  # the stage whose defaults are the production ones (API docs off)
_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
# A DNS host name (the console's custom domain), and the ACM certificate CloudFront accepts for it:
# one in us-east-1, whatever the stack's region.
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CLOUDFRONT_CERTIFICATE = re.compile(r"^arn:aws:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$")
# A Cognito prefix domain (<prefix>.auth.<region>.amazoncognito.com): Cognito refuses these words in it.
_AUTH_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_AUTH_DOMAIN_RESERVED = ("aws", "amazon", "cognito")
DEFAULT_WEB_DIST = "web/dist"  # `npm run build` in web/ writes the console there
# The aggregators' API hosts: their credentials are only ever sent there, over https.
_PROVIDER_HOSTS = {
    "gocardless_base_url": frozenset({"bankaccountdata.gocardless.com"}),
    "plaid_base_url": frozenset(str(urlsplit(url).hostname) for url in PLAID_ENVIRONMENTS.values()),
}


@dataclass(frozen=True)
class StageConfig:
    stage: str  # dev, staging, prod…: names the stack and tags every resource
    email_sender: str  # From address of every email
    email_domain: str | None  # when set, SES verifies the whole domain instead of the one address
    # The web console is served by the stack's CloudFront distribution at <its URL>/app (infra/constructs/
    # web.py), on `web_domain` when given (with `web_certificate_arn`, ACM in us-east-1). `app_base_url`
    # optionally names another origin that serves it (a dev front end): emailed links and bank redirects go
    # to <app_base_url>/app, the app client accepts sign-ins back there too, and the API allows CORS from it.
    app_base_url: str | None
    web_domain: str | None
    web_certificate_arn: str | None
    web_dist: str  # the console's build (index.html, assets/), deployed to the bucket
    auth_domain_prefix: str | None  # the pool's hosted pages; default: <stack name>-<account id>
    alarm_email: str | None  # subscribed to the alarm topic when set
    gocardless_base_url: str
    plaid_base_url: str
    api_base_url: str | None  # a custom domain; default: the HTTP API's own endpoint
    default_firm_timezone: str
    current_eula_version: str  # bump it when the Data Refresh EULA changes: customers accept again
    # GoCardless's limit on its account endpoints for the whole company (100 a minute unless agreed):
    # the functions pace their requests to it (shared/adapters/dynamodb/request_pace.py).
    gocardless_account_calls_per_minute: int
    # GET /docs and /openapi.json deployed (`api_docs`: true/false; default on, off in the `prod` stage).
    # When off, the routes do not exist on the API: API Gateway answers 404. The local system keeps them.
    api_docs: bool

    @property
    def stack_name(self) -> str:
        return f"ClientDataSharing-{self.stage}"

    @property
    def email_identity(self) -> str:
        """The SES identity that authorizes the sender: its domain when given, else the address."""
        return self.email_domain or self.email_sender

    @classmethod
    def from_context(cls, node: Node) -> StageConfig:
        def optional(key: str) -> str | None:
            value = node.try_get_context(key)
            return str(value) if value else None

        def required(key: str) -> str:
            value = optional(key)
            if value is None:
                raise ValueError(f"CDK context '{key}' is required (cdk.json or -c {key}=...)")
            return value

        stage = optional("stage") or "dev"
        config = cls(
            stage=stage,
            email_sender=required("email_sender"),
            email_domain=optional("email_domain"),
            app_base_url=(optional("app_base_url") or "").rstrip("/") or None,
            web_domain=optional("web_domain"),
            web_certificate_arn=optional("web_certificate_arn"),
            web_dist=optional("web_dist") or DEFAULT_WEB_DIST,
            auth_domain_prefix=optional("auth_domain_prefix"),
            alarm_email=optional("alarm_email"),
            # Documented both as the host and as <host>/api/v2/: the adapter gets the host.
            gocardless_base_url=gocardless_root(
                optional("gocardless_base_url") or "https://bankaccountdata.gocardless.com"
            ),
            plaid_base_url=optional("plaid_base_url") or "sandbox",
            api_base_url=optional("api_base_url"),
            default_firm_timezone=optional("default_firm_timezone") or "Europe/London",
            current_eula_version=optional("current_eula_version") or DEFAULT_EULA_VERSION,
            gocardless_account_calls_per_minute=_positive(
                "gocardless_account_calls_per_minute",
                optional("gocardless_account_calls_per_minute") or str(GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE),
            ),
            api_docs=_flag("api_docs", node.try_get_context("api_docs"), default=stage != PRODUCTION_STAGE),
        )
        config._validate()
        return config

    def _validate(self) -> None:
        if not _STAGE_PATTERN.match(self.stage):
            raise ValueError(f"stage '{self.stage}' must be lower-case letters, digits and dashes")
        try:  # the customers read the version's text (GET /eula): it ships with the code
            eula_text_path(self.current_eula_version)
        except MissingEulaText as missing:
            raise ValueError(f"current_eula_version: {missing}") from None
        if self.email_domain and not self.email_sender.endswith(f"@{self.email_domain}"):
            raise ValueError(f"email_sender '{self.email_sender}' is not an address of '{self.email_domain}'")
        # The app receives callback redirects and email links; a custom API domain receives the
        # banks' callbacks: both must be origins we own.
        for key, url in (("app_base_url", self.app_base_url), ("api_base_url", self.api_base_url)):
            if url is not None and not _is_our_origin(url):
                raise ValueError(
                    f"{key} '{url}' must be an https origin with a host name"
                    " (or http://localhost / http://127.0.0.1 for dev)"
                )
        self._validate_web()
        for key, value in (
            ("gocardless_base_url", self.gocardless_base_url),
            ("plaid_base_url", self.plaid_base_url),
        ):
            if key == "plaid_base_url" and value in PLAID_ENVIRONMENTS:
                continue
            provider = _origin(value)
            if provider is None or provider[0] != "https" or provider[1] not in _PROVIDER_HOSTS[key]:
                raise ValueError(
                    f"{key} '{value}' must be https://{' or https://'.join(sorted(_PROVIDER_HOSTS[key]))}"
                )

    def _validate_web(self) -> None:
        if (self.web_domain is None) != (self.web_certificate_arn is None):
            raise ValueError(
                "web_domain and web_certificate_arn go together (the certificate must cover the domain)"
            )
        if self.web_domain is not None and not _HOST_NAME.match(self.web_domain):
            raise ValueError(
                f"web_domain '{self.web_domain}' must be a lower-case DNS name, e.g. app.firm.example"
            )
        if self.web_certificate_arn is not None and not _CLOUDFRONT_CERTIFICATE.match(
            self.web_certificate_arn
        ):
            raise ValueError(
                f"web_certificate_arn '{self.web_certificate_arn}' must be an ACM certificate in us-east-1"
                " (CloudFront uses no other region)"
            )
        prefix = self.auth_domain_prefix
        if prefix is not None and (
            not _AUTH_DOMAIN_PREFIX.match(prefix) or any(word in prefix for word in _AUTH_DOMAIN_RESERVED)
        ):
            raise ValueError(
                f"auth_domain_prefix '{prefix}' must be lower-case letters, digits and dashes, without"
                f" {', '.join(_AUTH_DOMAIN_RESERVED)}"
            )


def _positive(key: str, value: str) -> int:
    """A whole number above 0 from the context (`-c key=250`)."""
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"CDK context '{key}' must be a whole number above 0, not '{value}'")
    return int(value)


def _flag(key: str, value: object, *, default: bool) -> bool:
    """A yes/no context value: JSON true/false in cdk.json, or the text `-c key=true|false` gives."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"CDK context '{key}' must be true or false, not '{value}'")
    return text == "true"


def _origin(url: str) -> tuple[str, str] | None:
    """(scheme, host) of a bare origin; None with userinfo, a path, query, fragment, whitespace or
    backslashes (which browsers and URL parsers read differently)."""
    if any(char in url for char in "\\ \t\r\n"):
        return None
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or not url.startswith(f"{parts.scheme}://") or "@" in parts.netloc:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return parts.scheme, host


def _is_our_origin(url: str) -> bool:
    """An https origin with a host name, or plain http on this machine (dev)."""
    origin = _origin(url)
    if origin is None:
        return False
    scheme, host = origin
    return (scheme == "https" and not _is_ip_literal(host)) or (scheme == "http" and host in _LOCAL_HOSTS)


def _is_ip_literal(host: str) -> bool:
    """An IP address, in any form a browser reads as one (a numeric last label: 2852039166, 0xA9FEA9FE)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return re.fullmatch(r"0x[0-9a-f]*|[0-9]+", host.rsplit(".", 1)[-1]) is not None
    return True
