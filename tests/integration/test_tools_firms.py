"""The operator's command (tools/firms.py) on moto, with a fake user directory in place of the pool:
a firm and its first admin are created, the one-time password is printed once, the admin can act at
once; the table and pool come from a stack's outputs, the local system or the arguments."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest

from functions.invitations_api import handler as invitations
from shared import bootstrap
from tests.integration.onboarding_support import Person, call
from tests.integration.staff_support import staff_directory
from tests.staff_fakes import FakeDirectory
from tools import firms as tool

__all__ = ["staff_directory"]
WHERE = ["--table-name", "data", "--user-pool-id", "eu-west-2_pool"]


def run(*argv: str, directory: FakeDirectory) -> tuple[int, str]:
    out = io.StringIO()
    pools: list[str] = []

    def directory_for(pool_id: str) -> FakeDirectory:
        pools.append(pool_id)
        return directory

    status = tool.main(list(argv), directory_for=directory_for, out=out)
    assert set(pools) <= {"eu-west-2_pool"}
    return status, out.getvalue()


def test_create_makes_the_firm_and_an_admin_who_can_act_at_once(aws, staff_directory):
    directory = FakeDirectory()
    create = ["create", "--name", "Example Advisory LLP", "--admin-email", "jane@firm.example"]
    status, printed = run(*create, "--admin-name", "Jane Doe", *WHERE, directory=directory)
    assert status == 0
    [user] = directory.users.values()
    password = directory.temporary[user.user_id]
    assert printed.count(password) == 1 and "first sign-in" in printed
    firm_id = printed.split()[1]
    jane = Person(user.user_id, "jane@firm.example")
    answer = call(invitations, "GET", "/staff", jane)
    assert answer == (
        200,
        {
            "items": [
                {
                    "user_id": user.user_id,
                    "name": "Jane Doe",
                    "email": jane.email,
                    "role": "admin",
                    "active": True,
                }
            ]
        },
    )
    [event] = bootstrap.audit_log().page(firm_id)[0]
    assert (event.action, event.actor_id) == ("firm.created", "operator")

    status, listed = run("list", "--table-name", "data", directory=directory)
    assert (status, listed.split()[:2]) == (0, [firm_id, "Example"]) and "jane@firm.example" in listed


def test_an_invalid_firm_is_refused_and_nothing_is_written(aws, capsys):
    directory = FakeDirectory()
    create = ["create", "--name", "Firm", "--timezone", "Mars/Olympus", "--admin-email", "a@b.example"]
    assert run(*create, *WHERE, directory=directory) == (2, "")
    assert "invalid_timezone" in capsys.readouterr().err
    assert directory.users == {} and run("list", "--table-name", "data", directory=directory) == (0, "")


class Clients:
    def __init__(self, **services: Any) -> None:
        self.services = services

    def __call__(self, service: str) -> Any:
        return self.services[service]


def test_the_table_and_pool_come_from_the_stack_outputs_or_the_local_system():
    outputs = [
        {"OutputKey": "DataTableName", "OutputValue": "prod-data"},
        {"OutputKey": "UserPoolId", "OutputValue": "eu-west-2_prod"},
    ]
    cloudformation = SimpleNamespace(describe_stacks=lambda **_: {"Stacks": [{"Outputs": outputs}]})
    args = tool.parse(
        ["create", "--name", "F", "--admin-email", "a@b.example", "--stack", "ClientDataSharing-prod"]
    )
    assert tool.resolve_target(args, Clients(cloudformation=cloudformation)) == tool.Target(
        "prod-data", "eu-west-2_prod"
    )
    pools = SimpleNamespace(list_user_pools=lambda **_: {"UserPools": [{"Id": "local_pool"}]})
    args = tool.parse(
        ["create", "--name", "F", "--admin-email", "a@b.example", "--local", "http://127.0.0.1:5000"]
    )
    assert tool.resolve_target(args, Clients(**{"cognito-idp": pools})) == tool.Target("data", "local_pool")
    two = SimpleNamespace(list_user_pools=lambda **_: {"UserPools": [{"Id": "a"}, {"Id": "b"}]})
    with pytest.raises(SystemExit):
        tool.resolve_target(args, Clients(**{"cognito-idp": two}))
    args = tool.parse(["list", "--local", "http://127.0.0.1:5000"])
    assert tool.resolve_target(args, Clients()) == tool.Target("data", None)
