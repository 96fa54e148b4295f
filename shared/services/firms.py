"""Firms, created by an operator with their first admin (R-ID-2): `python -m tools.firms`.

The admin's sign-in account is created in the user directory with a one-time temporary password
(the directory makes them choose their own at the first sign-in); someone who already has an account
(staff of another firm, say) keeps it. Then our records: the firm, the admin's profile and their
admin membership, and an audit event. Further staff are invited by the firm's admins. It runs on the
staff use cases' ports (`StaffPorts`), unbound: it makes the firm.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ulid import ULID

from shared.domain.audit import AuditEvent
from shared.domain.customers import normalise_email
from shared.domain.errors import InvalidRequest
from shared.domain.identity import Firm, StaffMember, StaffMembership, StaffRole, UserProfile
from shared.services.staff import StaffPorts, with_profiles

OPERATOR = "operator"  # the audit actor of what the operator's command does
PASSWORD_LENGTH = 20


@dataclass(frozen=True)
class CreatedFirm:
    firm: Firm
    admin: UserProfile
    temporary_password: str | None  # None: the admin already had an account (their password stays)


def create_firm(
    ports: StaffPorts, *, name: str, timezone: str, admin_email: str, admin_name: str | None = None
) -> CreatedFirm:
    name, email = name.strip(), normalise_email(admin_email)
    if not name or len(name) > 200:
        raise InvalidRequest("A firm needs a name (up to 200 characters).", code="invalid_name")
    if "@" not in email.strip("@") or any(c.isspace() for c in email):
        raise InvalidRequest("The admin's email is not valid.", code="invalid_email")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest("Unknown time zone (e.g. Europe/London).", code="invalid_timezone") from None
    password = None
    user = ports.directory.find_by_email(email)
    if user is None:
        password = temporary_password()
        user = ports.directory.create_user_with_temporary_password(email, password)
    firm = Firm(firm_id=str(ULID.from_datetime(ports.clock())), name=name, timezone=timezone)
    profile = UserProfile(user.user_id, email, (admin_name or "").strip() or email.split("@")[0])
    ports.identities.put_firm(firm)
    ports.identities.put_profile_if_absent(profile)
    ports.identities.put_membership(StaffMembership(firm.firm_id, user.user_id, StaffRole.ADMIN))
    ports.audit.record(
        AuditEvent(
            firm_id=firm.firm_id,
            actor_id=OPERATOR,
            action="firm.created",
            target_type="firm",
            target_id=firm.firm_id,
            details={"admin_id": user.user_id},
            occurred_at=ports.clock(),
        )
    )
    return CreatedFirm(firm, ports.identities.get_profile(user.user_id) or profile, password)


def list_firms(ports: StaffPorts) -> list[tuple[Firm, list[StaffMember]]]:
    """Every firm with its admins (active or not), by name."""
    found = []
    for firm in sorted(ports.identities.list_firms(), key=lambda f: (f.name.lower(), f.firm_id)):
        admins = [m for m in ports.identities.list_staff(firm.firm_id) if m.role is StaffRole.ADMIN]
        found.append((firm, with_profiles(ports.identities, admins)))
    return found


def temporary_password() -> str:
    """A one-time password any usual pool policy accepts: upper, lower, digit and symbol."""
    pools = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#%+-=?@^_")
    chosen = [secrets.choice(pool) for pool in pools]
    everything = "".join(pools)
    chosen += [secrets.choice(everything) for _ in range(PASSWORD_LENGTH - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)
