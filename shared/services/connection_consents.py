"""Connect a bank: pick the institution, start or renew the consent, complete it (the bank's redirect
or the front end), deauthorise (R-CON-1..3, R-CON-6, R-CON-7).

Use cases talk to the aggregator only through the port; the provider's name is data here,
never a branch. The ports and the helpers shared with the connection's later life (status,
refresh, webhooks, account discovery) are in `connections`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from ulid import ULID

from shared.auth import customer_of
from shared.domain.aggregator import CompletionInput, ConsentRequest, ConsentState, Institution
from shared.domain.connections import (
    CALLBACK_REPLAY_WINDOW,
    FROM_CONSENT,
    Connection,
    ConnectionStatus,
    hash_reference,
    new_reference,
    status_problem,
)
from shared.domain.errors import Conflict, DomainError, Forbidden, StaleConnection
from shared.domain.identity import Principal, StaffContext
from shared.domain.limits import Action, LimitReached, charges
from shared.observability import logger
from shared.ports.connections import ConnectionAddress
from shared.ports.firm_bound import bind_ports
from shared.services.connections import (
    ConnectionsPorts,
    discover_accounts,
    own_connection,
    save_connection,
    spend_calls,
    staff_connection,
)
from shared.services.credentials import provider_credential


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
    customer = customer_of(principal, ports.identities, ports.customers, firm_id)
    ports = bind_ports(ports, customer.firm_id)
    spent = charges(Action.CONNECT, user=principal.user_id, firm=customer.firm_id)
    ports.limits.spend(spent, ports.clock())
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
    return _begin_consent(ports, connection, None, actor=principal.user_id, action="connection.started")


def reauthorise(ports: ConnectionsPorts, principal: Principal, connection_id: str) -> Started:
    """R-CON-6: a new consent; on success the expiry is 90 days from then."""
    connection, ports = own_connection(ports, principal, connection_id)
    spend_calls(ports, [connection], principal.user_id)
    return _begin_consent(
        ports, connection, connection, actor=principal.user_id, action="connection.reauthorisation_started"
    )


def _begin_consent(
    ports: ConnectionsPorts, connection: Connection, previous: Connection | None, *, actor: str, action: str
) -> Started:
    aggregator = ports.providers(connection.provider)
    reference, reference_hash = new_reference()
    consent = aggregator.start_consent(
        ConsentRequest(
            institution_id=connection.institution_id,
            reference=reference,
            redirect_url=ports.redirect_urls.get(connection.provider),
            user_id=connection.user_id,
            webhook_url=f"{ports.api_base_url}/webhooks/{connection.provider}",
            update_consent=_credential_if_any(ports, connection) if previous is not None else None,
        )
    )
    # A new consent on a revoked connection starts it again (pending until the bank answers).
    restarted = (
        connection.with_status(ConnectionStatus.PENDING, ports.clock())
        if (connection.status is ConnectionStatus.REVOKED)
        else connection
    )
    pending = replace(restarted, consent_handle=consent.consent_handle, reference_hash=reference_hash)
    saved = save_connection(
        ports,
        pending,
        previous,
        ports.connections.reference_put(pending, reference_hash, issued_at=ports.clock()),
        actor=actor,
        action=action,
    )
    return Started(saved, consent.consent_url, consent.link_token)


# completing a consent ------------------------------------------------------------------------
def callback_redirect(ports: ConnectionsPorts, reference: str) -> str:
    """Where to send the person after the bank's redirect: our own front end (allow-listed by
    construction), carrying only the outcome."""
    outcome = complete_from_callback(ports, reference)
    return f"{ports.app_base_url}/connections/complete?{urlencode({'outcome': outcome})}"


def complete_from_callback(ports: ConnectionsPorts, reference: str) -> str:
    """The bank's redirect (unsigned): only our reference is trusted; the provider is asked for
    the truth. Returns the outcome; a wrong or replayed reference changes nothing.

    The reference is used once: it is claimed (a conditional write) before the provider is asked,
    so a replay — after a success, a failure or a provider outage alike — asks the provider nothing
    and spends no budget; a consent left unfinished is completed by the app (`complete_consent`).
    A double click (or a reload) within `CALLBACK_REPLAY_WINDOW` lands on the connection's current
    outcome; any other reference, or a replay after that, is "invalid". Beyond the connection's
    abuse limits the outcome is "rate_limited" and the reference stays unused."""
    if not reference or len(reference) > 128:
        return "invalid"
    reference_hash = hash_reference(reference)
    address = ports.connections.locate_by_reference(reference_hash)
    if address is None:
        return "invalid"
    ports = bind_ports(ports, address.firm_id)  # the reference's firm, from our own records
    connection = ports.connections.get(address)
    if connection is None:
        return "invalid"
    if connection.reference_hash != reference_hash:
        return _replayed(ports, reference_hash, address)
    try:
        spend_calls(ports, [connection], connection.user_id)
    except LimitReached:
        return "rate_limited"
    try:  # the claim: the reference is used from now on, whatever the provider answers
        claimed = ports.connections.save(
            replace(connection, reference_hash=None),
            connection,
            ports.connections.reference_consume(reference_hash, used_at=ports.clock()),
        )
    except StaleConnection:
        return _replayed(ports, reference_hash, address)  # a concurrent click won: its outcome
    try:
        completed = _complete(ports, claimed, CompletionInput(consent_handle=claimed.consent_handle or ""))
    except StaleConnection:
        return _replayed(ports, reference_hash, address)
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
    connection, ports = own_connection(ports, principal, connection_id)
    if connection.consent_handle is None:
        raise Conflict("There is no consent in progress on this connection.", code="no_consent_in_progress")
    spend_calls(ports, [connection], principal.user_id)
    completion = CompletionInput(
        consent_handle=connection.consent_handle,
        public_token=public_token,
        credential=_credential_if_any(ports, connection),
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
        offered = discover_accounts(ports, updated, outcome.credential)
        if offered is None:
            updated = updated.with_status(ConnectionStatus.NO_ACCOUNTS, now)
    else:
        status = FROM_CONSENT[outcome.state]
        updated = replace(
            connection.with_status(status, now, error=status_problem(status, outcome.reason)),
            consent_handle=None,
            reference_hash=None,
        )
    return save_connection(
        ports, updated, connection, *extra, actor=connection.user_id, action="connection.consent_completed"
    )


def deauthorise(ports: ConnectionsPorts, caller: Principal | StaffContext, connection_id: str) -> Connection:
    """R-CON-7: revoke at the aggregator, mark revoked, no more imports. The customer, or a firm admin."""
    if isinstance(caller, StaffContext):
        if not caller.is_admin:
            raise Forbidden()
        connection, ports = staff_connection(ports, caller, connection_id)
        actor = caller.principal.user_id
    else:
        connection, ports = own_connection(ports, caller, connection_id)
        actor = caller.user_id
    return revoke_connection(ports, connection, actor)


def revoke_connection(ports: ConnectionsPorts, connection: Connection, actor: str) -> Connection:
    """Revoke the consent at the aggregator, then store the connection revoked (audited): what
    deauthorising does, and what ending a relationship does to each of its connections (R-PRIV-2)."""
    if connection.credential:
        ports.providers(connection.provider).revoke(provider_credential(ports.credentials, connection))
    revoked = replace(
        connection.with_status(ConnectionStatus.REVOKED, ports.clock()),
        consent_handle=None,
        credential=None,  # dead at the provider: nothing may use it again
        reference_hash=None,
    )
    extra = (
        [ports.connections.reference_forget(connection.reference_hash)] if connection.reference_hash else []
    )
    return save_connection(ports, revoked, connection, *extra, actor=actor, action="connection.deauthorised")


def _credential_if_any(ports: ConnectionsPorts, connection: Connection) -> str | None:
    """The clear credential for a provider call that takes one when there is one (an update)."""
    return provider_credential(ports.credentials, connection) if connection.credential is not None else None
