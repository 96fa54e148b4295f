"""Auto-assign bank lines with the firm's rules, and assign by hand (R-IMP-3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.clock import now as business_now
from shared.domain.accounts import BankTransaction
from shared.domain.assignment import AssignmentRule, first_match
from shared.domain.audit import AuditEvent, ReadOf
from shared.domain.errors import InvalidRequest, NotFound
from shared.domain.identity import StaffContext
from shared.observability import metrics
from shared.ports.accounts import AccountStore
from shared.ports.assignment import AssignmentStore
from shared.ports.audit import AuditTrail
from shared.ports.ledger import LedgerStore
from shared.services.audit import record_customer_read
from shared.services.customers import OnboardingPorts, changeable_customer, visible_customer
from shared.services.ledger import pick_ledger_account

PAGE = 100
LINES_PER_TRANSACTION = 99  # and the audit event: a transaction holds at most 100 writes


def auto_assign(
    assignment: AssignmentStore,
    accounts: AccountStore,
    audit: AuditTrail,
    firm_id: str,
    customer_id: str,
    actor: str,
    at: datetime,
) -> int:
    """Run the rules over the customer's unassigned booked lines; returns how many were assigned.
    Each transaction of assigned lines carries its audit event (which rules, how many lines)."""
    rules = assignment.rules(firm_id)
    if not rules:
        return 0
    assigned = 0
    cursor: str | None = None
    while True:
        lines, cursor = assignment.unassigned(firm_id, customer_id, cursor=cursor, limit=PAGE)
        matched = []
        for line in lines:
            found = first_match(rules, line)
            if found:
                matched.append(
                    replace(
                        line,
                        ledger_account=found.ledger_account,
                        category=found.category,
                        assigned_by=found.by,
                    )
                )
        for start in range(0, len(matched), LINES_PER_TRANSACTION):
            chunk = matched[start : start + LINES_PER_TRANSACTION]
            rules_used = sorted({line.assigned_by for line in chunk if line.assigned_by})
            event = AuditEvent(
                firm_id, actor, "assignment.lines_auto_assigned", "customer", customer_id,
                {"lines": len(chunk), "rules": " ".join(rules_used)}, at, customer_id,
            )  # fmt: skip
            accounts.assign_lines(firm_id, customer_id, chunk, audit.put_op(event))  # leaves the index
        assigned += len(matched)
        if cursor is None:
            break
    metrics.add_metric(name="LinesAutoAssigned", unit="Count", value=assigned)
    return assigned


def auto_assign_now(
    ports: OnboardingPorts, assignment: AssignmentStore, staff: StaffContext, customer_id: str
) -> int:
    """Seed 003 "Auto assign bank lines", on demand."""
    authorize(staff, FirmAction.ASSIGN_LINES)
    changeable_customer(ports, staff, customer_id)
    actor = staff.principal.user_id
    return auto_assign(
        assignment, ports.accounts, ports.audit, staff.firm_id, customer_id, actor, ports.clock()
    )


def unassigned_lines(
    ports: OnboardingPorts,
    assignment: AssignmentStore,
    staff: StaffContext,
    customer_id: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[BankTransaction], str | None]:
    """A page of the customer's booked lines still to assign; the read is audited
    (`read.unassigned_lines`, R-PRIV-4)."""
    visible_customer(ports, staff, customer_id)
    lines, next_cursor = assignment.unassigned(staff.firm_id, customer_id, cursor=cursor, limit=limit)
    record_customer_read(ports.audit, staff, ports.clock(), ReadOf.UNASSIGNED_LINES, customer_id, len(lines))
    return lines, next_cursor


def assign_line(
    ports: OnboardingPorts,
    assignment: AssignmentStore,
    ledger: LedgerStore,
    staff: StaffContext,
    customer_id: str,
    line_id: str,
    *,
    ledger_account: str | None,
    category: str | None,
) -> BankTransaction:
    authorize(staff, FirmAction.ASSIGN_LINES)
    changeable_customer(ports, staff, customer_id)
    if not (ledger_account or category):
        raise InvalidRequest("Give a ledger account or a category.", code="assignment_required")
    chosen = pick_ledger_account(ledger, staff.firm_id, ledger_account) if ledger_account else None
    line = assignment.get_line(staff.firm_id, customer_id, line_id)
    if line is None:
        raise NotFound()
    assigned = replace(
        line,
        ledger_account=chosen.code if chosen else None,
        category=category,
        assigned_by=staff.principal.user_id,
    )
    chosen_as = {"ledger_account": assigned.ledger_account or "", "category": category or ""}
    event = AuditEvent(
        staff.firm_id, staff.principal.user_id, "assignment.line_assigned", "line", line_id,
        chosen_as, ports.clock(), customer_id,
    )  # fmt: skip
    # Marked used in the same write: a chart account a booked line names is archived, never deleted.
    assignment.save_line(assigned, ports.audit.put_op(event), *([ledger.use_op(chosen)] if chosen else []))
    return assigned


def list_rules(assignment: AssignmentStore, staff: StaffContext) -> list[AssignmentRule]:
    authorize(staff, FirmAction.VIEW_CUSTOMERS)
    return assignment.rules(staff.firm_id)


def save_rule(
    assignment: AssignmentStore,
    ledger: LedgerStore,
    audit: AuditTrail,
    staff: StaffContext,
    rule: AssignmentRule,
    *,
    rule_id: str | None,
) -> AssignmentRule:
    """Create (rule_id None) or replace a rule of the caller's firm; the firm comes from the caller.
    Its ledger account is one of the firm's live accounts, marked used in the rule's transaction."""
    authorize(staff, FirmAction.MANAGE_ASSIGNMENT_RULES)
    if not (rule.ledger_account or rule.category):
        raise InvalidRequest("A rule assigns a ledger account or a category.", code="assignment_required")
    chosen = pick_ledger_account(ledger, staff.firm_id, rule.ledger_account) if rule.ledger_account else None
    saved = replace(
        rule,
        firm_id=staff.firm_id,
        rule_id=rule_id or str(ULID.from_datetime(business_now())),
        ledger_account=chosen.code if chosen else None,
    )
    uses = [ledger.use_op(chosen)] if chosen else []
    action = "assignment.rule_changed" if rule_id else "assignment.rule_created"
    event = _rule_event(staff, action, saved.rule_id, {"ledger_account": saved.ledger_account or ""})
    assignment.put_rule(saved, audit.put_op(event), *uses, must_exist=rule_id is not None)
    return saved


def delete_rule(assignment: AssignmentStore, audit: AuditTrail, staff: StaffContext, rule_id: str) -> None:
    authorize(staff, FirmAction.MANAGE_ASSIGNMENT_RULES)
    assignment.delete_rule(
        staff.firm_id, rule_id, audit.put_op(_rule_event(staff, "assignment.rule_deleted", rule_id, {}))
    )


def _rule_event(staff: StaffContext, action: str, rule_id: str, details: dict[str, str]) -> AuditEvent:
    return AuditEvent(
        staff.firm_id, staff.principal.user_id, action, "assignment_rule", rule_id, details, business_now()
    )
