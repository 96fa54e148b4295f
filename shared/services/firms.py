"""Firms, created by an operator who invites their first admin (R-ID-2): `python -m tools.firms`.

Creating a firm writes it with a `firm.created` audit event, then invites its first admin by email
through the staff kind of the one invitation lifecycle (`staff_invitations.invite_first_admin`):
the admin follows the link, chooses a password (or, with an account already, signs in) and becomes
the firm's admin; nobody gets a password from the operator. Should that email be lost or go to a
wrong address, the operator invites again while the firm has no active admin. Further staff are
invited by the firm's admins. It runs on the staff invitations' ports, unbound: it makes the firm.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ulid import ULID

from shared.domain.audit import AuditEvent
from shared.domain.customers import normalise_email
from shared.domain.errors import InvalidRequest, UpstreamUnavailable
from shared.domain.identity import Firm, StaffMember, StaffRole
from shared.domain.staff_invitations import StaffInvitation
from shared.ports.identity import IdentityStore
from shared.services.staff import with_profiles
from shared.services.staff_invitations import OPERATOR, StaffInvitationPorts, invite_first_admin


@dataclass(frozen=True)
class CreatedFirm:
    firm: Firm
    invitation: StaffInvitation  # the first admin's, emailed


def create_firm(
    ports: StaffInvitationPorts, *, name: str, timezone: str, admin_email: str, admin_name: str | None = None
) -> CreatedFirm:
    """The firm, then its first admin's invitation. Everything is checked before anything is
    written; should the email fail (503 `email_not_sent`), the firm and the invitation exist and
    the operator invites again (`invite_first_admin`)."""
    name, email = name.strip(), normalise_email(admin_email)
    if not name or len(name) > 200:
        raise InvalidRequest("A firm needs a name (up to 200 characters).", code="invalid_name")
    if "@" not in email.strip("@") or any(c.isspace() for c in email):
        raise InvalidRequest("The admin's email is not valid.", code="invalid_email")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest("Unknown time zone (e.g. Europe/London).", code="invalid_timezone") from None
    firm = Firm(firm_id=str(ULID.from_datetime(ports.clock())), name=name, timezone=timezone)
    created = AuditEvent(
        firm_id=firm.firm_id,
        actor_id=OPERATOR,
        action="firm.created",
        target_type="firm",
        target_id=firm.firm_id,
        details={},
        occurred_at=ports.clock(),
    )
    ports.identities.put_firm(firm, ports.audit.put_op(created))
    admin = (admin_name or "").strip() or email.split("@")[0]
    try:
        invited = invite_first_admin(ports, firm.firm_id, email=email, name=admin)
    except UpstreamUnavailable:
        raise UpstreamUnavailable(
            f"The firm {firm.firm_id} was created but its admin's invitation email could not be sent: "
            f"invite them again with `invite-admin --firm-id {firm.firm_id}`.",
            code="email_not_sent",
        ) from None
    return CreatedFirm(firm, invited.invitation)


def list_firms(identities: IdentityStore) -> list[tuple[Firm, list[StaffMember]]]:
    """Every firm with its admins (active or not), by name."""
    found = []
    for firm in sorted(identities.list_firms(), key=lambda f: (f.name.lower(), f.firm_id)):
        admins = [m for m in identities.list_staff(firm.firm_id) if m.role is StaffRole.ADMIN]
        found.append((firm, with_profiles(identities, admins)))
    return found
