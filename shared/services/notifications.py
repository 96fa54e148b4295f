"""A person's in-app notifications: a customer's, and a staff member's about their customers."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import active_memberships
from shared.clock import now as business_now
from shared.domain.identity import Principal
from shared.domain.notifications import STAFF_KINDS, Notification
from shared.ports.identity import IdentityStore
from shared.ports.notifications import NotificationStore


@dataclass(frozen=True)
class NotificationView:
    notification: Notification
    firm_name: str | None  # a person of several firms sees which firm each notification is from


def list_notifications(
    notifications: NotificationStore,
    identities: IdentityStore,
    principal: Principal,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[NotificationView], str | None]:
    """Newest first, each with its firm's name (the page's firms in one batch read). A staff
    notification shows only while the person is an active member of its firm: a deactivated
    member's earlier notices about the firm's customers stay out of sight (a page may come short)."""
    found, next_cursor = notifications.page(principal.user_id, cursor=cursor, limit=limit)
    if any(n.kind in STAFF_KINDS for n in found):
        firms_now = {m.firm_id for m in active_memberships(identities, principal.user_id)}
        found = [n for n in found if n.kind not in STAFF_KINDS or n.firm_id in firms_now]
    firms = identities.get_firms({n.firm_id for n in found if n.firm_id})
    views = [NotificationView(n, firms[n.firm_id].name if n.firm_id in firms else None) for n in found]
    return views, next_cursor


def mark_notification_read(
    notifications: NotificationStore, principal: Principal, notification_id: str
) -> None:
    """Only ever the caller's own notification: the key starts with their identity."""
    notifications.mark_read(principal.user_id, notification_id, business_now())
