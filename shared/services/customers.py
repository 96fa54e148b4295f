"""Customers as the firm sees them: who may see whom, lists and counts, shared accounts and their
review, transactions (R-INV-5..7, R-ROLE-1..3, R-CON-4).

Every function takes its ports; none knows about Lambda, HTTP or environment variables.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Protocol

from ulid import ULID

from shared.auth import FirmAction, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.accounts import AccountStatus, Decision, SharedAccount
from shared.domain.audit import AuditEvent, ReadOf
from shared.domain.customers import DASHBOARD_SECTIONS, Customer, Section
from shared.domain.email import EmailSender
from shared.domain.errors import Conflict, InvalidRequest, NotFound, QueueSendFailed
from shared.domain.identity import StaffContext
from shared.domain.jobs import ImportJob, ImportReason
from shared.domain.ledger import LedgerKind, code_key
from shared.domain.notifications import Notification
from shared.observability import logger, metrics
from shared.ports.accounts import AccountStore, TransactionPage
from shared.ports.audit import AuditTrail
from shared.ports.connections import ConnectionStore
from shared.ports.customers import CustomerPage, CustomerStore
from shared.ports.directory import UserDirectory
from shared.ports.identity import IdentityStore
from shared.ports.ledger import LedgerStore
from shared.ports.limits import Limiter
from shared.ports.notifications import NotificationStore
from shared.ports.queue import JobSender
from shared.services.audit import record_customer_read
from shared.services.emails import account_decision_email
from shared.services.ledger import pick_ledger_account
from shared.services.staff_notifications import StaffNoticePorts, accounts_waiting


@dataclass
class OnboardingPorts:
    """The ports of the customer use cases here and of the invitations (`customer_invitations`)."""

    customers: CustomerStore
    accounts: AccountStore
    connections: ConnectionStore  # the consent behind each account: live or historical (R-PRIV-1)
    identities: IdentityStore
    notifications: NotificationStore
    audit: AuditTrail
    email: EmailSender
    imports: JobSender  # an accepted account's first import is queued at once
    directory: UserDirectory  # the accounts people sign in with (created on an invitation's acceptance)
    app_base_url: str
    staff_notices: StaffNoticePorts  # the customer's owner and advisers hear of its events
    limits: Limiter  # abuse limits, spent before an email or a provider call (shared/domain/limits.py)
    clock: Now = field(default=business_now)


class WithCustomers(Protocol):
    """Any use case's ports that hold the customers (`visible_customer` serves several)."""

    @property
    def customers(self) -> CustomerStore: ...


class WithCustomerAccounts(WithCustomers, Protocol):
    """Any use case's ports that hold the customers and their accounts (`offer_accounts`)."""

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def staff_notices(self) -> StaffNoticePorts: ...


# dashboard and browsing ----------------------------------------------------------------------
def list_customers(
    ports: OnboardingPorts,
    staff: StaffContext,
    *,
    section: Section,
    search: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[CustomerPage, dict[str, int]]:
    """A page of a dashboard section, with the counts of the sections the caller sees. `ended`: the
    relationships that ended, latest first, for admins only (R-PRIV-2: what the firm retains, reached
    by id otherwise); advisers get 403, and their counts do not have it."""
    authorize(staff, FirmAction.VIEW_CUSTOMERS)
    if section is Section.ENDED:
        authorize(staff, FirmAction.VIEW_ENDED_RELATIONSHIPS)
        if search is not None:
            raise InvalidRequest(
                "Ended relationships are not searched: they are listed by when they ended.",
                code="search_not_offered",
            )
    scope = None if staff.is_admin else staff.principal.user_id
    page = ports.customers.list_section(
        staff.firm_id, section, staff_id=scope, search=search, cursor=cursor, limit=limit
    )
    counts = ports.customers.counts(staff.firm_id, scope)
    shown = set(Section) if staff.is_admin else set(DASHBOARD_SECTIONS)
    return page, {name: count for name, count in counts.items() if name in shown}


def visible_customer(ports: WithCustomers, staff: StaffContext, customer_id: str) -> Customer:
    """The customer if this staff member may see it; otherwise exactly like a missing one (R-ROLE-1/2)."""
    authorize(staff, FirmAction.VIEW_CUSTOMERS)
    customer = ports.customers.get(staff.firm_id, customer_id)
    if customer is None or not customer.visible_to(staff.principal.user_id, staff.is_admin):
        raise NotFound()
    return customer


def changeable_customer(ports: WithCustomers, staff: StaffContext, customer_id: str) -> Customer:
    """The customer to change, if this staff member sees it (else the 404 of `visible_customer`) and
    its relationship with the firm has not ended (else 409 `relationship_ended`: what the firm keeps
    after the end is read-only, R-PRIV-2). Every firm use case that changes a customer or its
    accounts, lines, connections or invitation resolves it here."""
    customer = visible_customer(ports, staff, customer_id)
    customer.check_open()
    return customer


def list_shared_accounts(
    ports: OnboardingPorts, staff: StaffContext, customer_id: str
) -> list[SharedAccount]:
    """New and connected accounts, with balances; declined ones are gone from the firm's view
    (R-INV-6). The read is audited (`read.accounts`, R-PRIV-4)."""
    visible_customer(ports, staff, customer_id)
    accounts = ports.accounts.list_for_customer(staff.firm_id, customer_id)
    shown = [account for account in accounts if account.status is not AccountStatus.DECLINED]
    record_customer_read(ports.audit, staff, ports.clock(), ReadOf.ACCOUNTS, customer_id, rows=len(shown))
    return shown


def list_transactions(
    ports: OnboardingPorts,
    staff: StaffContext,
    customer_id: str,
    *,
    account_id: str | None,
    date_from: date | None,
    date_to: date | None,
    cursor: str | None,
    limit: int,
) -> TransactionPage:
    """A page of the accepted accounts' transactions, newest first; the read is audited with its
    filter and how many lines it returned (`read.transactions`, R-PRIV-4)."""
    visible_customer(ports, staff, customer_id)
    if account_id is not None:
        account = ports.accounts.get(staff.firm_id, customer_id, account_id)
        if account is None or account.status is not AccountStatus.ACCEPTED:
            raise NotFound()
    page = ports.accounts.list_transactions(
        staff.firm_id,
        customer_id,
        account_id=account_id,
        date_from=date_from,
        date_to=date_to,
        cursor=cursor,
        limit=limit,
    )
    rows, read_filter = len(page.transactions), {"account_id": account_id, "from": date_from, "to": date_to}
    record_customer_read(
        ports.audit, staff, ports.clock(), ReadOf.TRANSACTIONS, customer_id, rows, read_filter
    )
    return page


# shared accounts -----------------------------------------------------------------------------
def offer_accounts(
    ports: WithCustomerAccounts, firm_id: str, customer_id: str, accounts: list[SharedAccount]
) -> int:
    """Accounts a connection discovered become New accounts of the firm (R-INV-5), once each.

    An account offered before (the same id, or the same bank account reached through another
    connection: same identity key) keeps its id, status and review, so a declined account stays
    declined; only where it is reached (connection, provider id) is brought up to date. Returns
    how many accounts are new.
    """
    customer = ports.customers.get(firm_id, customer_id)
    if customer is None:
        raise NotFound()
    stored = ports.accounts.list_for_customer(firm_id, customer_id)
    known = {account.account_id: account for account in stored}
    # Identity keys that name one account only (two look-alikes sharing one are matched by id).
    stored_keys = Counter(a.identity_key for a in stored if a.identity_key)
    incoming = Counter(a.identity_key for a in accounts if a.identity_key)
    by_identity = {
        a.identity_key: a
        for a in stored
        if a.identity_key and stored_keys[a.identity_key] == incoming[a.identity_key] == 1
    }
    fresh: list[SharedAccount] = []
    moved: list[SharedAccount] = []
    for account in accounts:
        previous = (by_identity.get(account.identity_key) if account.identity_key else None) or known.get(
            account.account_id
        )
        if previous is None:
            fresh.append(replace(account, status=AccountStatus.NEW))
            continue
        reached = replace(
            previous,
            provider_account_id=account.provider_account_id,
            connection_id=account.connection_id,
            identity_key=previous.identity_key or account.identity_key,
        )
        if reached != previous:
            moved.append(reached)
    operations = [ports.accounts.put_op(account, expected_status=None) for account in fresh]
    operations += [ports.accounts.put_op(account, expected_status=account.status) for account in moved]
    if operations:
        ports.customers.save(
            replace(customer, new_accounts=customer.new_accounts + len(fresh)), customer, *operations
        )
    accounts_waiting(ports.staff_notices, firm_id, customer_id, (account.account_id for account in fresh))
    return len(fresh)


def review_account(
    ports: OnboardingPorts, staff: StaffContext, customer_id: str, account_id: str, decision: Decision
) -> SharedAccount:
    """Accept (imported from now on) or decline (hidden, never imported) a new account (R-INV-6)."""
    authorize(staff, FirmAction.REVIEW_ACCOUNTS)
    customer = changeable_customer(ports, staff, customer_id)
    account = ports.accounts.get(staff.firm_id, customer_id, account_id)
    if account is None:
        raise NotFound()
    if account.status is AccountStatus.DECLINED:
        raise Conflict("This account was declined: it stays out of the firm's view.", code="account_declined")
    if account.status is not AccountStatus.NEW:
        raise Conflict("This account was already reviewed.", code="account_already_reviewed")
    accepted = decision is Decision.ACCEPT
    now = ports.clock()
    reviewed = replace(
        account,
        status=AccountStatus.ACCEPTED if accepted else AccountStatus.DECLINED,
        reviewed_by=staff.principal.user_id,
        reviewed_at=now,
    )
    ports.customers.save(
        replace(
            customer,
            new_accounts=customer.new_accounts - 1,
            accepted_accounts=customer.accepted_accounts + (1 if accepted else 0),
            declined_accounts=customer.declined_accounts + (0 if accepted else 1),
        ),
        customer,
        ports.accounts.put_op(reviewed, expected_status=AccountStatus.NEW),
        ports.audit.put_op(
            customer_event(
                ports,
                staff.principal.user_id,
                customer,
                f"account.{'accepted' if accepted else 'declined'}",
                {"account_id": account_id},
                target=("account", account_id),
            )
        ),
    )
    _notify_decision(ports, customer, reviewed, accepted, now)
    if accepted:
        _queue_first_import(ports, reviewed)
    return reviewed


def _queue_first_import(ports: OnboardingPorts, account: SharedAccount) -> None:
    """The adviser sees the account's transactions within a minute, not after the night's run: one
    import job for this account only, on the same worker and the same daily budget as any other.
    The decision is already stored, so a queue that cannot take the job does not undo it: the
    night's import (or "Import transactions") brings the data instead."""
    job = ImportJob(
        account.firm_id,
        account.customer_id,
        account.connection_id,
        ImportReason.ACCEPTED,
        accounts=(account.account_id,),
    )
    try:
        ports.imports.send([job.to_json()])
    except QueueSendFailed:
        logger.warning("First import not queued", extra={"account_id": account.account_id})
        metrics.add_metric(name="FirstImportNotQueued", unit="Count", value=1)


def link_account(
    ports: OnboardingPorts,
    ledger: LedgerStore,
    staff: StaffContext,
    customer_id: str,
    account_id: str,
    ledger_account: str | None,
) -> SharedAccount:
    """R-CON-4: link a connected account to one of the firm's bank ledger accounts (or undo, admins
    only). The ledger account is marked used in the link's transaction (refused if archived since)."""
    authorize(staff, FirmAction.LINK_ACCOUNT if ledger_account else FirmAction.UNLINK_ACCOUNT)
    customer = changeable_customer(ports, staff, customer_id)
    accounts = ports.accounts.list_for_customer(staff.firm_id, customer_id)
    account = next((a for a in accounts if a.account_id == account_id), None)
    if account is None or account.status is AccountStatus.DECLINED:
        raise NotFound()
    if account.status is not AccountStatus.ACCEPTED:
        raise Conflict("Accept the account before linking it.", code="account_not_connected")
    if ledger_account and account.ledger_account:
        raise Conflict(
            "This account is already linked; a firm admin can undo the link.", code="account_already_linked"
        )
    chosen = (
        pick_ledger_account(ledger, staff.firm_id, ledger_account, kind=LedgerKind.BANK)
        if ledger_account
        else None
    )
    if chosen and any(
        a.ledger_account and code_key(a.ledger_account) == code_key(chosen.code) for a in accounts
    ):
        raise Conflict(
            "That ledger account is already linked to another account.", code="ledger_account_taken"
        )
    linked = replace(account, ledger_account=chosen.code if chosen else None)
    ports.customers.save(
        customer,
        customer,
        ports.accounts.put_op(linked, expected_status=AccountStatus.ACCEPTED),
        *([ledger.use_op(chosen)] if chosen else []),
        ports.audit.put_op(
            customer_event(
                ports,
                staff.principal.user_id,
                customer,
                f"account.{'linked' if ledger_account else 'unlinked'}",
                {"account_id": account_id},
                target=("account", account_id),
            )
        ),
    )
    return linked


# helpers -------------------------------------------------------------------------------------
def _notify_decision(
    ports: OnboardingPorts, customer: Customer, account: SharedAccount, accepted: bool, now: datetime
) -> None:
    if customer.user_id is None:
        return
    firm = ports.identities.get_firm(customer.firm_id)
    firm_name = firm.name if firm else "Your adviser"
    label = f"{account.name} ({account.masked_identifier})"
    email = account_decision_email(
        to=customer.email,
        customer_name=customer.name,
        firm_name=firm_name,
        account_label=label,
        accepted=accepted,
    )
    ports.notifications.add(
        Notification(
            user_id=customer.user_id,
            notification_id=str(ULID.from_datetime(now)),
            kind=f"account.{'accepted' if accepted else 'declined'}",
            title=email.subject,
            body=email.text.split("\n\n", 1)[-1],
            created_at=now,
            firm_id=customer.firm_id,
            customer_id=customer.customer_id,
        )
    )
    try:
        ports.email.send(email)
    except Exception as error:  # the decision stands; the in-app notification carries it
        logger.error(
            "Decision email failed",
            extra={"customer_id": customer.customer_id, "error_type": type(error).__name__},
        )


def customer_event(
    ports: OnboardingPorts,
    actor_id: str,
    customer: Customer,
    action: str,
    details: dict | None = None,
    target: tuple[str, str] | None = None,
) -> AuditEvent:
    """What happened to a customer (or one of its objects, `target`), by whom: ids only."""
    target_type, target_id = target or ("customer", customer.customer_id)
    return AuditEvent(
        firm_id=customer.firm_id,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        customer_id=customer.customer_id,
        occurred_at=ports.clock(),
    )
