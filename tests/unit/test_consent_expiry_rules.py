"""Consent expiring soon (issue 16 item 5, seed 003) on the in-memory ports: the customer's reminder
on the firm-local day 7 days before the consent lapses, once per expiry, claimed before it is sent
and released when the send fails; what "reauthorise all" renews. The DynamoDB index and the routes
are tested on moto in tests/integration/test_consent_expiry.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from shared.domain.connections import Connection, ConnectionStatus, expiry_reminder_days
from shared.domain.customers import Customer, Invitation, InvitationStatus
from shared.domain.identity import Firm, StaffMembership, StaffRole
from shared.ports.connections import ConnectionAddress
from shared.services.consent_expiry import REMINDED, remind_expiring_connection, send_expiry_reminders
from tests.calendar_matrix import demo_firm_zone
from tests.conftest import clock_start
from tests.fakes import ConnectionFakes, FakeClock, read_now

pytestmark = pytest.mark.fakes

FIRM, CUSTOMER, USER, EMAIL = "firm-1", "customer-1", "user-1", "jane@example.org"


def local(day_offset: int, at: time, zone: str, now: datetime) -> datetime:
    """`at` on the firm-local day `day_offset` days after `now`'s local day, as a UTC instant."""
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=day_offset)
    return datetime.combine(day, at, ZoneInfo(zone)).astimezone(UTC)


LINKED = ConnectionStatus.LINKED


def linked(connection_id: str, expires_at: datetime | None, status=LINKED, **changes) -> Connection:
    return Connection(
        FIRM, CUSTOMER, connection_id, USER, "gocardless", "NORTHWIND", "Northwind Bank", status,
        datetime(2026, 1, 1, tzinfo=UTC), expires_at=expires_at, credential="gc-requisition", version=1,
        **changes,
    )  # fmt: skip


def world(now: datetime, zone: str, *connections: Connection) -> tuple[ConnectionFakes, FakeClock]:
    fakes = ConnectionFakes()
    fakes.identities.firms[FIRM] = Firm(FIRM, "Acme Advisers", zone)
    invitation = Invitation("hash", now, now, status=InvitationStatus.ACCEPTED)
    fakes.customers.rows[(FIRM, CUSTOMER)] = Customer(
        FIRM, CUSTOMER, "Jane Doe", EMAIL, "owner-1", now, invitation, user_id=USER
    )
    for connection in connections:
        fakes.connections.rows[address(connection)] = connection
    return fakes, FakeClock(now)


def address(connection: Connection) -> ConnectionAddress:
    return ConnectionAddress(connection.firm_id, connection.customer_id, connection.connection_id)


def reminded(fakes: ConnectionFakes) -> list[str]:
    """The connection id in each reminder's link, in the order sent."""
    return [m.text.rsplit("connection_id=", 1)[1] for m in fakes.email.to(EMAIL)]


@pytest.mark.calendar
def test_the_reminder_goes_on_the_local_day_seven_days_before_the_expiry_once():
    now, zone = clock_start(), demo_firm_zone()
    late_on_day_7 = linked("c-7", local(7, time(23, 59), zone, now))
    early_on_day_8 = linked("c-8", local(8, time(12, 0), zone, now))
    fakes, clock = world(now, zone, late_on_day_7, early_on_day_8)

    assert send_expiry_reminders(fakes.ports(clock)) == {"reminders_sent": 1, "skipped": 0, "failed": 0}
    assert reminded(fakes) == ["c-7"]
    [letter] = fakes.email.sent
    assert "Northwind Bank" in letter.subject and "Acme Advisers" in letter.text
    assert "https://app.example/connections/reauthorise?connection_id=c-7" in letter.html
    expiry_day = late_on_day_7.expires_at.astimezone(ZoneInfo(zone))
    assert f"{expiry_day:%d %B %Y}" in letter.subject  # the firm's calendar day, not UTC's

    # a retried or second run the same day sends nothing again
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 0
    # the next local day, the other one's turn, and still not the first one's again
    clock.at = local(1, time(9, 30), zone, now)
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 1
    assert reminded(fakes) == ["c-7", "c-8"]
    assert [e.action for e in fakes.audit.log()].count(REMINDED) == 2


@pytest.mark.calendar
def test_the_run_reads_every_utc_day_an_expiry_due_today_can_fall_on():
    """The sweep reads the index by the expiry's UTC day: from today's to the one a firm whose day
    is ahead of UTC can reach (its local day 7 days on ends a day after that UTC day)."""
    now, zone = clock_start(), demo_firm_zone()
    days = expiry_reminder_days(now)
    last_due = local(8, time(0, 0), zone, now) - timedelta(microseconds=1)  # the end of local day +7
    assert days[0] == now.astimezone(UTC).date() and last_due.date() in days
    assert linked("c", last_due).expiry_reminder_due(now, zone)


def test_a_failed_send_releases_the_claim_and_the_next_run_sends_it():
    now = clock_start()
    fakes, clock = world(now, "Europe/London", linked("c-1", now + timedelta(days=6)))
    fakes.email.failing = True
    assert send_expiry_reminders(fakes.ports(clock)) == {"reminders_sent": 0, "skipped": 0, "failed": 1}
    [stored] = fakes.connections.rows.values()
    assert stored.expiry_reminded_for is None and stored.awaits_expiry_reminder  # back in the index

    fakes.email.failing = False
    clock.at += timedelta(days=1)
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 1
    assert reminded(fakes) == ["c-1"]


def test_a_consent_renewed_after_the_index_was_read_is_not_reminded():
    now = clock_start()
    old = linked("c-1", now + timedelta(days=5))
    fakes, clock = world(now, "Europe/London", old)
    [page] = fakes.connections.awaiting_expiry_reminder(old.expires_at.date(), now)
    renewed = replace(old, expires_at=now + timedelta(days=90), version=2)  # reauthorised meanwhile
    fakes.connections.rows[address(old)] = renewed

    firm_of = cache(fakes.identities.get_firm)
    assert [remind_expiring_connection(fakes.ports(clock), a, firm_of) for a in page] == ["not_due"]
    assert fakes.email.sent == [] and fakes.connections.rows[address(old)] == renewed


def test_a_connection_changed_between_its_read_and_the_claim_is_not_reminded():
    now = clock_start()
    old = linked("c-1", now + timedelta(days=5))
    fakes, clock = world(now, "Europe/London", old)
    earlier = read_now(fakes.connections)  # the step's read happens before the other write
    fakes.connections.rows[address(old)] = replace(old, expires_at=now + timedelta(days=90), version=2)

    ports = replace(fakes.ports(clock), connections=earlier)
    assert remind_expiring_connection(ports, address(old), cache(fakes.identities.get_firm)) == "skipped"
    assert fakes.email.sent == []


def test_a_new_expiry_starts_a_new_reminder_cycle():
    now = clock_start()
    fakes, clock = world(now, "Europe/London", linked("c-1", now + timedelta(days=3)))
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 1
    [first] = fakes.connections.rows.values()
    assert not first.awaits_expiry_reminder

    renewed_at = now + timedelta(days=2)  # reauthorised: 90 days from then (R-CON-6)
    fakes.connections.rows[address(first)] = replace(first, expires_at=renewed_at + timedelta(days=90))
    clock.at = renewed_at
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 0
    clock.at = renewed_at + timedelta(days=84)
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 1
    assert reminded(fakes) == ["c-1", "c-1"]


def test_only_live_consents_with_a_known_expiry_are_reminded():
    now = clock_start()
    soon = now + timedelta(days=3)
    fakes, clock = world(
        now,
        "Europe/London",
        linked("expired", soon, status=ConnectionStatus.EXPIRED),
        linked("revoked", soon, status=ConnectionStatus.REVOKED),
        linked("pending", soon, status=ConnectionStatus.PENDING),
        linked("lapsed", now - timedelta(minutes=1)),
        linked("unknown", None),
        linked("already", soon, expiry_reminded_for=soon),
        linked("refresh-failed", soon, status=ConnectionStatus.REFRESH_FAILED),
    )
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 1
    assert reminded(fakes) == ["refresh-failed"]


def test_what_reauthorise_all_renews_and_what_shows_expires_soon():
    now = clock_start()
    in_6_days = linked("c", now + timedelta(days=6))
    assert in_6_days.consent_lapsing(now) and in_6_days.expiring_soon(now)
    assert linked("c", now - timedelta(hours=1)).consent_lapsing(now)  # lapsed, not yet marked
    assert linked("c", None, status=ConnectionStatus.EXPIRED).consent_lapsing(now)
    in_8_days = linked("c", now + timedelta(days=8))
    assert not in_8_days.consent_lapsing(now) and not in_8_days.expiring_soon(now)
    assert not linked("c", now + timedelta(days=2), status=ConnectionStatus.REVOKED).consent_lapsing(now)
    assert not linked("c", None).consent_lapsing(now)


def test_the_customers_owner_hears_of_the_expiring_consent_once_per_expiry():
    """Issue 16 item 4 (e): the sweep's step also notifies the customer's active staff in the app."""
    now = clock_start()
    fakes, clock = world(now, "Europe/London", linked("c-1", now + timedelta(days=6)))
    fakes.identities.put_membership(StaffMembership(FIRM, "owner-1", StaffRole.ADVISER))
    send_expiry_reminders(fakes.ports(clock))
    [notice] = fakes.notifications.of("owner-1")
    assert (notice.customer_id, dict(notice.details)) == (
        CUSTOMER,
        {"connection_id": "c-1", "expires_at": (now + timedelta(days=6)).date().isoformat()},
    )
    assert notice.kind.endswith("consent_expiring") and fakes.notifications.of(USER) == []
    # released after a failed email and sent again the next day: still one notice for this expiry
    [stored] = fakes.connections.rows.values()
    fakes.connections.rows[address(stored)] = replace(
        stored, expiry_reminded_for=None, version=stored.version + 1
    )
    clock.at += timedelta(days=1)
    send_expiry_reminders(fakes.ports(clock))
    assert len(fakes.notifications.of("owner-1")) == 1


def test_a_failing_data_refresh_sync_neither_loses_the_reminder_nor_stops_the_run():
    """Review of issue 16: the claim is the connection store's save alone (the reminder changes
    nothing the Data Refresh rows show), and one connection's failure is its own."""
    now = clock_start()
    fakes, clock = world(now, "Europe/London", linked("c-1", now + timedelta(days=6)))

    def broken(*_: object) -> None:
        raise RuntimeError("the rows are throttled")

    fakes.engagements.connection_changed = broken  # type: ignore[method-assign]
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 1
    assert reminded(fakes) == ["c-1"]

    other = linked("c-2", now + timedelta(days=6))
    fakes.connections.rows[address(other)] = other
    real_get = fakes.customers.get
    fakes.customers.get = lambda *_: (_ for _ in ()).throw(RuntimeError("throttled"))  # type: ignore[method-assign]
    assert send_expiry_reminders(fakes.ports(clock))["failed"] == 1  # the run went on, reported it
    fakes.customers.get = real_get  # type: ignore[method-assign]
    assert send_expiry_reminders(fakes.ports(clock))["reminders_sent"] == 1  # and the next run sends it
