"""Shared set-up for the onboarding tests: demo data, a second firm, the outbox, calling the API."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3

from local.demo_data import DEMO_FIRM, DEMO_USERS, seed_demo_data
from local.outbox import sent_emails
from shared import bootstrap
from shared.adapters.dynamodb.identity_repository import IdentityRepository
from shared.domain.accounts import SharedAccount
from shared.domain.identity import Firm, StaffMembership, StaffRole
from shared.domain.mfa import MfaEnrolment
from tests.conftest import FakeLambdaContext, api_event
from tests.fakes import FakeDirectory

ADMIN, ADVISER, CUSTOMER = DEMO_USERS
OTHER_FIRM = Firm("01JOTHERFIRM000000000000000", "Other Practice", "Europe/Paris")


@dataclass(frozen=True)
class Person:
    sub: str
    email: str


OTHER_ADVISER = Person("other-firm-adviser", "adviser@other-practice.example")
INVITEE = Person("invitee-sub-1", "jane.doe@example.org")


def seed_firms() -> None:
    seed_demo_data("data")
    identities = IdentityRepository("data")
    identities.put_firm(OTHER_FIRM)
    identities.put_membership(StaffMembership(OTHER_FIRM.firm_id, OTHER_ADVISER.sub, StaffRole.ADMIN))
    enrol_mfa(OTHER_ADVISER)
    boto3.client("sesv2").create_email_identity(EmailIdentity="no-reply@example.com")


def enrol_mfa(*people: Any) -> None:
    """These staff confirmed a TOTP second factor (every staff caller of the tests has: staff routes
    answer 403 mfa_required without it, R-ID-4); the demo staff are enrolled by `seed_demo_data`."""
    identities = bootstrap.identity_repository()
    for person in people:
        identities.save_mfa_enrolment(MfaEnrolment(person.sub, datetime(2026, 6, 1, tzinfo=UTC)), [])


def confirm_totp(directory: FakeDirectory, person: Any) -> tuple[int, Any]:
    """A new staff member's first step (R-ID-4): they enrol an authenticator app with the pool (in
    `directory`, in memory), then confirm it through the API."""
    from functions.platform_api import handler as platform

    directory.totp.add(person.sub)
    return call(platform, "POST", "/me/mfa/confirm", person)


def use_fake_directory() -> FakeDirectory:
    """The user pool, in memory, for the routes that create accounts (accepting an invitation
    without one): set on the cached ports until the next `bootstrap.reset()`."""
    directory = FakeDirectory()
    bootstrap.onboarding().directory = directory
    bootstrap.file_access().directory = directory
    bootstrap.staff_invitations().directory = directory
    return directory


def call(handler_module: Any, method: str, route: str, user: Any = None, **kwargs: Any) -> tuple[int, Any]:
    response = handler_module.lambda_handler(
        api_event(method, route, user=user, **kwargs), FakeLambdaContext()
    )
    body = response.get("body")
    return response["statusCode"], json.loads(body) if body else None


def invitation_tokens(to: str) -> list[str]:
    """The tokens of every invitation link emailed to `to`, oldest first."""
    return [token for _, token in invitation_links(to)]


def invitation_links(to: str) -> list[tuple[str, str]]:
    """(path, token) of every link with a token emailed to `to`, oldest first."""
    found = []
    for email in sent_emails():
        if to in email.to:
            for link in email.links:
                parsed = urlparse(link)
                query = parse_qs(parsed.query)
                if "token" in query:
                    found.append((parsed.path, query["token"][0]))
    return found


def shared_account(customer_id: str, number: int, firm_id: str = DEMO_FIRM.firm_id) -> SharedAccount:
    return SharedAccount(
        firm_id=firm_id,
        customer_id=customer_id,
        account_id=f"acct-{number}",
        connection_id="conn-1",
        institution_name="Northwind Bank",
        masked_identifier=f"•••• 000{number}",
        name=f"Current account {number}",
        currency="GBP",
        balance=Decimal("1234.56"),
        last_updated=datetime(2026, 11, 21, 6, tzinfo=UTC),
    )


def take_first_imports() -> list[dict[str, Any]]:
    """The first-import jobs that accepting accounts queued (issue 16: "data right after
    accepting"), taken off the import queue so that a test's own jobs are alone on it. Anything
    else found there fails the test: a set-up queues nothing but those."""
    sqs = boto3.client("sqs")
    url = os.environ["IMPORT_QUEUE_URL"]
    taken: list[dict[str, Any]] = []
    for _ in range(20):  # bounded
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return taken
        for message in messages:
            job = json.loads(message["Body"])
            assert job["reason"] == "accepted", job
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            taken.append(job)
    raise AssertionError("the import queue never emptied")
