"""The app and its one stack, composed from the constructs that build `infra/spec.py`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsii
from aws_cdk import App, CfnOutput, IResolveContext, IStringProducer, Lazy, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra.config import StageConfig
from infra.constructs.alarms import Alarms
from infra.constructs.api import Api
from infra.constructs.data import Data
from infra.constructs.email import Email
from infra.constructs.functions import Functions, GrantTargets
from infra.constructs.keys import Keys
from infra.constructs.queues import Queues
from infra.constructs.schedules import Schedules
from infra.constructs.secrets import Secrets
from infra.constructs.storage import Storage
from infra.constructs.users import add_hosted_pages
from infra.constructs.web import APP_PATH, CustomDomain, Web, console_config
from infra.naming import pascal_case
from infra.spec import COMMON_ENV, QUEUES, SIGN_IN_CHECK
from shared.adapters.aggregator.plaid import base_url_for as plaid_base_url_for

METRICS_NAMESPACE = "ClientDataSharing"
API_BASE_URL = "API_BASE_URL"  # the one COMMON_ENV value set after the API is built


def create_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """The CDK app, checked by cdk-nag's AwsSolutions pack at synth (unacknowledged errors stop it)."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = StageConfig.from_context(app.node)
    stack = ClientDataSharingStack(app, config.stack_name, config=config)
    Tags.of(stack).add("project", "client-data-sharing")
    Tags.of(stack).add("stage", config.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    return app


class ClientDataSharingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id, description=f"Client data-sharing backend ({config.stage})")
        data = Data(self, "Data")
        queues = Queues(self, "Queues")
        secrets = Secrets(self, "Secrets")
        storage = Storage(self, "Storage")
        keys = Keys(self, "Keys")
        email = Email(self, "Email", sender=config.email_sender, domain=config.email_domain)
        # The app client sends people back to the console, whose URL is the distribution's, which fronts
        # the API: the client gets that URL once the distribution exists (the distribution never
        # depends on the client).
        console_url = _Later("the console's URL")
        served_elsewhere = [config.app_base_url + APP_PATH] if config.app_base_url else []
        api = Api(
            self,
            "Api",
            app_base_urls=[Lazy.uncached_string(console_url), *served_elsewhere],
            cors_origin=config.app_base_url,
        )
        domain_prefix = config.auth_domain_prefix or f"{config.stack_name.lower()}-{self.account}"
        hosted_pages = add_hosted_pages(api.users, domain_prefix)
        web = Web(
            self,
            "Web",
            http_api=api.http_api,
            # The hosted pages' origin spelled from its prefix, not read from the domain resource: the
            # distribution must not depend on the pool (the pool's sign-in trigger is a function whose
            # environment holds the console's URL, which is the distribution's).
            sign_in_origin=f"https://{domain_prefix}.auth.{self.region}.amazoncognito.com",
            identity_origin=f"https://cognito-idp.{self.region}.{self.url_suffix}",
            plaid_api_origin=_origin(plaid_base_url_for(config.plaid_base_url)),
            domain=(
                CustomDomain(config.web_domain, config.web_certificate_arn)
                if config.web_domain and config.web_certificate_arn
                else None
            ),
        )
        console_url.value = web.app_base_url
        web.deploy(
            Path(config.web_dist),
            console_config(web=web, users=api.users, hosted_pages=hosted_pages, region=self.region),
        )
        # Emailed links and the banks' redirects: the console, or the front end served elsewhere.
        app_base_url = served_elsewhere[0] if served_elsewhere else web.app_base_url
        functions = Functions(
            self,
            "Functions",
            targets=GrantTargets(
                tables=data.tables,
                queues=queues.queues,
                secrets=secrets.secrets,
                email=email,
                users=api.users,
                buckets=storage.buckets,
                keys=keys.keys,
            ),
            common_environment=_common_environment(config, email, app_base_url),
            metrics_namespace=METRICS_NAMESPACE,
        ).functions
        for key, queue_spec in QUEUES.items():
            # Workers park a message in its DLQ themselves, with the reason (shared/worker.py).
            queues.dead_letter_queues[key].grant_send_messages(functions[queue_spec.consumer])
        api.add_routes(functions, docs=config.api_docs)
        # Staff's TOTP record checked before each token the pool issues (issue 17, R-ID-4).
        api.users.check_tokens_with(functions[SIGN_IN_CHECK])
        # Known only once the API exists: aggregator callbacks and webhooks point at it.
        api_base_url = config.api_base_url or api.http_api.api_endpoint
        for function in functions.values():
            function.add_environment(API_BASE_URL, api_base_url)
        Schedules(
            self, "Schedules", functions=functions, dead_letter_queue=queues.schedules_dead_letter_queue
        )
        alarms = Alarms(
            self,
            "Alarms",
            dead_letter_queues=queues.dead_letter_queues,
            functions=functions,
            email=config.alarm_email,
        )

        CfnOutput(self, "ApiUrl", value=api.stage.url)
        CfnOutput(self, "UserPoolId", value=api.users.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=api.users.user_pool_client.user_pool_client_id)
        CfnOutput(self, "AlarmTopicArn", value=alarms.topic.topic_arn)
        # What the operator's command (tools/firms.py) needs to email a firm's first admin as the
        # functions email everyone: the sender, the configuration set, the links' origin.
        CfnOutput(self, "AppBaseUrl", value=app_base_url)
        CfnOutput(self, "WebConsoleUrl", value=web.app_base_url + "/")
        CfnOutput(self, "WebDistributionId", value=web.distribution.distribution_id)
        CfnOutput(self, "SignInDomain", value=hosted_pages.base_url())
        CfnOutput(self, "EmailSender", value=config.email_sender)
        CfnOutput(self, "EmailConfigurationSetName", value=email.configuration_set.configuration_set_name)
        for key, table in data.tables.items():
            CfnOutput(self, f"{pascal_case(key)}TableName", value=table.table_name)
        for key, secret in secrets.secrets.items():
            CfnOutput(self, f"{pascal_case(key)}SecretName", value=secret.secret_name)


@jsii.implements(IStringProducer)
class _Later:
    """A string known only once a later construct exists (`Lazy.string`); the synth fails if it never is."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.value: str | None = None

    def produce(self, context: IResolveContext) -> str:
        if self.value is None:
            raise ValueError(f"{self.what} was never set")
        return self.value


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: what a Content-Security-Policy names."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _common_environment(config: StageConfig, email: Email, app_base_url: str) -> dict[str, str]:
    """The values of `spec.COMMON_ENV`; fails the synth if the two lists drift apart."""
    values = {
        "STAGE": config.stage,
        "APP_BASE_URL": app_base_url,
        "EMAIL_SENDER": config.email_sender,
        "SES_CONFIGURATION_SET": email.configuration_set.configuration_set_name,
        "GOCARDLESS_BASE_URL": config.gocardless_base_url,
        "PLAID_BASE_URL": config.plaid_base_url,
        "DEFAULT_FIRM_TIMEZONE": config.default_firm_timezone,
        "CURRENT_EULA_VERSION": config.current_eula_version,
        "GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE": str(config.gocardless_account_calls_per_minute),
    }
    if values.keys() | {API_BASE_URL} != set(COMMON_ENV):
        raise ValueError(f"COMMON_ENV {sorted(COMMON_ENV)} and the stack's values {sorted(values)} differ")
    return values
