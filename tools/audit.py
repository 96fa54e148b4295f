"""The operator's check of a firm's audit log (R-PRIV-4): are its hash chains whole?

    python -m tools.audit verify --firm 01J… WHERE [--anchor LANE:POSITION:HASH …]

WHERE is `--stack ClientDataSharing-prod`, `--local [URL]` or `--table-name <the audit table>`, as
for tools/firms.py. It reads each of the firm's chains (strongly consistent), recomputes every
event's hash and link, and prints every break with its lane and position: an altered event, events
removed from the start or the middle of a chain, an inserted or reordered one, an event listed
outside the chains. Exit status 1 when anything is broken, 0 otherwise.

It prints each chain's tip (`anchor LANE:POSITION:HASH`). Kept somewhere the table's writers cannot
change (a ticket, a signed email), they let a later run detect what a chain alone cannot: its newest
events removed, or the chain rewritten from some position on with hashes computed again (see
shared/domain/audit_chain.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from shared.domain.audit_chain import Anchor
from shared.ports.audit import AuditChains
from shared.services.audit import verify_audit_chains
from tools import firms


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.audit", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check a firm's audit chains")
    verify.add_argument("--firm", required=True, help="the firm's id")
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        type=_anchor,
        help="a tip an earlier run printed (LANE:POSITION:HASH); repeat for each lane",
    )
    firms.add_where(verify, "the audit table")
    return parser.parse_args(argv)


def _anchor(text: str) -> Anchor:
    try:
        return Anchor.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not LANE:POSITION:HASH: {text!r}") from None


def run(args: argparse.Namespace, chains: AuditChains, out: TextIO) -> int:
    report = verify_audit_chains(chains, args.firm, {anchor.lane: anchor for anchor in args.anchor})
    for found in report.breaks:
        print(f"BREAK {found}", file=out)
    for tip in report.tips:
        print(f"anchor {tip}", file=out)
    verdict = f"{len(report.breaks)} break(s)" if report.breaks else "intact"
    print(f"firm {args.firm}: {report.events} events in {len(report.tips)} chain(s): {verdict}", file=out)
    return 1 if report.breaks else 0


def main(
    argv: Sequence[str] | None = None,
    chains_for: Callable[[str], AuditChains] | None = None,
    out: TextIO = sys.stdout,
    client: Callable[[str], Any] | None = None,
) -> int:
    """`chains_for(table_name)`: the chains the command reads (default: the DynamoDB audit log)."""
    import boto3

    args = parse(sys.argv[1:] if argv is None else argv)
    target = firms.connect(args, client or boto3.client)
    return run(args, (chains_for or _audit_log)(target.audit_table_name or target.table_name), out)


def _audit_log(table_name: str) -> AuditChains:
    from shared.adapters.dynamodb.audit_log import AuditLog

    return AuditLog(table_name)


if __name__ == "__main__":
    raise SystemExit(main())
