"""Who looks after a customer (R-ROLE-2, R-ID-3, R-ACC-1): admins assign and unassign advisers,
and hand a customer over to another staff member, who becomes its owner and the manager of its
client file (the file manager is the customer's owner: `shared/domain/file_access.py`).

Visibility follows at once: the customer item, its visibility rows and section counters
(`CustomerStore.save`) and the engagement's Data Refresh rows (`EngagementRowStore.row_change_ops`)
change in one DynamoDB transaction, so no adviser sees a customer they no longer look after, and no
new one misses it, even for a moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from shared.auth import FirmAction, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.customers import Customer
from shared.domain.errors import ConcurrentChange, Conflict, NotFound
from shared.domain.identity import StaffContext
from shared.ports.audit import AuditTrail
from shared.ports.customers import CustomerStore
from shared.ports.identity import IdentityStore
from shared.ports.refresh import EngagementRowStore, RowChange
from shared.ports.storage import TransactItem
from shared.services.audit import event_by
from shared.services.customers import changeable_customer
from shared.services.staff import active_member

MAX_ASSIGNEES = 20  # one transaction writes a row per staff member who sees the customer, twice
RETRIES = 3  # an import or a connection may move the engagement's rows between our read and write


@dataclass
class AssigneesPorts:
    customers: CustomerStore
    rows: EngagementRowStore
    identities: IdentityStore
    audit: AuditTrail
    current_eula_version: str
    clock: Now = field(default=business_now)


def assign(ports: AssigneesPorts, staff: StaffContext, customer_id: str, user_id: str) -> Customer:
    """The adviser (an active member of the firm) sees the customer from now on; assigning the
    owner or someone already assigned changes nothing."""
    authorize(staff, FirmAction.ASSIGN_CUSTOMERS)
    active_member(ports.identities, staff.firm_id, user_id)

    def change(customer: Customer) -> Customer | None:
        if user_id in customer.staff_ids:
            return None
        if len(customer.assignee_ids) >= MAX_ASSIGNEES:
            raise Conflict(f"A customer has at most {MAX_ASSIGNEES} assignees.", code="too_many_assignees")
        return replace(customer, assignee_ids=(*customer.assignee_ids, user_id))

    return _change(ports, staff, customer_id, change, "customer.assigned", lambda _: {"user_id": user_id})


def unassign(ports: AssigneesPorts, staff: StaffContext, customer_id: str, user_id: str) -> Customer:
    """The adviser no longer sees the customer (a deactivated one can be unassigned too)."""
    authorize(staff, FirmAction.ASSIGN_CUSTOMERS)

    def change(customer: Customer) -> Customer | None:
        if user_id == customer.owner_id and user_id not in customer.assignee_ids:
            raise Conflict("The owner is not an assignee: transfer the customer instead.", code="is_owner")
        if user_id not in customer.assignee_ids:
            raise NotFound()
        return replace(customer, assignee_ids=tuple(a for a in customer.assignee_ids if a != user_id))

    return _change(ports, staff, customer_id, change, "customer.unassigned", lambda _: {"user_id": user_id})


def transfer(ports: AssigneesPorts, staff: StaffContext, customer_id: str, owner_id: str) -> Customer:
    """Hand the customer over: `owner_id` (an active member of the firm) becomes its owner and its
    client file's manager; the previous owner no longer sees it (unless they are an admin)."""
    authorize(staff, FirmAction.ASSIGN_CUSTOMERS)
    active_member(ports.identities, staff.firm_id, owner_id)

    def change(customer: Customer) -> Customer | None:
        if customer.owner_id == owner_id:
            return None
        assignees = tuple(a for a in customer.assignee_ids if a != owner_id)
        return replace(customer, owner_id=owner_id, assignee_ids=assignees)

    def details(before: Customer) -> dict[str, str]:
        return {"from": before.owner_id, "to": owner_id}

    return _change(ports, staff, customer_id, change, "customer.transferred", details)


# helpers -------------------------------------------------------------------------------------
def _change(
    ports: AssigneesPorts,
    staff: StaffContext,
    customer_id: str,
    change: Callable[[Customer], Customer | None],
    action: str,
    details: Callable[[Customer], dict[str, str]],
) -> Customer:
    """Read, change and write the customer with its engagement's rows in one transaction, again
    from a fresh read when something else wrote either meanwhile; audit a change that happened."""
    for attempt in range(RETRIES):
        customer = changeable_customer(ports, staff, customer_id)
        changed = change(customer)
        if changed is None:
            return customer
        event = event_by(
            staff, ports.clock(), action, ("customer", customer_id), details(customer), customer_id
        )
        try:
            saved = ports.customers.save(
                changed, customer, *_row_writes(ports, changed), ports.audit.put_op(event)
            )
        except ConcurrentChange:
            if attempt == RETRIES - 1:
                raise
            continue
        return saved
    raise ConcurrentChange()  # pragma: no cover  (the loop returns or raises)


def _row_writes(ports: AssigneesPorts, customer: Customer) -> list[TransactItem]:
    """The engagement's Data Refresh rows with the customer's new staff. A customer with no
    connection has no rows: the transaction then checks they still do not exist, so a first
    connection creating them meanwhile (with the old staff) makes the change start again."""
    engagement = ports.rows.get_engagement(customer.firm_id, customer.customer_id)
    if engagement is None:
        return [ports.rows.rows_absent_op(customer.firm_id, customer.customer_id)]
    moved = replace(engagement, owner_id=customer.owner_id, staff_ids=customer.staff_ids)
    bucket = moved.stored_bucket(ports.clock(), ports.current_eula_version)
    return ports.rows.row_change_ops(RowChange(moved, engagement, bucket))
