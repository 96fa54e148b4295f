"""A person's in-app notifications: a customer's, and a staff member's about their customers."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import active_memberships
from shared.clock import now as business_now
from shared.domain.identity import Principal, StaffRole
from shared.domain.notifications import STAFF_KINDS, Notification
from shared.ports.customers import CustomerStore
from shared.ports.identity import IdentityStore
from shared.ports.notifications import NotificationStore

ADMIN = StaffRole.ADMIN


@dataclass(frozen=True)
class NotificationView:
    notification: Notification
    firm_name: str | None  # a person of several firms sees which firm each notification is from


def list_notifications(
    notifications: NotificationStore,
    identities: IdentityStore,
    customers: CustomerStore,
    principal: Principal,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[NotificationView], str | None]:
    """Newest first, each with its firm's name (the page's firms in one batch read). A staff
    notification shows only while its reader may still see what it is about: an active member of
    its firm, and for a notice about a customer, an admin or one of the staff who look after that
    customer now (R-ROLE-2: an adviser unassigned from a customer, or a deactivated member, no
    longer reads the earlier notices about them; the page's customers are one batch read). A page
    may come short."""
    found, next_cursor = notifications.page(principal.user_id, cursor=cursor, limit=limit)
    if any(n.kind in STAFF_KINDS for n in found):
        found = _still_visible(identities, customers, principal.user_id, found)
    firms = identities.get_firms({n.firm_id for n in found if n.firm_id})
    views = [NotificationView(n, firms[n.firm_id].name if n.firm_id in firms else None) for n in found]
    return views, next_cursor


def _still_visible(
    identities: IdentityStore, customers: CustomerStore, user_id: str, found: list[Notification]
) -> list[Notification]:
    roles = {m.firm_id: m.role for m in active_memberships(identities, user_id)}
    about = customers.get_many(
        {
            (n.firm_id, n.customer_id)
            for n in found
            if n.kind in STAFF_KINDS
            and n.firm_id in roles
            and n.customer_id
            and roles[n.firm_id] is not ADMIN
        }
    )

    def shown(notice: Notification) -> bool:
        if notice.kind not in STAFF_KINDS:
            return True
        role = roles.get(notice.firm_id or "")
        if role is None:
            return False
        if notice.customer_id is None or role is ADMIN:
            return True
        customer = about.get((notice.firm_id or "", notice.customer_id))
        return customer is not None and customer.visible_to(user_id, is_admin=False)

    return [n for n in found if shown(n)]


def mark_notification_read(
    notifications: NotificationStore, principal: Principal, notification_id: str
) -> None:
    """Only ever the caller's own notification: the key starts with their identity."""
    notifications.mark_read(principal.user_id, notification_id, business_now())
