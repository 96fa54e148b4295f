"""The data lifecycle after consent (R-PRIV-2, R-PRIV-3): a relationship that ends, the firm's
retention, erasure requests and their approval, and the erasure itself.

Ending a relationship (the firm removes the customer, or the customer leaves) is first one small
transaction, whatever the customer's size: the customer's end (onto the admins' ended list, off every
other list and the firm's counts) with its audit event, the point of no return. Then the same call
removes the rest, each step in batches and idempotent: the advisers' rows with their counters, the
search entries, the Data Refresh rows; each connection is revoked at the provider, so imports stop;
and last the person's link to the record. A call that stopped half-way is finished by its retry (the
admin's end, or the customer's leave, which still finds the record while its link is there) before it
answers 409 `relationship_ended`; the erasure removes whatever is left in any case. We chose the
same call over a worker: the lists are right when it answers, and nothing after the point of no
return depends on a queue taking a message.

From then on only admins read the customer's data (`Customer.visible_to`, applied by
`customers.visible_customer` and `auth.file_caller`, which every customer-scoped use case goes
through), and nobody changes it (`Customer.check_open`: 409) but by the steps here, until it is
erased: on the firm-local day its retention ends (the daily sweep), or at once when an admin
approves an erasure request.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from shared.auth import FirmAction, authorize, customer_of
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.audit import AuditEvent
from shared.domain.connections import ConnectionStatus
from shared.domain.customers import Customer
from shared.domain.errors import Conflict, DomainError, QueueSendFailed
from shared.domain.identity import Principal, StaffContext
from shared.domain.lifecycle import EndedBy, ErasureJob, FirmSettings, erasure_due, local_day
from shared.observability import logger, metrics
from shared.ports.exports import ExportFiles
from shared.ports.firm_bound import bind_ports
from shared.ports.lifecycle import ErasureStore, LifecycleStore
from shared.ports.queue import JobSender
from shared.ports.refresh import EngagementRowStore
from shared.ports.storage import TransactItem
from shared.services.connection_consents import revoke_connection
from shared.services.connections import ConnectionsPorts, save_connection
from shared.services.customers import visible_customer

SYSTEM = "system"  # the actor of the sweep and the worker
JOBS_PER_SEND = 10  # one SendMessageBatch


@dataclass
class LifecyclePorts:
    connections: ConnectionsPorts  # the customers, their connections, the provider, the audit log
    rows: EngagementRowStore  # the Data Refresh rows, removed with the relationship
    lifecycle: LifecycleStore
    erasure: ErasureStore
    export_files: ExportFiles
    erasures: JobSender  # the erasure queue
    default_timezone: str
    clock: Now = field(default=business_now)


# the firm's settings ---------------------------------------------------------------------------
def firm_settings(ports: LifecyclePorts, staff: StaffContext) -> FirmSettings:
    authorize(staff, FirmAction.MANAGE_FIRM_SETTINGS)
    return ports.lifecycle.settings(staff.firm_id)


def change_firm_settings(ports: LifecyclePorts, staff: StaffContext, retention_years: int) -> FirmSettings:
    """The retention period applies to relationships that end from now on (an ended one keeps the
    erasure day it was given)."""
    authorize(staff, FirmAction.MANAGE_FIRM_SETTINGS)
    settings = FirmSettings(staff.firm_id, retention_years)
    event = _event(
        ports,
        staff.firm_id,
        staff.principal.user_id,
        "firm.settings_changed",
        None,
        retention_years=retention_years,
    )
    ports.lifecycle.transact([ports.lifecycle.settings_op(settings), ports.connections.audit.put_op(event)])
    return settings


# the relationship ends -------------------------------------------------------------------------
def end_relationship(ports: LifecyclePorts, staff: StaffContext, customer_id: str) -> Customer:
    """The firm removes the customer (R-PRIV-2)."""
    authorize(staff, FirmAction.END_RELATIONSHIP)
    customer = visible_customer(ports.connections, staff, customer_id)
    return _end(ports, customer, EndedBy.FIRM, staff.principal.user_id)


def leave_firm(ports: LifecyclePorts, principal: Principal, firm_id: str, *, erase: bool) -> Customer:
    """The customer leaves the firm (R-PRIV-2), asking for erasure if `erase` (an admin approves)."""
    identities, customers = ports.connections.identities, ports.connections.customers
    found = customer_of(principal, identities, customers, firm_id, ended=True)
    bound = bind_ports(ports, found.firm_id)
    customer = replace(found, erasure_requested_by=principal.user_id) if erase else found
    return _end(bound, customer, EndedBy.CUSTOMER, principal.user_id, previous=found)


def _end(
    ports: LifecyclePorts,
    customer: Customer,
    by: EndedBy,
    actor: str,
    *,
    previous: Customer | None = None,
    due_now: bool = False,
    extra: tuple[TransactItem, ...] = (),
) -> Customer:
    previous = previous or customer
    if previous.relationship_ended:
        _finish_end(ports, previous, actor)  # a retry finishes what a call that stopped left
        raise Conflict("This relationship has already ended.", code="relationship_ended")
    now = ports.clock()
    timezone = _timezone(ports, customer.firm_id)
    retention = ports.lifecycle.settings(customer.firm_id).retention_years
    due = local_day(now, timezone) if due_now else erasure_due(now, timezone, retention)
    ended = customer.ended(now, by.value, due)
    firm_id, customer_id = customer.firm_id, customer.customer_id
    event = _event(
        ports,
        firm_id,
        actor,
        "relationship.ended",
        customer_id,
        by=by.value,
        erasure_due=due.isoformat(),
        erasure_requested=bool(ended.erasure_requested_by),
    )
    # the point of no return: the customer item, the firm's counters, the event (a few items)
    saved = ports.connections.customers.save(ended, previous, ports.connections.audit.put_op(event), *extra)
    _finish_end(ports, saved, actor)
    return saved


def _finish_end(ports: LifecyclePorts, customer: Customer, actor: str) -> None:
    """What goes after the end's marker, each step idempotent, so running it again finishes it: the
    rows and search entries (batches), the Data Refresh rows, the connections (revoked at the
    provider), and last the person's link, by which a retried `leave` still finds the record."""
    firm_id, customer_id = customer.firm_id, customer.customer_id
    ports.connections.customers.clear_rows(customer)
    engagement = ports.rows.get_engagement(firm_id, customer_id)
    if engagement is not None:
        ports.rows.remove_rows(engagement)
    _revoke_connections(ports, customer, actor)
    if customer.user_id:
        ports.lifecycle.transact(
            [ports.lifecycle.customer_link_delete_op(customer.user_id, firm_id, customer_id)]
        )


def _revoke_connections(ports: LifecyclePorts, customer: Customer, actor: str) -> int:
    """Revoke every connection still live, at the provider first (R-CON-7). A provider that cannot
    be reached: the connection is stored revoked all the same (imports stop now), its credential kept
    for the erasure worker, which revokes it at the provider before erasing (and raises until then).
    Returns how many are still live at a provider."""
    left = 0
    for connection in ports.connections.connections.list_for_customer(customer.firm_id, customer.customer_id):
        if connection.status is ConnectionStatus.REVOKED and not connection.credential:
            continue
        try:
            revoke_connection(ports.connections, connection, actor)
        except DomainError as error:
            left += 1
            logger.warning(
                "Connection not revoked at the provider at the end of a relationship",
                extra={"connection_id": connection.connection_id, "error_code": error.code},
            )
            metrics.add_metric(name="LifecycleRevokeFailed", unit="Count", value=1)
            if connection.status is not ConnectionStatus.REVOKED:
                stopped = connection.with_status(ConnectionStatus.REVOKED, ports.clock())
                save_connection(
                    ports.connections, stopped, connection, actor=actor, action="connection.stopped"
                )
    return left


# erasure requests ------------------------------------------------------------------------------
def request_erasure(ports: LifecyclePorts, staff: StaffContext, customer_id: str) -> Customer:
    """A staff member asks for the customer's erasure before its retention ends (an admin approves)."""
    authorize(staff, FirmAction.REQUEST_ERASURE)
    customer = visible_customer(ports.connections, staff, customer_id)
    if customer.erasure_requested_by:
        return customer  # asked already: the first request stands
    requested = replace(customer, erasure_requested_by=staff.principal.user_id)
    event = _event(
        ports, customer.firm_id, staff.principal.user_id, "erasure.requested", customer.customer_id
    )
    return ports.connections.customers.save(requested, customer, ports.connections.audit.put_op(event))


def approve_erasure(ports: LifecyclePorts, staff: StaffContext, customer_id: str) -> Customer:
    """An admin approves a request (R-PRIV-3, audited): the relationship ends if it had not, the
    erasure is due today and queued at once (the daily sweep catches it if the queue cannot)."""
    authorize(staff, FirmAction.APPROVE_ERASURE)
    customer = visible_customer(ports.connections, staff, customer_id)
    if not customer.erasure_requested_by:
        raise Conflict("Nobody asked for this customer's erasure.", code="no_erasure_request")
    today = local_day(ports.clock(), _timezone(ports, customer.firm_id))
    if customer.relationship_ended and customer.erasure_due is not None and customer.erasure_due <= today:
        return customer  # approved already (or due anyway): queued then, and the daily sweep catches it
    actor = staff.principal.user_id
    event = _event(
        ports,
        customer.firm_id,
        actor,
        "erasure.approved",
        customer_id,
        requested_by=customer.erasure_requested_by,
    )
    approval = ports.connections.audit.put_op(event)
    if not customer.relationship_ended:
        saved = _end(ports, customer, EndedBy.FIRM, actor, due_now=True, extra=(approval,))
    else:
        due = min(today, customer.erasure_due or today)
        saved = ports.connections.customers.save(replace(customer, erasure_due=due), customer, approval)
    _queue(ports, [(saved.firm_id, saved.customer_id)])
    return saved


# the sweep and the worker ----------------------------------------------------------------------
def sweep_erasures(ports: LifecyclePorts) -> int:
    """The daily sweep (unbound: every firm): queue an erasure job per relationship whose retention
    ended by today (UTC; the worker checks the firm's own day), missed runs included."""
    today = ports.clock().date().isoformat()
    due = ports.connections.customers.due_for_erasure(today)
    _queue(ports, due)
    return len(due)


def erase_customer(ports: LifecyclePorts, job: ErasureJob) -> str:
    """Erase one customer of one firm (R-PRIV-3) on ports bound to the job's firm: revoke what is
    still live at the provider, delete the export files, then every item (batches), then the
    customer item with its audit event (ids only). Idempotent and resumable: a retried job finds
    what is left; a customer already gone is done."""
    customer = ports.connections.customers.get(job.firm_id, job.customer_id)
    if customer is None:
        return "gone"
    today = local_day(ports.clock(), _timezone(ports, customer.firm_id))
    if customer.erasure_due is None or customer.erasure_due > today:
        return "not_due"
    if _revoke_connections(ports, customer, SYSTEM):
        raise RetryErasure()  # a provider still holds a live consent: SQS tries again later
    for export_id in ports.erasure.export_ids(customer.firm_id, customer.customer_id):
        ports.export_files.delete(customer.firm_id, export_id)
    deleted = ports.erasure.erase_items(customer)
    event = _event(ports, customer.firm_id, SYSTEM, "customer.erased", customer.customer_id, items=deleted)
    ports.lifecycle.transact(
        [*ports.erasure.erase_customer_ops(customer), ports.connections.audit.put_op(event)]
    )
    metrics.add_metric(name="CustomersErased", unit="Count", value=1)
    return "erased"


def erasure_given_up(ports: LifecyclePorts, job: ErasureJob) -> None:
    """The job was parked (its reason in the dead-letter queue): the log says so, ids only; the
    customer stays due, so the next daily sweep queues it again."""
    ports.connections.audit.record(_event(ports, job.firm_id, SYSTEM, "erasure.failed", job.customer_id))


class RetryErasure(DomainError):
    status = 503
    code = "erasure_retry"
    default_message = "A provider consent could not be revoked yet: the erasure is tried again."


# helpers ---------------------------------------------------------------------------------------
def _queue(ports: LifecyclePorts, due: list[tuple[str, str]]) -> None:
    bodies = [ErasureJob(firm_id, customer_id).to_json() for firm_id, customer_id in due]
    for start in range(0, len(bodies), JOBS_PER_SEND):
        try:
            ports.erasures.send(bodies[start : start + JOBS_PER_SEND])
        except QueueSendFailed:
            logger.warning(
                "Erasure jobs not queued: the next sweep queues them", extra={"count": len(bodies)}
            )
            metrics.add_metric(name="ErasureNotQueued", unit="Count", value=1)


def _timezone(ports: LifecyclePorts, firm_id: str) -> str:
    firm = ports.connections.identities.get_firm(firm_id)
    return firm.timezone if firm else ports.default_timezone


def _event(
    ports: LifecyclePorts, firm_id: str, actor: str, action: str, customer_id: str | None, **details: object
) -> AuditEvent:
    """An event about the customer (or, without one, the firm) with ids only: names and emails never
    enter the audit log (R-PRIV-3)."""
    return AuditEvent(
        firm_id=firm_id,
        actor_id=actor,
        action=action,
        target_type="customer" if customer_id else "firm",
        target_id=customer_id or firm_id,
        details=details,
        occurred_at=ports.clock(),
        customer_id=customer_id,
    )
