"""A firm's staff (R-ID-2): the list with names and roles, role changes, deactivation and
reactivation. Admins change; every staff member may read the list (the front end shows names
where rows carry staff ids: the Data Refresh owner filter, customers' owners and assignees).

Our membership record decides what a person may do in the firm, and is read on every request
(`shared/auth.py`): a deactivated membership behaves like none, so the next request is refused.
The user directory is switched off too, which signs the person out everywhere. A firm always keeps
an active admin: the change that would remove the last one is refused (409 `last_admin`), checked
in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from shared.auth import FirmAction, authorize
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.audit import AuditEvent
from shared.domain.errors import Conflict, NotFound
from shared.domain.identity import StaffContext, StaffMember, StaffMembership, StaffRole
from shared.ports.audit import AuditTrail
from shared.ports.directory import UserDirectory
from shared.ports.identity import IdentityStore
from shared.services.audit import event_by


@dataclass
class StaffPorts:
    identities: IdentityStore
    directory: UserDirectory
    audit: AuditTrail
    # Whether the person may still use their account outside this firm (staff of another firm, a
    # customer, a grantee): a function, so it stays unbound when the ports are bound to the firm.
    # The pool user is one per person: one firm switching it off would lock them out of the others.
    access_elsewhere: Callable[[str, str], bool] = field(default=lambda user_id, firm_id: False)
    clock: Now = field(default=business_now)


def list_staff(ports: StaffPorts, staff: StaffContext) -> list[StaffMember]:
    """Every member of the firm, active first, then by name."""
    authorize(staff, FirmAction.VIEW_STAFF)
    memberships = ports.identities.list_staff(staff.firm_id)
    members = with_profiles(ports.identities, memberships)
    return sorted(members, key=lambda m: (not m.active, (m.name or m.email or "").lower(), m.user_id))


def change_role(ports: StaffPorts, staff: StaffContext, user_id: str, role: StaffRole) -> StaffMember:
    authorize(staff, FirmAction.MANAGE_STAFF)
    current = member_of(ports.identities, staff.firm_id, user_id)
    if current.role is role:
        return _member(ports, current)
    details = {"from": current.role.value, "to": role.value}
    event = event_by(staff, ports.clock(), "staff.role_changed", ("staff", user_id), details)
    changed = _save(ports, current, replace(current, role=role), event)
    return _member(ports, changed)


def deactivate(ports: StaffPorts, staff: StaffContext, user_id: str) -> StaffMember:
    """Our record first (the next request is refused at once), then the directory: the person can
    no longer sign in and is signed out everywhere. Deactivating again switches the directory off
    again (a retry after the directory failed), without another audit event."""
    return _set_active(ports, staff, user_id, active=False)


def reactivate(ports: StaffPorts, staff: StaffContext, user_id: str) -> StaffMember:
    """Our record, then the directory lets them sign in again (again: a retry, no new event)."""
    return _set_active(ports, staff, user_id, active=True)


def member_of(identities: IdentityStore, firm_id: str, user_id: str) -> StaffMembership:
    """A membership of this firm, active or not; another firm's person is exactly a missing one."""
    membership = identities.get_membership(user_id, firm_id)
    if membership is None:
        raise NotFound()
    return membership


def active_member(identities: IdentityStore, firm_id: str, user_id: str) -> StaffMembership:
    """An active member of this firm (who may own or be assigned a customer); 404 otherwise."""
    membership = member_of(identities, firm_id, user_id)
    if not membership.active:
        raise NotFound()
    return membership


# helpers -------------------------------------------------------------------------------------
def _set_active(ports: StaffPorts, staff: StaffContext, user_id: str, *, active: bool) -> StaffMember:
    authorize(staff, FirmAction.MANAGE_STAFF)
    current = member_of(ports.identities, staff.firm_id, user_id)
    changed = current
    if current.active is not active:
        action = "staff.reactivated" if active else "staff.deactivated"
        event = event_by(staff, ports.clock(), action, ("staff", user_id), {"role": current.role.value})
        changed = _save(ports, current, replace(current, active=active), event)
    if active:
        ports.directory.enable_user(user_id)
    elif not ports.access_elsewhere(user_id, staff.firm_id):
        ports.directory.disable_user(user_id)  # and signed out everywhere
    return _member(ports, changed)


def _save(
    ports: StaffPorts, current: StaffMembership, changed: StaffMembership, event: AuditEvent
) -> StaffMembership:
    """Store the change with its audit event; one that takes away an active admin needs another
    active admin, checked in the same transaction (two admins demoting each other at once cannot
    both succeed)."""
    other_admin = None
    if current.is_active_admin and not changed.is_active_admin:
        others = [
            m
            for m in ports.identities.list_staff(current.firm_id)
            if m.is_active_admin and m.user_id != current.user_id
        ]
        if not others:
            raise Conflict(
                "The firm needs an active admin: make someone else admin first.", code="last_admin"
            )
        other_admin = others[0]
    ports.identities.save_membership(changed, current, ports.audit.put_op(event), other_admin=other_admin)
    return changed


def with_profiles(identities: IdentityStore, memberships: list[StaffMembership]) -> list[StaffMember]:
    """The members with their names and emails (one batch read of their profiles)."""
    profiles = identities.get_profiles([m.user_id for m in memberships]) if memberships else {}
    return [
        StaffMember(
            firm_id=m.firm_id,
            user_id=m.user_id,
            role=m.role,
            active=m.active,
            name=profile.name if (profile := profiles.get(m.user_id)) else None,
            email=profile.email if profile else None,
        )
        for m in memberships
    ]


def _member(ports: StaffPorts, membership: StaffMembership) -> StaffMember:
    [member] = with_profiles(ports.identities, [membership])
    return member
