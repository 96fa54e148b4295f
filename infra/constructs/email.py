"""SES sender identity and configuration set, and the one permission to send through them."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from constructs import Construct


class Email(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, sender: str, domain: str | None) -> None:
        super().__init__(scope, construct_id)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
            # Invitation links are credentials (R-INV-2): never hand them to a server without TLS.
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
        )
        self.identity = ses.EmailIdentity(
            self,
            "SenderIdentity",
            identity=ses.Identity.domain(domain) if domain else ses.Identity.email(sender),
            configuration_set=self.configuration_set,
        )

    def grant_send(self, grantee: iam.IGrantable) -> iam.Grant:
        """ses:SendEmail/SendRawEmail on this identity and configuration set only."""
        configuration_set_arn = Stack.of(self).format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resource_arns=[self.identity.email_identity_arn, configuration_set_arn],
        )
