"""The operator's command (tools/firms.py) on moto: a firm is created and its first admin invited by
email (SES), the admin creates their account from the link (the user pool in memory) and acts at
once; `invite-admin` and `list`; the resources come from a stack's outputs, the local system or the
arguments. The rules are unit tests (tests/unit/test_firm_creation.py)."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from functions.invitations_api import handler as invitations
from shared import bootstrap
from tests.fakes import FakeDirectory
from tests.integration.onboarding_support import (
    Person,
    call,
    confirm_totp,
    invitation_links,
    use_fake_directory,
)
from tools import firms as tool

PASSWORD = "Correct-Horse-42-battery"
WHERE = [
    "--table-name",
    "data",
    "--audit-table-name",
    "audit",
    "--app-base-url",
    "https://app.firm.example",
    "--email-sender",
    "no-reply@example.com",
    "--configuration-set",
    "emails",
]


@pytest.fixture
def directory(aws) -> FakeDirectory:
    boto3.client("sesv2").create_email_identity(EmailIdentity="no-reply@example.com")
    return use_fake_directory()  # the pool the functions use when the admin accepts


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = tool.main(list(argv), out=out)
    return status, out.getvalue()


def staff_link(email: str) -> tuple[str, str]:
    """(path, token) of the newest staff invitation link emailed to `email`."""
    return [(p, t) for p, t in invitation_links(email) if "staff" in p][-1]


def create_account(token: str) -> tuple[int, Any]:
    body = {"token": token, "password": PASSWORD}
    return call(invitations, "POST", "/staff-invitations/create-account", None, body=body)


def test_create_makes_the_firm_and_emails_its_admin_who_creates_an_account_and_acts_at_once(directory):
    create = ["create", "--name", "Example Advisory LLP", "--admin-email", "Jane@Firm.example"]
    status, printed = run(*create, "--admin-name", "Jane Doe", *WHERE)
    assert status == 0 and "invitation emailed" in printed and "jane@firm.example" in printed
    firm_id = printed.split()[1]
    assert directory.users == {}  # no account before the admin accepts
    path, token = staff_link("jane@firm.example")
    assert path == "/staff-invitations/accept"  # on the app's origin: https://app.firm.example
    assert [link for e in _emails("jane@firm.example") for link in e.links][-1].startswith(
        "https://app.firm.example/"
    )
    assert create_account(token) == (200, {"firm_name": "Example Advisory LLP", "role": "admin"})
    [user_id] = directory.created
    jane = Person(user_id, "jane@firm.example")
    member = {"user_id": user_id, "name": "Jane Doe", "email": jane.email, "role": "admin", "active": True}
    assert confirm_totp(directory, jane)[0] == 200  # her second factor first (R-ID-4)
    assert call(invitations, "GET", "/staff", jane) == (200, {"items": [member]})
    actions = [(e.action, e.actor_id) for e in reversed(bootstrap.audit_log().page(firm_id)[0])]
    assert actions == [
        ("firm.created", "operator"),
        ("staff.invitation_sent", "operator"),
        ("staff.invitation_accepted", user_id),
        ("staff.mfa_enrolled", user_id),
    ]
    status, listed = run("list", "--table-name", "data")
    assert (status, listed.split()[:2]) == (0, [firm_id, "Example"]) and "jane@firm.example" in listed
    # the firm has its admin: the operator's part is over
    again = ["invite-admin", "--firm-id", firm_id, "--admin-email", "max@firm.example", *WHERE]
    assert run(*again) == (2, "")


def test_invite_admin_sends_a_fresh_link_while_the_firm_has_no_admin(directory, capsys):
    _, printed = run("create", "--name", "Firm", "--admin-email", "jane@firm.example", *WHERE)
    firm_id = printed.split()[1]
    _, old = staff_link("jane@firm.example")
    again = ["invite-admin", "--firm-id", firm_id, "--admin-email", "jane@firm.example", *WHERE]
    assert run(*again)[0] == 0
    _, new = staff_link("jane@firm.example")
    assert new != old and create_account(old)[1]["code"] == "invitation_invalid"
    assert create_account(new)[0] == 200
    assert run(*again) == (2, "") and "firm_has_admin" in capsys.readouterr().err


def test_an_invalid_firm_is_refused_and_nothing_is_written(directory, capsys):
    create = ["create", "--name", "Firm", "--timezone", "Mars/Olympus", "--admin-email", "a@b.example"]
    assert run(*create, *WHERE) == (2, "")
    assert "invalid_timezone" in capsys.readouterr().err
    assert run("list", "--table-name", "data") == (0, "") and _emails("a@b.example") == []


def test_inviting_without_what_an_email_needs_is_refused_before_anything_is_written(directory):
    with pytest.raises(SystemExit, match="--app-base-url"):
        run("create", "--name", "Firm", "--admin-email", "a@b.example", "--table-name", "data")
    assert run("list", "--table-name", "data") == (0, "")


class Clients:
    def __init__(self, **services: Any) -> None:
        self.services = services

    def __call__(self, service: str) -> Any:
        return self.services[service]


def test_the_resources_come_from_the_stack_outputs_or_the_local_system():
    outputs = {
        "DataTableName": "prod-data",
        "AppBaseUrl": "https://app.firm.example",
        "EmailSender": "no-reply@firm.example",
        "EmailConfigurationSetName": "prod-emails",
        "UserPoolId": "eu-west-2_prod",
        "AuditTableName": "prod-audit",
    }
    stacks = {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}
    cloudformation = SimpleNamespace(describe_stacks=lambda **_: stacks)
    create = ["create", "--name", "F", "--admin-email", "a@b.example"]
    args = tool.parse([*create, "--stack", "ClientDataSharing-prod"])
    assert tool.resolve_target(args, Clients(cloudformation=cloudformation)) == tool.Target(
        "prod-data", "https://app.firm.example", "no-reply@firm.example", "prod-emails", "prod-audit"
    )
    older = {"Stacks": [{"Outputs": [{"OutputKey": "DataTableName", "OutputValue": "prod-data"}]}]}
    with pytest.raises(SystemExit, match="AppBaseUrl"):
        tool.resolve_target(args, Clients(cloudformation=SimpleNamespace(describe_stacks=lambda **_: older)))

    asked: list[str] = []

    def local_pool(api: str) -> Any:
        asked.append(api)
        return SimpleNamespace(aws_endpoint_url="http://127.0.0.1:5999", region="eu-west-2")

    args = tool.parse([*create, "--local"])
    assert tool.resolve_target(args, Clients(), local_pool) == tool.Target(
        "data",
        "http://127.0.0.1:3000/app",
        "no-reply@example.com",
        "local-emails",
        "audit",
        aws_endpoint_url="http://127.0.0.1:5999",
        region="eu-west-2",
    )
    args = tool.parse([*create, "--local", "http://127.0.0.1:3100/"])
    assert tool.resolve_target(args, Clients(), local_pool).app_base_url == "http://127.0.0.1:3100/app"
    assert asked == ["http://127.0.0.1:3000", "http://127.0.0.1:3100"]


def _emails(to: str) -> list[Any]:
    from local.outbox import sent_emails

    return [e for e in sent_emails() if to in e.to]
