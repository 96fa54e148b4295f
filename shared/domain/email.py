"""An email as the services compose it; the adapter sends it (SES in AWS, moto locally)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str


class EmailSender(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Send and return the provider's message id."""
        ...
