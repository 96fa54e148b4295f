"""Every email the functions sent through SES (v1 or v2) on moto, read from moto's backend
in this process: the local stand-in for a mailbox, where a demo finds its invitation links."""

from __future__ import annotations

import email
import email.policy
import html
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from moto.ses.models import Message, RawMessage, ses_backends

from local.fake_aws import ACCOUNT_ID, REGION

_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Email:
    message_id: str
    sender: str
    to: list[str]
    subject: str
    body: str
    links: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from": self.sender,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
            "links": self.links,
        }


def sent_emails(account_id: str = ACCOUNT_ID, region: str = REGION, *, start: int = 0) -> list[Email]:
    """The emails sent so far, from the `start`-th (SES v2 sends through the v1 backend in moto, so one
    list holds both; the list only grows)."""
    return [_email(message) for message in ses_backends[account_id][region].sent_messages[start:]]


def sent_email_count(account_id: str = ACCOUNT_ID, region: str = REGION) -> int:
    return len(ses_backends[account_id][region].sent_messages)


def emailed_tokens(outbox: dict[str, Any], to: str, page: str) -> list[str]:
    """The `token` of each link to `page` in the emails to `to` of `GET /_local/outbox`, oldest first."""
    return [
        parse_qs(urlsplit(link).query)["token"][0]
        for sent in outbox["emails"]
        if to in sent["to"]
        for link in sent["links"]
        if urlsplit(link).path == page and "token=" in link
    ]


def links_in(text: str) -> list[str]:
    found = (html.unescape(link).rstrip(".,;:!?)]") for link in _LINK.findall(text))
    return list(dict.fromkeys(found))


def _email(message: Any) -> Email:
    if isinstance(message, Message):
        to = [address for addresses in message.destinations.values() for address in addresses]
        return Email(message.id, message.source, to, message.subject, message.body, links_in(message.body))
    if isinstance(message, RawMessage):
        parsed = cast(EmailMessage, email.message_from_string(message.raw_data, policy=email.policy.default))
        part = parsed.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        sender = message.source or str(parsed["from"])
        to = list(dict.fromkeys(message.destinations))  # moto adds the To header's addresses again
        return Email(message.id, sender, to, str(parsed["subject"]), body, links_in(body))
    # Templated sends: moto keeps the template name and data, not a rendered message.
    kind = type(message).__name__
    return Email(getattr(message, "id", "?"), message.source, [], f"({kind}: not rendered locally)", "", [])


class OutboxPrinter:
    """Prints each new email with its links, so a demo sees invitations as they are sent."""

    def __init__(
        self,
        stop: threading.Event,
        read: Callable[[int], list[Email]] = lambda start: sent_emails(start=start),
        interval_seconds: float = 0.5,
        already_printed: int = 0,  # emails sent before this start (a restored state's): not printed again
    ):
        self._read = read  # the emails from the n-th: each poll reads only the new ones
        self._interval = interval_seconds
        self._printed = already_printed
        self._stop = stop
        self._thread = threading.Thread(target=self._run, name="outbox-printer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def print_new(self) -> None:
        emails = self._read(self._printed)
        for sent in emails:
            lines = [f'[outbox] email to {", ".join(sent.to)}: "{sent.subject}"']
            lines += [f"[outbox]   link: {link}" for link in sent.links]
            print("\n".join(lines), flush=True)
        self._printed += len(emails)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.print_new()
