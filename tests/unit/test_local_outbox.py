"""The outbox reads what SES v1 and v2 sent on moto, and prints each new email once."""

from __future__ import annotations

import threading
from email.message import EmailMessage

import boto3
import pytest
from moto import mock_aws

from local.outbox import Email, OutboxPrinter, links_in, sent_emails
from local.provision import create_email_sending

SENDER = "no-reply@example.com"


@pytest.fixture
def ses():
    with mock_aws():
        create_email_sending(SENDER, "local-emails")
        yield


def test_emails_sent_through_ses_v1_and_v2_are_in_the_outbox(ses):
    boto3.client("ses").send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["a@example.com"]},
        Message={"Subject": {"Data": "v1"}, "Body": {"Text": {"Data": "Open http://127.0.0.1:3000/x?t=1."}}},
    )
    boto3.client("sesv2").send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["b@example.com"], "CcAddresses": ["c@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "v2"},
                "Body": {"Html": {"Data": '<a href="http://127.0.0.1:3000/i?a=1&amp;b=2">Join</a>'}},
            }
        },
        ConfigurationSetName="local-emails",
    )
    first, second = sent_emails()
    assert (first.sender, first.to, first.subject) == (SENDER, ["a@example.com"], "v1")
    assert first.links == ["http://127.0.0.1:3000/x?t=1"]
    assert (second.to, second.subject) == (["b@example.com", "c@example.com"], "v2")
    assert second.links == ["http://127.0.0.1:3000/i?a=1&b=2"]


def test_a_raw_mime_email_shows_its_text_part(ses):
    mime = EmailMessage()
    mime["From"], mime["To"], mime["Subject"] = SENDER, "d@example.com", "Raw one"
    mime.set_content("Plain: https://example.com/plain")
    mime.add_alternative("<p>Html: https://example.com/html</p>", subtype="html")
    boto3.client("sesv2").send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["d@example.com"]},
        Content={"Raw": {"Data": mime.as_bytes()}},
    )
    (sent,) = sent_emails()
    assert sent.subject == "Raw one" and sent.to == ["d@example.com"]
    assert sent.body.strip() == "Plain: https://example.com/plain"
    assert sent.links == ["https://example.com/plain"]


def test_links_are_found_once_without_trailing_punctuation():
    text = "Go to https://a.example/x. Or (https://a.example/y), again https://a.example/x"
    assert links_in(text) == ["https://a.example/x", "https://a.example/y"]


def test_each_new_email_is_printed_once_with_its_links(capsys):
    outbox: list[Email] = []
    starts: list[int] = []

    def read(start: int) -> list[Email]:
        starts.append(start)
        return outbox[start:]

    printer = OutboxPrinter(threading.Event(), read=read)
    outbox.append(Email("1", SENDER, ["a@example.com"], "Welcome", "body", ["http://x/1"]))
    printer.print_new()
    printer.print_new()
    out = capsys.readouterr().out
    assert out.count("Welcome") == 1 and "a@example.com" in out and "http://x/1" in out
    assert starts == [0, 1]  # each poll reads only what is new: its cost does not grow with the outbox


def test_a_restored_outbox_is_not_printed_again(capsys):
    outbox = [Email(str(n), SENDER, ["a@example.com"], f"Old {n}", "body", []) for n in range(3)]
    printer = OutboxPrinter(threading.Event(), read=lambda start: outbox[start:], already_printed=3)
    outbox.append(Email("4", SENDER, ["b@example.com"], "New one", "body", []))
    printer.print_new()
    out = capsys.readouterr().out
    assert "New one" in out and "Old" not in out
