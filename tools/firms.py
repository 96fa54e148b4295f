"""The operator's command for firms (R-ID-2): create a firm and invite its first admin, list the firms.

    python -m tools.firms create --name "Example Advisory LLP" --timezone Europe/London \\
        --admin-email jane@firm.example [--admin-name "Jane Doe"] WHERE
    python -m tools.firms invite-admin --firm-id 01J… --admin-email jane@firm.example WHERE
    python -m tools.firms list WHERE

WHERE is `--stack ClientDataSharing-prod` (the stack's outputs, with the AWS credentials of the
shell), `--local [URL]` (the local system whose API is at URL, default http://127.0.0.1:3000), or
the resources named one by one (`--table-name`, and to invite: `--audit-table-name`, `--app-base-url`,
`--email-sender`, `--configuration-set`). tools/audit.py finds its table the same way.

`create` writes the firm and emails its first admin an invitation, as the functions email everyone
(the same sender, configuration set and link origin): the admin follows the link, chooses a
password (or signs in, with an account already) and is the firm's admin. Nobody gets a password
from the operator. `invite-admin` invites again while the firm has no active admin (the first
email lost, a wrong address); from then on the firm's admins invite their staff.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, cast

from shared.domain.errors import DomainError
from shared.ports.directory import UserDirectory
from shared.services import firms
from shared.services.staff_invitations import StaffInvitationPorts, invite_first_admin

LOCAL_API = "http://127.0.0.1:3000"
LOCAL_TABLE = "data"  # local/provision.py names each table by its spec key
LOCAL_AUDIT_TABLE = "audit"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
STACK_OUTPUTS = ("DataTableName", "AppBaseUrl", "EmailSender", "EmailConfigurationSetName", "AuditTableName")
INVITING = ("create", "invite-admin")  # the commands that email (and audit) an invitation


@dataclass(frozen=True)
class Target:
    """Where the command works: the data table, and what an invitation email needs."""

    table_name: str
    app_base_url: str | None = None
    email_sender: str | None = None
    configuration_set: str | None = None
    audit_table_name: str | None = None  # where the firm.created and invitation events go
    aws_endpoint_url: str | None = None  # the local system's moto
    region: str | None = None


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.firms", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a firm and invite its first admin")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", default="Europe/London", help="IANA zone (default Europe/London)")
    invite = commands.add_parser("invite-admin", help="invite an admin to a firm that has none active")
    invite.add_argument("--firm-id", required=True)
    for command in (create, invite):
        command.add_argument("--admin-email", required=True)
        command.add_argument("--admin-name", help="default: the part of the email before @")
    listing = commands.add_parser("list", help="every firm with its admins")
    for command in (create, invite, listing):
        add_where(command, "the data table (to invite, with the four below)")
        command.add_argument("--audit-table-name", help="the audit table (AUDIT_TABLE_NAME)")
        command.add_argument("--app-base-url", help="the origin of the emailed links (APP_BASE_URL)")
        command.add_argument("--email-sender", help="the verified sender (EMAIL_SENDER)")
        command.add_argument("--configuration-set", help="the SES configuration set (SES_CONFIGURATION_SET)")
    return parser.parse_args(argv)


def add_where(command: argparse.ArgumentParser, table_help: str) -> None:
    """WHERE: `--stack NAME | --local [URL] | --table-name NAME`, and `--region`."""
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="a deployed stack's name, e.g. ClientDataSharing-prod")
    where.add_argument(
        "--local",
        metavar="URL",
        nargs="?",
        const=LOCAL_API,
        help=f"the local system's API (default {LOCAL_API})",
    )
    where.add_argument("--table-name", help=table_help)
    command.add_argument("--region", help="default: the shell's AWS region")


def resolve_target(
    args: argparse.Namespace, client: Callable[[str], Any], local_pool: Callable[[str], Any] | None = None
) -> Target:
    """The resources the command works on, from the stack's outputs, the local system or the
    arguments. `client(service)` makes a boto3 client; `local_pool(api_url)` reads the local
    system's `/_local/user-pool` (its moto endpoint and region)."""
    if args.stack:
        [stack] = client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        missing = [name for name in STACK_OUTPUTS if name not in outputs]
        if missing:
            raise SystemExit(f"the stack has no output {', '.join(missing)}: deploy this version first")
        return Target(*(outputs[name] for name in STACK_OUTPUTS))
    if args.local:
        from local.environment import APP_PAGES_PREFIX, EMAIL_SENDER, SES_CONFIGURATION_SET

        api = args.local.rstrip("/")
        pool = (local_pool or _local_pool)(api)
        return Target(
            LOCAL_TABLE,
            api + APP_PAGES_PREFIX,
            EMAIL_SENDER,
            SES_CONFIGURATION_SET,
            LOCAL_AUDIT_TABLE,
            aws_endpoint_url=pool.aws_endpoint_url,
            region=pool.region,
        )
    named = ("app_base_url", "email_sender", "configuration_set", "audit_table_name")
    target = Target(args.table_name, *(getattr(args, name, None) for name in named))
    if args.command in INVITING and not all(getattr(target, name) for name in named):
        raise SystemExit(
            "to invite, name --app-base-url, --email-sender, --configuration-set and --audit-table-name too"
        )
    return target


def run(args: argparse.Namespace, ports: StaffInvitationPorts, out: TextIO) -> int:
    if args.command == "list":
        for firm, admins in firms.list_firms(ports.identities):
            people = ", ".join(
                f"{a.email or a.user_id}{'' if a.active else ' (deactivated)'}" for a in admins
            )
            print(f"{firm.firm_id}  {firm.name}  ({firm.timezone})  admins: {people or '-'}", file=out)
        return 0
    try:
        if args.command == "create":
            created = firms.create_firm(
                ports,
                name=args.name,
                timezone=args.timezone,
                admin_email=args.admin_email,
                admin_name=args.admin_name,
            )
            firm, invitation = created.firm, created.invitation
            print(f"firm   {firm.firm_id}  {firm.name}  ({firm.timezone})", file=out)
        else:
            email = args.admin_email
            name = (args.admin_name or "").strip() or email.split("@")[0]
            invitation = invite_first_admin(ports, args.firm_id, email=email, name=name).invitation
    except DomainError as error:
        print(f"refused: {error.message} ({error.code})", file=sys.stderr)
        return 2
    print(
        f"admin  {invitation.email}  ({invitation.name}): invitation emailed, "
        f"valid until {invitation.invitation.expires_at:%Y-%m-%d %H:%M} UTC",
        file=out,
    )
    return 0


def main(
    argv: Sequence[str] | None = None,
    ports_for: Callable[[Target], StaffInvitationPorts] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """`ports_for(target)`: the ports the command runs on (default: the target's DynamoDB table
    and SES; tests pass their own)."""
    import boto3

    args = parse(sys.argv[1:] if argv is None else argv)
    target = connect(args, boto3.client)
    return run(args, (ports_for or aws_ports)(target), out)


def connect(args: argparse.Namespace, client: Callable[[str], Any]) -> Target:
    """The target of WHERE, with this process's AWS settings pointed at it (the region asked for;
    the local system's moto endpoint and its dummy credentials)."""
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    target = resolve_target(args, client)
    if target.aws_endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = target.aws_endpoint_url
        os.environ["AWS_DEFAULT_REGION"] = target.region or os.environ.get("AWS_DEFAULT_REGION", "")
        for name, value in LOCAL_CREDENTIALS.items():
            os.environ.setdefault(name, value)
    return target


def aws_ports(target: Target) -> StaffInvitationPorts:
    """The table's repositories and SES, as the functions have them (shared/bootstrap.py)."""
    from shared.adapters.dynamodb.audit_log import AuditLog
    from shared.adapters.dynamodb.identity_repository import IdentityRepository
    from shared.adapters.dynamodb.limits_repository import DynamoLimiter
    from shared.adapters.dynamodb.staff_invitations_repository import StaffInvitationsRepository
    from shared.adapters.email import SesEmailSender

    return StaffInvitationPorts(
        invitations=StaffInvitationsRepository(target.table_name),
        identities=IdentityRepository(target.table_name),
        audit=AuditLog(target.audit_table_name or ""),
        email=SesEmailSender(target.email_sender or "", target.configuration_set or ""),
        # Inviting never reaches the pool: the invitee's account is made when they accept.
        directory=cast(UserDirectory, _NoDirectory()),
        app_base_url=target.app_base_url or "",
        limits=DynamoLimiter(target.table_name),  # the operator's invitations count like anyone's
    )


class _NoDirectory:
    """The operator's command needs no user pool: any call to one is a mistake, said loudly."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"tools.firms does not use the user pool ({name})")


def _local_pool(api_url: str) -> Any:
    from urllib.parse import urlsplit

    from local.user_pool import running_pool

    parts = urlsplit(api_url)
    return running_pool(parts.port or 80, parts.hostname or "127.0.0.1")


if __name__ == "__main__":
    raise SystemExit(main())
