"""Consent expiring soon (seed 003, R-CON-6, R-CON-8): the customer's reminder, once per expiry, on
the firm-local day 7 days before the consent lapses, and "reauthorise all".

The daily run (`send_expiry_reminders`, the `consent-reminders` schedule) reads the connections
awaiting a reminder from a sparse index by expiry day (one Query per day and page, never a Scan)
and hands each to `remind_expiring_connection`, the one per-connection step. That step reads the
connection again (the index is eventually consistent), checks the rule on what it read, claims the
reminder with a conditional write (the connection saved, under its optimistic lock, with the expiry
it reminds of: a retried or overlapping run, or a reauthorisation in between, makes the claim fail),
then sends; a failed send releases the claim, so the next run tries again. A new expiry (a
reauthorisation, the provider's new date) starts a new cycle: the reminder is per expiry.

Same shape as the invitations' reminders (`invitations._remind_or_expire`: read, claim, send,
release on failure); here the claim is the connection's own versioned save.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from shared.domain.audit import SYSTEM
from shared.domain.connections import Connection, expiry_reminder_days
from shared.domain.errors import DomainError, Forbidden, StaleConnection
from shared.domain.identity import Firm, Principal
from shared.domain.limits import MAX_REAUTHORISATIONS_PER_CALL
from shared.observability import logger, metrics
from shared.ports.connections import ConnectionAddress
from shared.ports.firm_bound import bind_ports
from shared.services import emails, staff_notifications
from shared.services.connection_consents import Started, reauthorise
from shared.services.connections import ConnectionsPorts, my_connections

REMINDED = "connection.expiry_reminded"
NOT_SENT = "connection.expiry_reminder_not_sent"  # the claim given back: the email failed
OUTCOMES = ("reminders_sent", "skipped", "failed")


# the daily run ---------------------------------------------------------------------------------
def send_expiry_reminders(ports: ConnectionsPorts) -> dict[str, int]:
    """Every connection whose consent-expiry reminder is due: sent once, whatever the runs."""
    now = ports.clock()
    firm_of = cache(ports.identities.get_firm)  # one read per firm per run
    outcome: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
    for day in expiry_reminder_days(now):
        for page in ports.connections.awaiting_expiry_reminder(day, now):
            outcome.update(_step(ports, address, firm_of) for address in page)
    outcome.pop("not_due", None)  # read early (a later day of the window): not counted
    for name, value in outcome.items():
        metrics.add_metric(name=f"ConsentExpiry{name.title().replace('_', '')}", unit="Count", value=value)
    return dict(outcome)


def _step(ports: ConnectionsPorts, address: ConnectionAddress, firm_of: Callable[[str], Firm | None]) -> str:
    """One connection's step; its failure (a throttled read, say) is that connection's alone: the
    run goes on with the others and the next run tries it again (the claim is taken last)."""
    try:
        return remind_expiring_connection(ports, address, firm_of)
    except Exception as error:
        logger.error(
            "Consent expiry reminder step failed",
            extra={"connection_id": address.connection_id, "error_type": type(error).__name__},
        )
        return "failed"


def remind_expiring_connection(
    ports: ConnectionsPorts, address: ConnectionAddress, firm_of: Callable[[str], Firm | None]
) -> str:
    """The daily run's step for one connection: remind its customer if due (see the module
    docstring). Returns the outcome: reminders_sent, not_due, skipped or failed."""
    ports = bind_ports(ports, address.firm_id)  # the index's firm, from our own records
    connection = ports.connections.get(address)
    firm = firm_of(address.firm_id)
    now = ports.clock()
    if connection is None or firm is None or not connection.expiry_reminder_due(now, firm.timezone):
        return "not_due"
    customer = ports.customers.get(connection.firm_id, connection.customer_id)
    if customer is None or connection.expires_at is None:
        return "skipped"
    expiry = connection.expires_at
    local_expiry = expiry.astimezone(ZoneInfo(firm.timezone)).date()
    # Everything the email needs is ready before the claim: once taken, only the send can fail.
    letter = emails.consent_expiry_email(
        to=customer.email,
        customer_name=customer.name,
        firm_name=firm.name,
        institution_name=connection.institution_name,
        expires_on=f"{local_expiry:%d %B %Y}",
        link=emails.reauthorise_link(ports.app_base_url, connection.connection_id),
    )
    try:
        # The store's save alone (with its audit event): the reminder changes nothing the Data Refresh
        # rows show, so no later step may fail between the claim and the send.
        reminded = replace(connection, expiry_reminded_for=expiry)
        event = reminded.audit_event(SYSTEM, REMINDED, ports.clock(), {"expires_at": expiry.isoformat()})
        claimed = ports.connections.save(reminded, connection, ports.audit.put_op(event))
    except StaleConnection:
        return "skipped"  # another run claimed it, or the connection changed: its next read decides
    try:
        ports.email.send(letter)
    except Exception as error:  # the type only: a provider's message may quote the address
        logger.error(
            "Consent expiry reminder not sent",
            extra={"connection_id": connection.connection_id, "error_type": type(error).__name__},
        )
        _release(ports, address, expiry, connection.expiry_reminded_for)
        return "failed"
    # its owner and advisers too, with the day the customer's email names (the firm's calendar)
    staff_notifications.consent_expiring(ports.staff_notices, claimed, expires_on=local_expiry.isoformat())
    return "reminders_sent"


def _release(
    ports: ConnectionsPorts, address: ConnectionAddress, expiry: datetime, before: datetime | None
) -> None:
    """Give a reminder that could not be sent back to the next run, unless the connection moved on
    meanwhile (a new expiry has its own cycle)."""
    current = ports.connections.get(address)
    if current is None or current.expiry_reminded_for != expiry:
        return
    released = replace(current, expiry_reminded_for=before)
    event = released.audit_event(SYSTEM, NOT_SENT, ports.clock(), {"expires_at": expiry.isoformat()})
    try:
        ports.connections.save(released, current, ports.audit.put_op(event))
    except StaleConnection:
        logger.warning("Consent expiry reminder claim kept", extra={"connection_id": address.connection_id})


# reauthorise all -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reauthorisation:
    """One connection's outcome in "reauthorise all": its new consent, or why it could not start."""

    connection: Connection
    started: Started | None = None
    error: DomainError | None = None


def reauthorise_lapsing(ports: ConnectionsPorts, principal: Principal) -> list[Reauthorisation]:
    """Seed 003 "reauthorise" (one redirect per bank): a new consent for every connection of the
    customer that expired or expires within 7 days, each exactly as `reauthorise` starts one (its
    abuse limits spent first). One connection failing (the provider's 429 or 5xx, a concurrent
    change, a limit) fails only its own. At most `MAX_REAUTHORISATIONS_PER_CALL` start, the soonest
    to lapse first; the others answer `reauthorisation_cap` (nothing asked of the provider)."""
    if not ports.identities.list_customer_links(principal.user_id):
        raise Forbidden("Only a firm's customer reauthorises connections.", code="customers_only")
    now = ports.clock()
    done = []
    lapsing = [c for c in my_connections(ports, principal) if c.consent_lapsing(now)]
    lapsing.sort(key=lambda c: (c.expires_at or now, c.connection_id))
    for connection in lapsing[MAX_REAUTHORISATIONS_PER_CALL:]:
        done.append(Reauthorisation(connection, error=ReauthorisationCap()))
    for connection in lapsing[:MAX_REAUTHORISATIONS_PER_CALL]:
        try:
            done.append(Reauthorisation(connection, reauthorise(ports, principal, connection.connection_id)))
        except DomainError as error:
            logger.warning(
                "Reauthorisation not started",
                extra={"connection_id": connection.connection_id, "error_type": type(error).__name__},
            )
            done.append(Reauthorisation(connection, error=error))
    return _in_order(done, lapsing)


class ReauthorisationCap(DomainError):
    status = 429
    code = "reauthorisation_cap"
    default_message = (
        f"At most {MAX_REAUTHORISATIONS_PER_CALL} connections are reauthorised at once: reauthorise this "
        "one on its own, or call again once the others are done."
    )


def _in_order(done: list[Reauthorisation], lapsing: list[Connection]) -> list[Reauthorisation]:
    """The outcomes in the order of `lapsing` (soonest to lapse first)."""
    position = {c.connection_id: n for n, c in enumerate(lapsing)}
    return sorted(done, key=lambda d: position[d.connection.connection_id])
