"""The operator's command for firms (R-ID-2): create a firm with its first admin, list the firms.

    python -m tools.firms create --name "Example Advisory LLP" --timezone Europe/London \\
        --admin-email jane@firm.example [--admin-name "Jane Doe"] \\
        (--stack NAME | --local URL | --table-name T --user-pool-id P)
    python -m tools.firms list (--stack NAME | --local URL | --table-name T)

Where: `--stack ClientDataSharing-prod` reads the stack's outputs (`DataTableName`, `UserPoolId`) with
the AWS credentials of the shell; `--local http://127.0.0.1:<port>` is the local system's moto (the
URL its banner prints: table `data`, its one user pool); or name the table and the pool yourself.

`create` makes the admin's sign-in account in the user pool with a one-time temporary password,
printed once here: the pool makes them choose their own at the first sign-in. Someone who already
has an account keeps it (no password is printed). Then the firm, the admin's profile and membership,
and a `firm.created` audit event (shared/services/firms.py). Further staff are invited by the admins.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from shared.domain.errors import DomainError
from shared.ports.directory import UserDirectory
from shared.services import firms
from shared.services.staff import StaffPorts

LOCAL_TABLE = "data"  # local/provision.py names each table by its spec key
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class Target:
    table_name: str
    user_pool_id: str | None


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.firms", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a firm and its first admin")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", default="Europe/London", help="IANA zone (default Europe/London)")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-name", help="default: the part of the email before @")
    listing = commands.add_parser("list", help="every firm with its admins")
    for command in (create, listing):
        where = command.add_mutually_exclusive_group(required=True)
        where.add_argument("--stack", help="a deployed stack's name, e.g. ClientDataSharing-prod")
        where.add_argument("--local", metavar="URL", help="the local system's moto endpoint (its banner)")
        where.add_argument("--table-name", help="the data table (then --user-pool-id for create)")
        command.add_argument("--user-pool-id", help="the user pool (default: from the stack or local)")
        command.add_argument("--region", help="default: the shell's AWS region")
    return parser.parse_args(argv)


def resolve_target(args: argparse.Namespace, client: Callable[[str], Any]) -> Target:
    """The table and the pool the command works on, from the stack's outputs, the local system or
    the arguments. `client(service)` makes a boto3 client."""
    pool = args.user_pool_id
    if args.stack:
        [stack] = client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return Target(outputs["DataTableName"], pool or outputs.get("UserPoolId"))
    if args.local:
        if pool is None and args.command == "create":
            pools = client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
            if len(pools) != 1:
                raise SystemExit(
                    f"the local system has {len(pools)} user pools: name one with --user-pool-id"
                )
            pool = pools[0]["Id"]
        return Target(LOCAL_TABLE, pool)
    return Target(args.table_name, pool)


def run(args: argparse.Namespace, ports: StaffPorts, out: TextIO) -> int:
    if args.command == "list":
        for firm, admins in firms.list_firms(ports):
            people = ", ".join(
                f"{a.email or a.user_id}{'' if a.active else ' (deactivated)'}" for a in admins
            )
            print(f"{firm.firm_id}  {firm.name}  ({firm.timezone})  admins: {people or '-'}", file=out)
        return 0
    try:
        created = firms.create_firm(
            ports,
            name=args.name,
            timezone=args.timezone,
            admin_email=args.admin_email,
            admin_name=args.admin_name,
        )
    except DomainError as error:
        print(f"refused: {error.message} ({error.code})", file=sys.stderr)
        return 2
    print(f"firm   {created.firm.firm_id}  {created.firm.name}  ({created.firm.timezone})", file=out)
    print(f"admin  {created.admin.email}  {created.admin.user_id}  ({created.admin.name})", file=out)
    if created.temporary_password:
        print(
            f"temporary password (shown once; they choose their own at the first sign-in): "
            f"{created.temporary_password}",
            file=out,
        )
    else:
        print("the admin already had an account: they sign in as before", file=out)
    return 0


def main(
    argv: Sequence[str] | None = None,
    directory_for: Callable[[str], UserDirectory] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """`directory_for(pool_id)`: the user directory (default: the Cognito pool; tests pass a fake)."""
    import boto3

    from shared.adapters.dynamodb.audit_log import AuditLog
    from shared.adapters.dynamodb.identity_repository import IdentityRepository
    from shared.bootstrap import reset

    args = parse(sys.argv[1:] if argv is None else argv)
    if args.local:
        os.environ["AWS_ENDPOINT_URL"] = args.local
        for name, value in LOCAL_CREDENTIALS.items():
            os.environ.setdefault(name, value)
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    reset()  # the repositories' client reads the endpoint and region just set
    target = resolve_target(args, boto3.client)
    directory = None  # listing reads our records only
    if args.command == "create":
        if not target.user_pool_id:
            raise SystemExit("no user pool: pass --user-pool-id")
        directory = (directory_for or cognito_directory)(target.user_pool_id)
    ports = StaffPorts(
        identities=IdentityRepository(target.table_name),
        directory=directory,  # type: ignore[arg-type]
        audit=AuditLog(target.table_name),
    )
    return run(args, ports, out)


def cognito_directory(user_pool_id: str) -> UserDirectory:
    from shared.adapters.cognito import CognitoDirectory

    return CognitoDirectory(user_pool_id)  # type: ignore[no-any-return]


if __name__ == "__main__":
    raise SystemExit(main())
