"""Email through SES (v2 API) with the stage's configuration set; moto's SES locally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.adapters.aws_clients import aws_client
from shared.domain.email import EmailMessage


@dataclass
class SesEmailSender:
    sender: str
    configuration_set: str

    def send(self, message: EmailMessage) -> str:
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [message.to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                }
            },
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        return str(aws_client("sesv2").send_email(**request)["MessageId"])
