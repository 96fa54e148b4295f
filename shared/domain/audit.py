"""Audit events: who did what to which object, when (R-ROLE-3). Append-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.clock import now as business_now

SYSTEM = "system"  # the actor of what schedules, workers and provider webhooks do


@dataclass(frozen=True)
class AuditEvent:
    firm_id: str
    actor_id: str  # the `sub` of the person, or SYSTEM
    action: str  # e.g. "invitation.sent", "account.accepted", "access.granted"
    target_type: str
    target_id: str
    details: dict[str, Any] = field(default_factory=dict)  # ids and levels only, never personal data
    occurred_at: datetime = field(default_factory=business_now)
    customer_id: str | None = None  # the customer concerned, for the per-customer audit view


class AuditKind(StrEnum):
    """The families of audit actions (`GET /audit?kind=`): an action's kind is the part of its name
    before the first dot (`access.granted` is `access`). `read` is for the audited reads of bank data
    and file contents (R-PRIV-4), `read.<what>`."""

    ACCESS = "access"  # client-file grants, levels, invitations of grantees
    ACCOUNT = "account"  # shared accounts accepted, declined, linked
    ASSIGNMENT = "assignment"  # assignment rules, bank lines assigned by hand or by the rules
    CONNECTION = "connection"  # consents started, completed, reauthorised, deauthorised, status
    CUSTOMER = "customer"  # assignment and transfer of customers
    EXPORT = "export"  # CSV exports requested, completed (a download is a read: `read.export`)
    ERASURE = "erasure"  # erasure requests, approvals, a worker's failures
    FILE = "file"  # a client file's contents: members, patrimony, donations, simulations, reports
    FIRM = "firm"  # a firm created
    IMPORT = "import"  # imports asked for by staff
    INVITATION = "invitation"  # customer invitations
    LEDGER_ACCOUNT = "ledger_account"  # the chart of accounts
    READ = "read"  # staff reads of bank data, exports and file contents
    RELATIONSHIP = "relationship"  # a customer's relationship with the firm ended
    REFRESH = "refresh"  # Data Refresh triggers and fan-outs
    STAFF = "staff"  # staff roles, (de)activation and staff invitations


class ReadOf(StrEnum):
    """What an audited staff read returned (R-PRIV-4): its action is `read.<what>`."""

    ACCOUNTS = "accounts"  # a customer's shared accounts, with their balances
    TRANSACTIONS = "transactions"  # a page of a customer's transactions
    UNASSIGNED_LINES = "unassigned_lines"  # a page of a customer's booked lines still to assign
    FILE = "file"  # a client file's contents (family, patrimony, donations, documents)
    EXPORT = "export"  # a CSV export's download link

    @property
    def action(self) -> str:
        return f"{AuditKind.READ.value}.{self.value}"


def kind_of(action: str) -> str:
    """The kind an action is listed under (an AuditKind value for every action written today)."""
    return action.split(".", 1)[0]
