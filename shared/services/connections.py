"""Connect a bank, complete the consent, reauthorise, deauthorise, troubleshoot (R-CON-1..9).

Use cases talk to the aggregator only through the port; the provider's name is data here,
never a branch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from ulid import ULID

from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.accounts import AccountStatus, SharedAccount, identity_key, stable_account_id
from shared.domain.aggregator import (
    AggregatorAccount,
    AggregatorProvider,
    CompletionInput,
    ConsentRequest,
    ConsentState,
    Institution,
    WebhookEvent,
)
from shared.domain.audit import AuditEvent
from shared.domain.connections import (
    CALLBACK_REPLAY_WINDOW,
    FROM_CONSENT,
    IMPORTABLE,
    Connection,
    ConnectionStatus,
    hash_reference,
    new_reference,
    status_problem,
)
from shared.domain.customers import Customer
from shared.domain.errors import Conflict, DomainError, Forbidden, InvalidRequest, NotFound, StaleConnection
from shared.domain.identity import Principal, StaffContext
from shared.domain.jobs import ImportJob, ImportReason
from shared.domain.notifications import Notification
from shared.observability import logger
from shared.ports.connections import ConnectionAddress, ConnectionStore
from shared.ports.engagements import EngagementRows
from shared.ports.once import OnceOnly
from shared.ports.queue import JobSender
from shared.ports.storage import TransactItem
from shared.services import customers
from shared.services.customers import OnboardingPorts


@dataclass
class ConnectionsPorts:
    connections: ConnectionStore
    onboarding: OnboardingPorts
    providers: Callable[[str], AggregatorProvider]
    imports: JobSender
    engagements: EngagementRows  # the Data Refresh rows, rewritten after each connection change
    webhooks_once: OnceOnly  # a provider event has its effect once, however often it is delivered
    # Where the bank sends the person back, per provider (composition-root configuration):
    # GoCardless -> our callback; Plaid -> None (Link completes in the page, then /complete).
    redirect_urls: Mapping[str, str | None]
    api_base_url: str
    clock: Now = field(default=business_now)


@dataclass(frozen=True)
class Started:
    connection: Connection
    consent_url: str | None
    link_token: str | None


# institutions and connecting -----------------------------------------------------------------
def search_institutions(
    ports: ConnectionsPorts, provider: str, country: str, query: str
) -> list[Institution]:
    """R-CON-1: name, web address and notice, so people pick the right bank among look-alikes."""
    return ports.providers(provider).search_institutions(country, query)


def start_connection(
    ports: ConnectionsPorts, principal: Principal, *, provider: str, institution_id: str, firm_id: str | None
) -> Started:
    """R-CON-2/3: a consent at the bank (90 days, the institution's full history, all scopes)."""
    customer = _own_engagement(ports, principal, firm_id)
    aggregator = ports.providers(provider)
    institution = aggregator.get_institution(institution_id)
    now = ports.clock()
    connection = Connection(
        firm_id=customer.firm_id,
        customer_id=customer.customer_id,
        connection_id=str(ULID.from_datetime(now)),
        user_id=principal.user_id,
        provider=provider,
        institution_id=institution.id,
        institution_name=institution.name,
        status=ConnectionStatus.PENDING,
        created_at=now,
        status_changed_at=now,
    )
    started = _begin_consent(ports, connection, None)
    _audit(ports, principal.user_id, started.connection, "connection.started")
    return started


def reauthorise(ports: ConnectionsPorts, principal: Principal, connection_id: str) -> Started:
    """R-CON-6: a new consent; on success the expiry is 90 days from then."""
    connection = _own_connection(ports, principal, connection_id)
    started = _begin_consent(ports, connection, connection)
    _audit(ports, principal.user_id, connection, "connection.reauthorisation_started")
    return started


def _begin_consent(ports: ConnectionsPorts, connection: Connection, previous: Connection | None) -> Started:
    aggregator = ports.providers(connection.provider)
    reference, reference_hash = new_reference()
    consent = aggregator.start_consent(
        ConsentRequest(
            institution_id=connection.institution_id,
            reference=reference,
            redirect_url=ports.redirect_urls.get(connection.provider),
            user_id=connection.user_id,
            webhook_url=f"{ports.api_base_url}/webhooks/{connection.provider}",
            update_consent=connection.credential if previous is not None else None,
        )
    )
    # A new consent on a revoked connection starts it again (pending until the bank answers).
    restarted = (
        connection.with_status(ConnectionStatus.PENDING, ports.clock())
        if (connection.status is ConnectionStatus.REVOKED)
        else connection
    )
    pending = replace(restarted, consent_handle=consent.consent_handle, reference_hash=reference_hash)
    saved = _save(
        ports,
        pending,
        previous,
        ports.connections.reference_put(pending, reference_hash, issued_at=ports.clock()),
    )
    return Started(saved, consent.consent_url, consent.link_token)


# completing a consent ------------------------------------------------------------------------
def callback_redirect(ports: ConnectionsPorts, reference: str) -> str:
    """Where to send the person after the bank's redirect: our own front end (allow-listed by
    construction), carrying only the outcome."""
    outcome = complete_from_callback(ports, reference)
    return f"{ports.onboarding.app_base_url}/connections/complete?{urlencode({'outcome': outcome})}"


def complete_from_callback(ports: ConnectionsPorts, reference: str) -> str:
    """The bank's redirect (unsigned): only our reference is trusted; the provider is asked for
    the truth. Returns the outcome; a wrong or replayed reference changes nothing.

    A double click (or a reload) replays the reference that has just completed its connection:
    within `CALLBACK_REPLAY_WINDOW` it lands on the connection's current outcome, without asking
    the provider again; any other reference, or a replay after that, is "invalid"."""
    if not reference or len(reference) > 128:
        return "invalid"
    reference_hash = hash_reference(reference)
    address = ports.connections.locate_by_reference(reference_hash)
    connection = ports.connections.get(address) if address else None
    if address is None or connection is None:
        return "invalid"
    if connection.reference_hash != reference_hash:
        return _replayed(ports, reference_hash, address)
    try:
        completed = _complete(
            ports, connection, CompletionInput(consent_handle=connection.consent_handle or "")
        )
    except StaleConnection:
        return _replayed(ports, reference_hash, address)  # a concurrent click won: its outcome
    except DomainError as error:  # the aggregator is down, a double click raced...: the browser still lands
        logger.warning(
            "Consent callback failed",
            extra={"connection_id": connection.connection_id, "error_type": type(error).__name__},
        )
        return "error"
    return completed.status.value


def _replayed(ports: ConnectionsPorts, reference_hash: str, address: ConnectionAddress) -> str:
    """A reference already used: the connection's status if this very reference completed it
    within the replay window (nothing is changed or asked of the provider), else "invalid"."""
    used_at = ports.connections.reference_used_at(reference_hash)
    if used_at is None or ports.clock() - used_at > CALLBACK_REPLAY_WINDOW:
        return "invalid"
    connection = ports.connections.get(address)
    return connection.status.value if connection else "invalid"


def complete_consent(
    ports: ConnectionsPorts, principal: Principal, connection_id: str, public_token: str | None
) -> Connection:
    """The front end finishing a consent (Plaid's public token) or checking a pending one."""
    connection = _own_connection(ports, principal, connection_id)
    if connection.consent_handle is None:
        raise Conflict("There is no consent in progress on this connection.", code="no_consent_in_progress")
    completion = CompletionInput(
        consent_handle=connection.consent_handle, public_token=public_token, credential=connection.credential
    )
    return _complete(ports, connection, completion)


def _complete(ports: ConnectionsPorts, connection: Connection, completion: CompletionInput) -> Connection:
    aggregator = ports.providers(connection.provider)
    outcome = aggregator.complete_consent(completion)
    now = ports.clock()
    if outcome.state is ConsentState.PENDING:
        return connection  # the person has not finished at the bank: the link stays usable
    extra = []
    if connection.reference_hash:
        extra.append(ports.connections.reference_consume(connection.reference_hash, used_at=now))
    if outcome.state is ConsentState.LINKED and outcome.credential:
        updated = replace(
            connection.linked(now, outcome.credential, outcome.access_expires_at),
            consent_handle=None,
            item_id=outcome.item_id or connection.item_id,
        )
        offered = _offer_accounts(ports, updated, _read_accounts(ports, updated, outcome.credential))
        if offered is None:
            updated = updated.with_status(ConnectionStatus.NO_ACCOUNTS, now)
    else:
        status = FROM_CONSENT[outcome.state]
        updated = replace(
            connection.with_status(status, now, error=status_problem(status, outcome.reason)),
            consent_handle=None,
            reference_hash=None,
        )
    saved = _save(ports, updated, connection, *extra)
    _audit(ports, connection.user_id, saved, "connection.consent_completed", {"status": saved.status.value})
    return saved


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
    return customers.offer_accounts(
        ports.onboarding,
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
    stored = ports.onboarding.accounts.list_for_customer(connection.firm_id, connection.customer_id)
    elsewhere = {a.identity_key for a in stored if a.identity_key and a.connection_id in live}
    return [a for a in accounts if a.identity_key is None or a.identity_key not in elsewhere]


# troubleshooting -----------------------------------------------------------------------------
def _read_accounts(
    ports: ConnectionsPorts, connection: Connection, credential: str
) -> list[AggregatorAccount]:
    """The consent's accounts with their details and balances, except those the firm declined
    (R-INV-6: never read again, known by provider id or, under a new consent, by identity).
    Where the provider limits requests per account and day, the adapter spends them before
    each request, from the counters imports use; spent, it raises with the next possible time."""
    stored = ports.onboarding.accounts.list_for_customer(connection.firm_id, connection.customer_id)
    declined = [a for a in stored if a.status is AccountStatus.DECLINED]
    declined_ids = {a.provider_account_id for a in declined}
    declined_keys = {a.identity_key for a in declined if a.identity_key}

    def refused(account: AggregatorAccount) -> bool:
        key = identity_key(connection.institution_id, account.identity)
        return account.account_id in declined_ids or (key is not None and key in declined_keys)

    return ports.providers(connection.provider).list_accounts(credential, skip=refused)


def find_new_accounts(ports: ConnectionsPorts, principal: Principal, connection_id: str) -> int:
    """R-CON-8: the customer (never the adviser) asks the bank again for accounts."""
    connection = _own_connection(ports, principal, connection_id)
    if connection.credential is None:
        raise Conflict("This connection has no consent yet.", code="no_consent")
    connection.check_not_held(ports.clock())
    offered = _offer_accounts(ports, connection, _read_accounts(ports, connection, connection.credential))
    if connection.status is ConnectionStatus.NO_ACCOUNTS and offered is not None:
        _save(ports, connection.with_status(ConnectionStatus.LINKED, ports.clock()), connection)
    return offered or 0


def refresh(ports: ConnectionsPorts, caller: Principal | StaffContext, connection_id: str) -> Connection:
    """R-CON-8 "unable to get recent values": check the consent and queue an import now.

    A revoked connection says so (connect the bank again). Before the provider's rate-limit
    reset (`rate_limited_until`) the provider is not asked: the answer is at once a 429 that
    says when the next call is possible (R-IMP-4)."""
    connection = (
        _staff_connection(ports, caller, connection_id)
        if isinstance(caller, StaffContext)
        else _own_connection(ports, caller, connection_id)
    )
    if connection.status is ConnectionStatus.REVOKED:
        raise Conflict("This connection was revoked: connect the bank again.", code="connection_revoked")
    if connection.credential is None:
        raise Conflict("This connection has no consent yet.", code="no_consent")
    connection.check_not_held(ports.clock())
    outcome = ports.providers(connection.provider).consent_state(connection.credential)
    status = FROM_CONSENT[outcome.state]
    updated = connection.with_status(status, ports.clock(), error=status_problem(status, outcome.reason))
    if updated != connection:
        updated = _save(ports, updated, connection)
    if updated.status in IMPORTABLE:
        ports.imports.send([_job(updated, ImportReason.MANUAL).to_json()])
    return updated


def deauthorise(ports: ConnectionsPorts, caller: Principal | StaffContext, connection_id: str) -> Connection:
    """R-CON-7: revoke at the aggregator, mark revoked, no more imports. The customer, or a firm admin."""
    if isinstance(caller, StaffContext):
        if not caller.is_admin:
            raise Forbidden()
        connection = _staff_connection(ports, caller, connection_id)
        actor = caller.principal.user_id
    else:
        connection = _own_connection(ports, caller, connection_id)
        actor = caller.user_id
    if connection.credential:
        ports.providers(connection.provider).revoke(connection.credential)
    revoked = replace(
        connection.with_status(ConnectionStatus.REVOKED, ports.clock()),
        consent_handle=None,
        credential=None,  # dead at the provider: nothing may use it again
        reference_hash=None,
    )
    extra = (
        [ports.connections.reference_forget(connection.reference_hash)] if connection.reference_hash else []
    )
    saved = _save(ports, revoked, connection, *extra)
    _audit(ports, actor, saved, "connection.deauthorised")
    return saved


# listing -------------------------------------------------------------------------------------
def my_connections(ports: ConnectionsPorts, principal: Principal) -> list[Connection]:
    links = ports.onboarding.identities.list_customer_links(principal.user_id)
    found: list[Connection] = []
    for link in links:
        found += [
            c
            for c in ports.connections.list_for_customer(link.firm_id, link.customer_id)
            if c.user_id == principal.user_id
        ]
    return found


def import_now(ports: ConnectionsPorts, staff: StaffContext, customer_id: str) -> int:
    """Seed 003 "Import transactions": queue the customer's importable connections now; the
    worker applies the same rules (window, budget, idempotency) as the daily run. When every
    one waits for its provider's reset, the answer says when, at once (R-IMP-4)."""
    now = ports.clock()
    importable = [c for c in customer_connections(ports, staff, customer_id) if c.status in IMPORTABLE]
    ready = [c for c in importable if not c.held(now)]
    if importable and not ready:
        min(importable, key=lambda c: c.rate_limited_until or now).check_not_held(now)
    jobs = [_job(c, ImportReason.MANUAL).to_json() for c in ready]
    ports.imports.send(jobs)
    _audit_customer(ports, staff, customer_id, "import.requested", {"jobs": len(jobs)})
    return len(jobs)


def customer_connections(ports: ConnectionsPorts, staff: StaffContext, customer_id: str) -> list[Connection]:
    customers.visible_customer(ports.onboarding, staff, customer_id)
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
    connection = ports.connections.get(address) if address else None
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
        offered = _offer_accounts(ports, connection, _read_accounts(ports, connection, connection.credential))
        return f"offered_{offered or 0}"
    if event == "expiring":
        expires_at = details.get("expires_at")
        updated = (
            replace(connection, expires_at=expires_at) if isinstance(expires_at, datetime) else connection
        )
        if updated != connection:
            _save(ports, updated, connection)
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
    _save(ports, updated, connection)
    _audit(ports, "system", updated, "connection.status_changed", {"status": status.value})
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
def _own_engagement(ports: ConnectionsPorts, principal: Principal, firm_id: str | None) -> Customer:
    links = [
        link
        for link in ports.onboarding.identities.list_customer_links(principal.user_id)
        if firm_id is None or link.firm_id == firm_id
    ]
    if not links:
        raise (
            NotFound()
            if firm_id
            else Forbidden("Only a firm's customer connects a bank.", code="customers_only")
        )
    if len(links) > 1:
        raise InvalidRequest(
            "You are a customer of several firms: say which in firm_id.", code="firm_required"
        )
    customer = ports.onboarding.customers.get(links[0].firm_id, links[0].customer_id)
    if customer is None or customer.user_id != principal.user_id:
        raise NotFound()
    return customer


def _own_connection(ports: ConnectionsPorts, principal: Principal, connection_id: str) -> Connection:
    address = ports.connections.locate(connection_id)
    connection = ports.connections.get(address) if address else None
    if connection is None or connection.user_id != principal.user_id:
        raise NotFound()
    return connection


def _staff_connection(ports: ConnectionsPorts, staff: StaffContext, connection_id: str) -> Connection:
    address = ports.connections.locate(connection_id)
    if address is None or address.firm_id != staff.firm_id:
        raise NotFound()
    customers.visible_customer(ports.onboarding, staff, address.customer_id)
    connection = ports.connections.get(address)
    if connection is None:
        raise NotFound()
    return connection


def _save(
    ports: ConnectionsPorts, connection: Connection, previous: Connection | None, *extra: TransactItem
) -> Connection:
    """Store the connection (with `extra` writes, atomically), then rewrite its engagement's Data
    Refresh rows: the one place a connection use case changes a connection."""
    saved = ports.connections.save(connection, previous, *extra)
    ports.engagements.connection_changed(saved)
    return saved


def _job(connection: Connection, reason: ImportReason) -> ImportJob:
    return ImportJob(connection.firm_id, connection.customer_id, connection.connection_id, reason)


def _notify_customer(ports: ConnectionsPorts, connection: Connection, kind: str, text: str) -> None:
    now = ports.clock()
    ports.onboarding.notifications.add(
        Notification(
            user_id=connection.user_id,
            notification_id=str(ULID.from_datetime(now)),
            kind=kind,
            title=text,
            body=text,
            created_at=now,
            firm_id=connection.firm_id,
        )
    )


def _audit_customer(
    ports: ConnectionsPorts, staff: StaffContext, customer_id: str, action: str, details: dict
) -> None:
    ports.onboarding.audit.record(
        AuditEvent(
            firm_id=staff.firm_id,
            actor_id=staff.principal.user_id,
            action=action,
            target_type="customer",
            target_id=customer_id,
            details=details,
            occurred_at=ports.clock(),
            customer_id=customer_id,
        )
    )


def _audit(
    ports: ConnectionsPorts, actor: str, connection: Connection, action: str, details: dict | None = None
) -> None:
    ports.onboarding.audit.record(
        AuditEvent(
            firm_id=connection.firm_id,
            actor_id=actor,
            action=action,
            target_type="connection",
            target_id=connection.connection_id,
            details=details or {},
            occurred_at=ports.clock(),
            customer_id=connection.customer_id,
        )
    )
