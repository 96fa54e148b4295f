"""The firm's chart of accounts (seed 003): admins keep the ledger accounts that links and the
auto-assign rules pick from; every change is audited in its own transaction (R-ROLE-3)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from shared.auth import FirmAction, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.audit import AuditEvent
from shared.domain.errors import Conflict, NotFound
from shared.domain.identity import StaffContext
from shared.domain.ledger import LedgerAccount, LedgerKind, code_key, unknown_ledger_account
from shared.ports.assignment import AssignmentStore
from shared.ports.audit import AuditTrail
from shared.ports.ledger import LedgerStore
from shared.ports.storage import TransactItem


@dataclass
class LedgerPorts:
    ledger: LedgerStore
    assignment: AssignmentStore  # the rules, to know whether an account is still named by one
    audit: AuditTrail
    clock: Now = field(default=business_now)


@dataclass(frozen=True)
class LedgerChange:
    """What PATCH changes: None leaves a field as it is."""

    name: str | None = None
    kind: LedgerKind | None = None
    archived: bool | None = None


def list_ledger_accounts(
    ledger: LedgerStore, staff: StaffContext, *, include_archived: bool
) -> list[LedgerAccount]:
    """The chart, by code; archived accounts only when asked (they stay on old links and lines)."""
    authorize(staff, FirmAction.VIEW_LEDGER_ACCOUNTS)
    return [a for a in ledger.list_accounts(staff.firm_id) if include_archived or not a.archived]


def create_ledger_account(
    ports: LedgerPorts, staff: StaffContext, code: str, name: str, kind: LedgerKind
) -> LedgerAccount:
    authorize(staff, FirmAction.MANAGE_LEDGER_ACCOUNTS)
    account = LedgerAccount(staff.firm_id, code.strip(), name, kind, created_at=ports.clock())
    return ports.ledger.create_account(account, _audit(ports, staff, "ledger_account.created", account))


def update_ledger_account(
    ports: LedgerPorts, staff: StaffContext, code: str, change: LedgerChange
) -> LedgerAccount:
    """Rename, change the kind, archive or restore. Links and rules keep the code: they follow."""
    authorize(staff, FirmAction.MANAGE_LEDGER_ACCOUNTS)
    previous = _existing(ports.ledger, staff, code)
    updated = replace(
        previous,
        name=previous.name if change.name is None else change.name,
        kind=change.kind or previous.kind,
        archived=previous.archived if change.archived is None else change.archived,
    )
    if updated == previous:
        return previous
    if updated.kind is not previous.kind and previous.used:
        # A link chose it as a bank account, a rule or a line as an expense: a new kind would break
        # what they were checked against.
        raise Conflict("This ledger account is in use: its kind cannot change.", code="ledger_account_in_use")
    action = (
        "ledger_account.archived"
        if updated.archived and not previous.archived
        else "ledger_account.restored"
        if previous.archived and not updated.archived
        else "ledger_account.updated"
    )
    return ports.ledger.save_account(updated, previous, _audit(ports, staff, action, updated))


def delete_ledger_account(ports: LedgerPorts, staff: StaffContext, code: str) -> None:
    """Only an account nothing ever named: once a link or a rule used it (or a rule written before
    the chart existed names its code), it is archived instead (409 `ledger_account_in_use`)."""
    authorize(staff, FirmAction.MANAGE_LEDGER_ACCOUNTS)
    account = _existing(ports.ledger, staff, code)
    named = any(
        rule.ledger_account and code_key(rule.ledger_account) == code_key(account.code)
        for rule in ports.assignment.rules(staff.firm_id)
    )
    if account.used or named:
        raise Conflict(
            "This ledger account is used by a link or a rule: archive it instead.",
            code="ledger_account_in_use",
        )
    ports.ledger.delete_account(account, _audit(ports, staff, "ledger_account.deleted", account))


def pick_ledger_account(
    ledger: LedgerStore, firm_id: str, code: str, *, kind: LedgerKind | None = None
) -> LedgerAccount:
    """The firm's live account with this code, as a new link's or rule's choice: an unknown code
    (another firm's too) or an archived account is a 400 with a stable code."""
    account = ledger.get_account(firm_id, code)
    if account is None:
        raise unknown_ledger_account()
    return account.picked(kind)


def _existing(ledger: LedgerStore, staff: StaffContext, code: str) -> LedgerAccount:
    account = ledger.get_account(staff.firm_id, code)
    if account is None:
        raise NotFound()
    return account


def _audit(ports: LedgerPorts, staff: StaffContext, action: str, account: LedgerAccount) -> TransactItem:
    """The change's audit event, written in the change's own transaction."""
    return ports.audit.put_op(
        AuditEvent(
            firm_id=staff.firm_id,
            actor_id=staff.principal.user_id,
            action=action,
            target_type="ledger_account",
            target_id=account.code,
            details={"kind": account.kind.value, "archived": account.archived},
            occurred_at=ports.clock(),
        )
    )
