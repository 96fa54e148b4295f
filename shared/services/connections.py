"""A bank connection's life after its consent: the accounts it shares, its status and refresh,
the provider's events (webhooks), listing, importing now (R-CON-5, R-CON-8). Connecting and
consenting are in `connection_consents`, on the same ports.

Use cases talk to the aggregator only through the port; the provider's name is data here,
never a branch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any, Protocol

from ulid import ULID

from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.accounts import AccountStatus, SharedAccount, identity_key, stable_account_id
from shared.domain.aggregator import AggregatorAccount, AggregatorProvider, WebhookEvent
from shared.domain.audit import SYSTEM
from shared.domain.connections import FROM_CONSENT, IMPORTABLE, Connection, ConnectionStatus, status_problem
from shared.domain.email import EmailSender
from shared.domain.errors import Conflict, NotFound, QueueSendFailed, StaleConnection
from shared.domain.identity import CustomerLink, Principal, StaffContext
from shared.domain.jobs import ImportJob, ImportReason
from shared.domain.limits import Action, charges, combined
from shared.domain.notifications import Notification
from shared.observability import logger
from shared.ports.accounts import AccountStore
from shared.ports.audit import AuditTrail
from shared.ports.connections import ConnectionStore
from shared.ports.credentials import CredentialVault
from shared.ports.customers import CustomerStore
from shared.ports.engagements import EngagementRows
from shared.ports.firm_bound import bind_ports
from shared.ports.identity import IdentityStore
from shared.ports.limits import Limiter
from shared.ports.notifications import NotificationStore
from shared.ports.once import OnceOnly
from shared.ports.queue import JobSender
from shared.ports.storage import TransactItem
from shared.services.audit import event_by
from shared.services.credentials import provider_credential
from shared.services.customers import changeable_customer, offer_accounts, visible_customer
from shared.services.staff_notifications import StaffNoticePorts
from shared.services.staff_notifications import connection_changed as notify_staff


@dataclass
class ConnectionsPorts:
    """The ports of the connection use cases (here and in `connection_consents`)."""

    connections: ConnectionStore
    customers: CustomerStore
    accounts: AccountStore
    identities: IdentityStore
    notifications: NotificationStore
    audit: AuditTrail
    email: EmailSender  # the customer's consent-expiry reminders
    providers: Callable[[str], AggregatorProvider]
    credentials: CredentialVault  # opens a connection's credential right before a provider call
    imports: JobSender
    engagements: EngagementRows  # the Data Refresh rows, rewritten after each connection change
    webhooks_once: OnceOnly  # a provider event has its effect once, however often it is delivered
    # Where the bank sends the person back, per provider (composition-root configuration):
    # GoCardless -> our callback; Plaid -> None (Link completes in the page, then /complete).
    redirect_urls: Mapping[str, str | None]
    api_base_url: str
    app_base_url: str  # our front end, where the callback finally sends the person
    staff_notices: StaffNoticePorts  # the customer's owner and advisers hear of a broken connection
    limits: Limiter  # abuse limits, spent before an email or a provider call (shared/domain/limits.py)
    clock: Now = field(default=business_now)


# discovering accounts -----------------------------------------------------------------------
def discover_accounts(ports: ConnectionsPorts, connection: Connection, credential: str) -> int | None:
    """Read the consent's accounts at the bank and offer them to the firm (after a consent, on
    the customer's request, on the provider's "new accounts" event)."""
    return _offer_accounts(ports, connection, _read_accounts(ports, connection, credential))


def _offer_accounts(
    ports: ConnectionsPorts, connection: Connection, accounts: list[AggregatorAccount]
) -> int | None:
    """Offer the bank's accounts to the firm (R-INV-5); None when the bank shared none."""
    if not accounts:
        return None
    now = ports.clock()
    # Two look-alike accounts (same mask, currency and name) are told apart by their order,
    # which a bank keeps from one consent to the next.
    seen: dict[str, int] = {}
    ids = []
    for account in accounts:
        base = stable_account_id(
            connection.connection_id, account.masked_identifier or "", account.currency or "", account.name
        )
        seen[base] = seen.get(base, 0) + 1
        ids.append((account, base if seen[base] == 1 else f"{base}_{seen[base]}"))
    shared = [
        SharedAccount(
            firm_id=connection.firm_id,
            customer_id=connection.customer_id,
            account_id=account_id,
            provider_account_id=account.account_id,
            connection_id=connection.connection_id,
            institution_name=connection.institution_name,
            masked_identifier=account.masked_identifier or "",
            name=account.name,
            currency=account.currency or "",
            balance=account.balance,
            last_updated=now,
            identity_key=identity_key(connection.institution_id, account.identity),
        )
        for account, account_id in ids
    ]
    return offer_accounts(
        ports,
        connection.firm_id,
        connection.customer_id,
        _not_imported_elsewhere(ports, connection, shared),
    )


def _not_imported_elsewhere(
    ports: ConnectionsPorts, connection: Connection, accounts: list[SharedAccount]
) -> list[SharedAccount]:
    """A bank account another live connection of the customer already imports stays with it
    (moving it back and forth would re-read its history under the other consent's ids); one
    whose connection ended moves to this one with its id, review and decision."""
    live = {
        c.connection_id
        for c in ports.connections.list_for_customer(connection.firm_id, connection.customer_id)
        if c.status in IMPORTABLE and c.connection_id != connection.connection_id
    }
    if not live:
        return accounts
    stored = ports.accounts.list_for_customer(connection.firm_id, connection.customer_id)
    elsewhere = {a.identity_key for a in stored if a.identity_key and a.connection_id in live}
    return [a for a in accounts if a.identity_key is None or a.identity_key not in elsewhere]


def _read_accounts(
    ports: ConnectionsPorts, connection: Connection, credential: str
) -> list[AggregatorAccount]:
    """The consent's accounts with their details and balances, except those the firm declined
    (R-INV-6: never read again, known by provider id or, under a new consent, by identity).
    Where the provider limits requests per account and day, the adapter spends them before
    each request, from the counters imports use; spent, it raises with the next possible time."""
    stored = ports.accounts.list_for_customer(connection.firm_id, connection.customer_id)
    declined = [a for a in stored if a.status is AccountStatus.DECLINED]
    declined_ids = {a.provider_account_id for a in declined}
    declined_keys = {a.identity_key for a in declined if a.identity_key}

    def refused(account: AggregatorAccount) -> bool:
        key = identity_key(connection.institution_id, account.identity)
        return account.account_id in declined_ids or (key is not None and key in declined_keys)

    return ports.providers(connection.provider).list_accounts(credential, skip=refused)


# troubleshooting -----------------------------------------------------------------------------
def find_new_accounts(ports: ConnectionsPorts, principal: Principal, connection_id: str) -> int:
    """R-CON-8: the customer (never the adviser) asks the bank again for accounts."""
    connection, ports = own_connection(ports, principal, connection_id)
    if connection.credential is None:
        raise Conflict("This connection has no consent yet.", code="no_consent")
    connection.check_not_held(ports.clock())
    spend_calls(ports, [connection], principal.user_id)
    offered = discover_accounts(ports, connection, provider_credential(ports.credentials, connection))
    if connection.status is ConnectionStatus.NO_ACCOUNTS and offered is not None:
        linked = connection.with_status(ConnectionStatus.LINKED, ports.clock())
        save_connection(
            ports, linked, connection, actor=principal.user_id, action="connection.accounts_found"
        )
    return offered or 0


class ImportState(StrEnum):
    """What a refresh did about the import (the answer says so)."""

    QUEUED = "queued"
    ALREADY_QUEUED = "already_queued"  # one asked for is still queued or running: nothing new
    NOT_QUEUED = "not_queued"  # the consent is not usable: the connection's status says why


@dataclass(frozen=True)
class Refreshed:
    connection: Connection
    import_state: ImportState


def refresh(ports: ConnectionsPorts, caller: Principal | StaffContext, connection_id: str) -> Refreshed:
    """R-CON-8 "unable to get recent values": check the consent and queue an import now.

    A revoked connection says so (connect the bank again). Before the provider's rate-limit
    reset (`rate_limited_until`) the provider is not asked: the answer is at once a 429 that
    says when the next call is possible (R-IMP-4). While the import a person asked for is
    queued or running, nothing is asked or queued again (`already_queued`); otherwise the
    abuse limits are spent before the provider is asked (shared/domain/limits.py)."""
    connection, ports = (
        staff_connection(ports, caller, connection_id)
        if isinstance(caller, StaffContext)
        else own_connection(ports, caller, connection_id)
    )
    if connection.status is ConnectionStatus.REVOKED:
        raise Conflict("This connection was revoked: connect the bank again.", code="connection_revoked")
    if connection.credential is None:
        raise Conflict("This connection has no consent yet.", code="no_consent")
    now = ports.clock()
    connection.check_not_held(now)
    if connection.import_pending(now):
        return Refreshed(connection, ImportState.ALREADY_QUEUED)
    actor = caller.principal.user_id if isinstance(caller, StaffContext) else caller.user_id
    spend_calls(ports, [connection], actor)
    credential = provider_credential(ports.credentials, connection)
    outcome = ports.providers(connection.provider).consent_state(credential)
    status = FROM_CONSENT[outcome.state]
    updated = connection.with_status(status, now, error=status_problem(status, outcome.reason))
    if updated.status not in IMPORTABLE:
        saved = (
            save_connection(ports, updated, connection, actor=actor, action="connection.checked")
            if updated != connection
            else connection
        )
        return Refreshed(saved, ImportState.NOT_QUEUED)
    marked = replace(updated, import_requested_at=now)
    if updated != connection:
        saved = save_connection(ports, marked, connection, actor=actor, action="connection.import_requested")
    else:  # the mark alone changes nothing the Data Refresh rows show: the store's save, with its event
        event = marked.audit_event(actor, "connection.import_requested", now)
        saved = ports.connections.save(marked, connection, ports.audit.put_op(event))

    def undone(unsent: list[Connection]) -> TransactItem:
        return ports.audit.put_op(unsent[0].audit_event(actor, "connection.import_not_queued", ports.clock()))

    _queue_marked(ports, [(saved, connection)], undone)
    return Refreshed(saved, ImportState.QUEUED)


def spend_calls(ports: ConnectionsPorts, connections: list[Connection], actor_id: str) -> None:
    """The abuse limits of asking the provider about `connections` (or importing them), for the
    person who asks, in one spend: all or none (`LimitReached`, a 429 with Retry-After)."""
    if not connections:
        return
    spent = combined(
        *(
            charges(Action.CONNECTION_CALL, connection=c.connection_id, user=actor_id, firm=c.firm_id)
            for c in connections
        )
    )
    ports.limits.spend(spent, ports.clock())


# listing -------------------------------------------------------------------------------------
def my_connections(
    ports: ConnectionsPorts, principal: Principal, links: Iterable[CustomerLink] | None = None
) -> list[Connection]:
    """The person's own connections in each firm of `links` (by default every customer record
    they accepted, access pattern 6): one Query per customer (#21), on ports bound to its firm."""
    if links is None:
        links = ports.identities.list_customer_links(principal.user_id)
    found: list[Connection] = []
    for link in links:  # each firm the person is a customer of, on ports bound to it
        connections = bind_ports(ports, link.firm_id).connections
        mine = connections.list_for_customer(link.firm_id, link.customer_id)
        found += [c for c in mine if c.user_id == principal.user_id]
    return found


MARKS_PER_WRITE = 50  # connections marked in one transaction with their event (at most 100 items)


@dataclass(frozen=True)
class ImportsQueued:
    queued: int
    already_queued: int  # connections whose import asked for earlier is still queued or running


def import_now(ports: ConnectionsPorts, staff: StaffContext, customer_id: str) -> ImportsQueued:
    """Seed 003 "Import transactions": queue the customer's importable connections now; the
    worker applies the same rules (window, budget, idempotency) as the daily run. When every
    one waits for its provider's reset, the answer says when, at once (R-IMP-4). A connection
    whose import asked for earlier is queued or running gets nothing new; the others spend the
    abuse limits first (all or none)."""
    now = ports.clock()
    changeable_customer(ports, staff, customer_id)
    connections = ports.connections.list_for_customer(staff.firm_id, customer_id)
    importable = [c for c in connections if c.status in IMPORTABLE]
    ready = [c for c in importable if not c.held(now)]
    if importable and not ready:
        min(importable, key=lambda c: c.rate_limited_until or now).check_not_held(now)
    due = [c for c in ready if not c.import_pending(now)]
    spend_calls(ports, due, staff.principal.user_id)

    def event(action: str, connections: list[Connection]) -> TransactItem:
        details = {"jobs": len(connections), "connection_ids": " ".join(c.connection_id for c in connections)}
        return ports.audit.put_op(
            event_by(staff, ports.clock(), action, ("customer", customer_id), details, customer_id)
        )

    for start in range(0, len(due), MARKS_PER_WRITE):
        # Each batch: the marks (nothing the Data Refresh rows show) and their event, then the jobs.
        batch = due[start : start + MARKS_PER_WRITE]
        marks = [(replace(c, import_requested_at=now), c) for c in batch]
        saved = ports.connections.save_all(marks, event("import.requested", [new for new, _ in marks]))
        _queue_marked(ports, list(zip(saved, batch, strict=True)), partial(event, "import.not_queued"))
    return ImportsQueued(queued=len(due), already_queued=len(ready) - len(due))


def customer_connections(ports: ConnectionsPorts, staff: StaffContext, customer_id: str) -> list[Connection]:
    visible_customer(ports, staff, customer_id)
    return ports.connections.list_for_customer(staff.firm_id, customer_id)


# provider events (webhooks) ------------------------------------------------------------------
def apply_provider_event(
    ports: ConnectionsPorts, item_id: str, event: str, at: datetime, details: Mapping[str, Any]
) -> str:
    """One verified, deduplicated provider event. Returns what was done (for the log).

    `event` is the port-level meaning (new_data, login_required, login_repaired, expiring,
    revoked, new_accounts); an event older than the connection's state changes nothing.
    """
    address = ports.connections.locate_by_item(item_id)
    if address is None:
        return "unknown_item"
    ports = bind_ports(ports, address.firm_id)  # the item's firm, from our own records
    connection = ports.connections.get(address)
    if connection is None:
        return "unknown_item"
    if event == "new_data":
        if connection.status not in IMPORTABLE:
            return "not_importable"
        ports.imports.send([_job(connection, ImportReason.PROVIDER).to_json()])
        return "import_queued"
    if event == "new_accounts":
        if connection.credential is None:
            return "no_consent"
        offered = discover_accounts(ports, connection, provider_credential(ports.credentials, connection))
        return f"offered_{offered or 0}"
    if event == "expiring":
        expires_at = details.get("expires_at")
        updated = (
            replace(connection, expires_at=expires_at) if isinstance(expires_at, datetime) else connection
        )
        if updated != connection:
            save_connection(ports, updated, connection, actor=SYSTEM, action="connection.expiry_changed")
        _notify_customer(
            ports,
            connection,
            "connection.expiring",
            f"Your connection to {connection.institution_name} expires soon: reauthorise it.",
        )
        return "customer_notified"
    transition = _TRANSITIONS.get(event)
    if transition is None:
        return "ignored"
    status, allowed_from = transition
    if connection.status not in allowed_from:
        return "not_applicable"  # e.g. a late "login repaired" after a revoke: never a step back
    updated = connection.with_status(status, at, error=status_problem(status, details.get("error_code")))
    if updated == connection:
        return "stale_or_unchanged"
    save_connection(ports, updated, connection, actor=SYSTEM, action="connection.status_changed")
    if status is ConnectionStatus.CREDENTIALS_REJECTED:
        _notify_customer(
            ports,
            connection,
            "connection.credentials_rejected",
            f"{connection.institution_name} no longer accepts the connection: reauthorise it.",
        )
    return status.value


# event -> (new status, the statuses it may move from)
_TRANSITIONS: dict[str, tuple[ConnectionStatus, frozenset[ConnectionStatus]]] = {
    "login_required": (ConnectionStatus.CREDENTIALS_REJECTED, IMPORTABLE),
    "login_repaired": (ConnectionStatus.LINKED, frozenset({ConnectionStatus.CREDENTIALS_REJECTED})),
    "revoked": (ConnectionStatus.REVOKED, frozenset(ConnectionStatus) - {ConnectionStatus.REVOKED}),
}


class WebhookReader(Protocol):
    def read(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookEvent | None: ...


def receive_webhook(
    ports: ConnectionsPorts, reader: WebhookReader, headers: Mapping[str, str], raw_body: bytes
) -> str:
    """R-CON-5: a verified event, applied once however often it is delivered."""
    event = reader.read(headers, raw_body)
    if event is None:
        return "ignored"

    def apply() -> dict[str, Any]:
        return {
            "outcome": apply_provider_event(ports, event.item_id, event.event, ports.clock(), event.details)
        }

    result = ports.webhooks_once.run(event.key, {"item_id": event.item_id, "event": event.event}, apply)
    return str(result["outcome"])


# helpers -------------------------------------------------------------------------------------
def own_connection(
    ports: ConnectionsPorts, principal: Principal, connection_id: str
) -> tuple[Connection, ConnectionsPorts]:
    """The customer's own connection, and the ports the use case goes on with: bound to its firm.
    Once their relationship with that firm ended, the person is no longer its customer: 404."""
    address = ports.connections.locate(connection_id)
    connection = ports.connections.get(address) if address else None
    if connection is None or connection.user_id != principal.user_id:
        raise NotFound()
    bound = bind_ports(ports, connection.firm_id)
    customer = bound.customers.get(connection.firm_id, connection.customer_id)
    if customer is None or customer.relationship_ended:
        raise NotFound()
    return connection, bound


def staff_connection(
    ports: ConnectionsPorts, staff: StaffContext, connection_id: str
) -> tuple[Connection, ConnectionsPorts]:
    """A connection to change, of a customer the staff member sees (404) whose relationship has not
    ended (409), with the ports bound to their firm."""
    ports = bind_ports(ports, staff.firm_id)
    address = ports.connections.locate(connection_id)
    if address is None:
        raise NotFound()
    changeable_customer(ports, staff, address.customer_id)
    connection = ports.connections.get(address)
    if connection is None:
        raise NotFound()
    return connection, ports


def save_connection(
    ports: ConnectionsPorts,
    connection: Connection,
    previous: Connection | None,
    *extra: TransactItem,
    actor: str,
    action: str,
    details: dict[str, Any] | None = None,
) -> Connection:
    """Store the connection with its audit event (`action` by `actor`) and `extra` writes in one
    transaction, then rewrite its engagement's Data Refresh rows and tell the staff if it broke: the
    one place a connection use case changes a connection."""
    event = connection.audit_event(actor, action, ports.clock(), details)
    saved = ports.connections.save(connection, previous, ports.audit.put_op(event), *extra)
    ports.engagements.connection_changed(saved)
    notify_staff(ports.staff_notices, previous, saved)
    return saved


def _queue_marked(
    ports: ConnectionsPorts,
    marked: list[tuple[Connection, Connection]],
    undone: Callable[[list[Connection]], TransactItem],
) -> None:
    """Send the manual imports of connections whose mark and its audit event are stored (each as
    saved, and as it was before). The jobs SQS does not take get their marks undone, with the event
    `undone(those connections)`, in one transaction, then QueueSendFailed (a 503): nothing shows an
    import queued that is not. An undo that fails leaves the mark, which ends by itself
    (`IMPORT_PENDING_FOR`): the connection then answers `already_queued` until it does."""
    try:
        ports.imports.send([_job(saved, ImportReason.MANUAL).to_json() for saved, _ in marked])
    except QueueSendFailed as failure:
        unsent = [marked[n] for n in failure.unsent]
        undo = [
            (replace(saved, import_requested_at=before.import_requested_at), saved)
            for saved, before in unsent
        ]
        try:
            ports.connections.save_all(undo, undone([restored for restored, _ in undo]))
        except StaleConnection:
            logger.warning("Import marks left to expire", extra={"connections": len(undo)})
        logger.warning("Imports not queued", extra={"unsent": len(unsent), "of": len(marked)})
        raise


def _job(connection: Connection, reason: ImportReason) -> ImportJob:
    return ImportJob(connection.firm_id, connection.customer_id, connection.connection_id, reason)


def _notify_customer(ports: ConnectionsPorts, connection: Connection, kind: str, text: str) -> None:
    now = ports.clock()
    ports.notifications.add(
        Notification(
            user_id=connection.user_id,
            notification_id=str(ULID.from_datetime(now)),
            kind=kind,
            title=text,
            body=text,
            created_at=now,
            firm_id=connection.firm_id,
            customer_id=connection.customer_id,
        )
    )
