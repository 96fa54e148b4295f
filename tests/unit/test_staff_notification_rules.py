"""Notifications for advisers (issue 16 item 4) on the in-memory ports: who hears of which customer
event, once per event and person, and the daily digest. The DynamoDB side (one transaction per
event, the markers, the claims, the routes) is in tests/integration/test_staff_notifications.py."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.aggregator import CredentialsRejected
from shared.domain.connections import Connection, ConnectionStatus
from shared.domain.customers import Customer, issue_invitation
from shared.domain.identity import Firm, Principal, StaffContext, StaffMembership, StaffRole, UserProfile
from shared.domain.notifications import DigestPreference, Notification, next_digest_due
from shared.domain.refresh import JobCounts, RefreshJob
from shared.services.customer_invitations import accept_invitation, invite_customer
from shared.services.customers import offer_accounts
from shared.services.imports import import_and_report
from shared.services.notification_digests import (
    DigestPorts,
    choose_digest,
    digest_preference,
    send_due_digests,
)
from shared.services.staff_notifications import (
    connection_changed,
    notify_customer_staff,
    refresh_progressed,
)
from tests.fakes import FakeClock, FakeEmail, FakeNotifications, OnboardingFakes, refused
from tests.integration import onboarding_support
from tests.notification_fakes import FakeDigestPreferences
from tests.unit import test_import_rules as imports

pytestmark = pytest.mark.fakes

FIRM, OTHER_FIRM = "01JFIRMNOTICES000000000000", "01JFIRMNOTICESOTHER0000000"
NOW = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)  # 10:30 in London (summer time)
OWNER, ASSIGNED, LEFT, ADMIN, OUTSIDER = "owner", "assigned", "left-the-firm", "admin", "outsider"
JANE = Principal("jane-sub", "jane.doe@example.org")


def staff(user_id: str, role: StaffRole = StaffRole.ADVISER, firm_id: str = FIRM) -> StaffContext:
    return StaffContext(Principal(user_id, f"{user_id}@firm.example"), firm_id, role)


@dataclass
class World:
    clock: FakeClock = field(default_factory=lambda: FakeClock(NOW))
    fakes: OnboardingFakes = field(default_factory=OnboardingFakes)

    def __post_init__(self) -> None:
        identities = self.fakes.identities
        identities.firms[FIRM] = Firm(FIRM, "Demo Advisory LLP", "Europe/London")
        identities.firms[OTHER_FIRM] = Firm(OTHER_FIRM, "Other Practice", "America/New_York")
        for user_id, role, firm_id, active in (
            (OWNER, StaffRole.ADVISER, FIRM, True),
            (ASSIGNED, StaffRole.ADVISER, FIRM, True),
            (LEFT, StaffRole.ADVISER, FIRM, False),
            (ADMIN, StaffRole.ADMIN, FIRM, True),
            (OUTSIDER, StaffRole.ADMIN, OTHER_FIRM, True),
        ):
            identities.memberships[(user_id, firm_id)] = StaffMembership(firm_id, user_id, role, active)
            identities.profiles[user_id] = UserProfile(user_id, f"{user_id}@firm.example", user_id.title())

    @property
    def ports(self) -> Any:
        return self.fakes.ports(self.clock)

    @property
    def notices(self) -> Any:
        return self.fakes.staff_notices(self.clock)

    @property
    def notifications(self) -> FakeNotifications:
        return self.fakes.notifications

    def customer(self, *, assignees: tuple[str, ...] = (ASSIGNED, LEFT, OUTSIDER)) -> Customer:
        _, invitation = issue_invitation(NOW, None)
        customer = Customer(
            firm_id=FIRM, customer_id="01JCUSTNOTICES000000000000", name="Jane Doe", email=JANE.email,
            owner_id=OWNER, created_at=NOW, invitation=invitation, assignee_ids=assignees,
        )  # fmt: skip
        self.fakes.customers.rows[(FIRM, customer.customer_id)] = customer
        return customer

    def heard(self, user_id: str) -> list[Notification]:
        return self.notifications.of(user_id)


@pytest.fixture
def world() -> World:
    return World()


# notify_customer_staff: the function the consent-expiry sweep calls ---------------------------
def test_the_owner_and_active_assigned_advisers_hear_of_an_expiring_consent_once_each(world: World):
    customer = world.customer()
    details = {"connection_id": "conn-1", "expires_at": "2026-06-24"}

    written = notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", details)

    assert written == 2
    assert [n.user_id for n in world.notifications.added] == [OWNER, ASSIGNED]
    notice = world.heard(OWNER)[0]
    assert (notice.kind, notice.firm_id, notice.customer_id) == (
        "staff.consent_expiring",
        FIRM,
        customer.customer_id,
    )
    assert notice.details == details and "2026-06-24" in notice.body
    assert "Jane" not in notice.title + notice.body  # ids and counts only
    assert world.heard(LEFT) == world.heard(ADMIN) == world.heard(OUTSIDER) == []


def test_the_same_event_again_notifies_nobody_twice(world: World):
    customer = world.customer()
    details = {"connection_id": "conn-1", "expires_at": "2026-06-24"}
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", details)
    world.clock.at += timedelta(hours=1)  # a retried sweep, later

    assert notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", details) == 0
    assert len(world.notifications.added) == 2
    other = {**details, "connection_id": "conn-2"}  # another connection is another event
    assert notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", other) == 2


def test_another_firms_or_a_missing_customer_notifies_nobody(world: World):
    customer = world.customer()
    assert notify_customer_staff(world.notices, OTHER_FIRM, customer.customer_id, "consent_expiring", {}) == 0
    assert (
        notify_customer_staff(world.notices, FIRM, "01JNOSUCHCUSTOMER000000000", "consent_expiring", {}) == 0
    )
    assert world.notifications.added == []
    with pytest.raises(ValueError):
        notify_customer_staff(world.notices, FIRM, customer.customer_id, "no_such_kind", {})


def test_a_customer_whose_staff_all_left_notifies_nobody(world: World):
    customer = world.customer(assignees=())
    world.fakes.identities.memberships[(OWNER, FIRM)] = StaffMembership(FIRM, OWNER, StaffRole.ADVISER, False)
    assert notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", {}) == 0


# (a) invitation accepted -----------------------------------------------------------------------
def test_the_owner_hears_when_the_customer_accepts_the_invitation(world: World):
    invite_customer(world.ports, staff(OWNER), name="Jane Doe", email=JANE.email, message=None)
    world.clock.at += timedelta(minutes=1)

    accepted = accept_invitation(world.ports, JANE, world.fakes.email.tokens(JANE.email)[-1])

    (notice,) = world.heard(OWNER)
    assert (notice.kind, notice.customer_id) == ("staff.invitation_accepted", accepted.customer_id)
    assert world.heard(JANE.user_id) == []  # the customer is not told of their own acceptance


def test_an_acceptance_stands_when_the_notification_cannot_be_written(world: World):
    invite_customer(world.ports, staff(OWNER), name="Jane Doe", email=JANE.email, message=None)

    def broken(*_: Any) -> int:
        raise RuntimeError("table unavailable")

    world.fakes.notifications.add_once = broken  # type: ignore[method-assign]
    accepted = accept_invitation(world.ports, JANE, world.fakes.email.tokens(JANE.email)[-1])

    assert world.fakes.customers.get(FIRM, accepted.customer_id).user_id == JANE.user_id  # type: ignore[union-attr]


# (b) new accounts wait for review ---------------------------------------------------------------
def test_one_notification_per_batch_of_new_accounts_not_one_per_account(world: World):
    customer = world.customer()
    batch = [onboarding_support.shared_account(customer.customer_id, n, firm_id=FIRM) for n in (1, 2, 3)]

    offer_accounts(world.ports, FIRM, customer.customer_id, batch)
    offer_accounts(world.ports, FIRM, customer.customer_id, batch)  # the same accounts found again

    (notice,) = world.heard(OWNER)
    assert notice.kind == "staff.accounts_waiting" and notice.details == {"accounts": 3}
    assert "3 new accounts" in notice.body
    later = [onboarding_support.shared_account(customer.customer_id, 4, firm_id=FIRM)]
    offer_accounts(world.ports, FIRM, customer.customer_id, batch + later)  # "find new accounts"
    assert [n.details for n in world.heard(OWNER)] == [{"accounts": 3}, {"accounts": 1}]
    assert len(world.heard(ASSIGNED)) == 2 and world.heard(LEFT) == []


# (c) a connection breaks --------------------------------------------------------------------------
def connection(status: ConnectionStatus, customer: Customer, at: datetime = NOW) -> Connection:
    return Connection(
        firm_id=FIRM, customer_id=customer.customer_id, connection_id="conn-1", user_id=JANE.user_id,
        provider="gocardless", institution_id="bank", institution_name="Bank", status=status,
        created_at=NOW, status_changed_at=at,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "heard"),
    [
        (ConnectionStatus.LINKED, ConnectionStatus.CREDENTIALS_REJECTED, True),
        (ConnectionStatus.LINKED, ConnectionStatus.EXPIRED, True),
        (ConnectionStatus.REFRESH_FAILED, ConnectionStatus.REVOKED, True),
        (ConnectionStatus.LINKED, ConnectionStatus.ERROR, True),
        (ConnectionStatus.CREDENTIALS_REJECTED, ConnectionStatus.EXPIRED, False),  # still broken
        (ConnectionStatus.LINKED, ConnectionStatus.REFRESH_FAILED, False),  # a refresh fixes it
        (ConnectionStatus.PENDING, ConnectionStatus.REJECTED, False),  # never worked: not a break
        (ConnectionStatus.CREDENTIALS_REJECTED, ConnectionStatus.LINKED, False),  # repaired
    ],
)
def test_staff_hear_when_a_connection_breaks(world: World, before, after, heard):
    customer = world.customer()
    connection_changed(world.notices, connection(before, customer), connection(after, customer))
    assert [n.kind for n in world.heard(OWNER)] == (["staff.connection_broken"] if heard else [])


def test_a_break_seen_twice_is_one_notification_and_a_new_break_another(world: World):
    customer = world.customer()
    linked, broken = (
        connection(ConnectionStatus.LINKED, customer),
        connection(ConnectionStatus.EXPIRED, customer),
    )
    connection_changed(world.notices, linked, broken)
    connection_changed(world.notices, linked, broken)  # a redelivered webhook or import job
    connection_changed(world.notices, None, broken)  # a new connection is no break
    assert len(world.heard(OWNER)) == 1
    assert world.heard(OWNER)[0].details == {"connection_id": "conn-1", "status": "expired"}
    again = connection(
        ConnectionStatus.EXPIRED, customer, NOW + timedelta(days=95)
    )  # reauthorised, lapsed again
    connection_changed(world.notices, linked, again)
    assert len(world.heard(OWNER)) == 2


def test_an_import_that_finds_the_credentials_rejected_tells_the_customers_staff():
    fakes = imports.world("p-a")
    _, invitation = issue_invitation(NOW, None)
    fakes.customers.rows[(imports.FIRM, imports.CUSTOMER)] = Customer(
        firm_id=imports.FIRM, customer_id=imports.CUSTOMER, name="C", email="c@example.org", owner_id=OWNER,
        created_at=NOW, invitation=invitation,
    )  # fmt: skip
    fakes.identities.memberships[(OWNER, imports.FIRM)] = StaffMembership(
        imports.FIRM, OWNER, StaffRole.ADVISER
    )
    provider = imports.Provider(script={"p-a": [CredentialsRejected("login required")]})

    import_and_report(fakes.ports(provider, lambda: NOW), imports.JOB)
    import_and_report(fakes.ports(provider, lambda: NOW), imports.JOB)  # redelivered: not importable now

    staff_notices = [n for n in fakes.notifications.added if n.user_id == OWNER]
    assert [n.kind for n in staff_notices] == ["staff.connection_broken"]
    assert staff_notices[0].details["status"] == "credentials_rejected"


# (d) a Data Refresh finishes ----------------------------------------------------------------------
@dataclass
class Jobs:
    """The refresh job store's read of one job."""

    job: RefreshJob

    def get_job(self, firm_id: str, job_id: str) -> RefreshJob | None:
        return self.job if (firm_id, job_id) == (self.job.firm_id, self.job.job_id) else None


def job(requested_by: str = OWNER, **counts: int) -> RefreshJob:
    return RefreshJob(FIRM, "01JJOBNOTICES0000000000000", requested_by, NOW, {}, False, JobCounts(**counts))


def test_whoever_started_a_refresh_hears_once_when_it_finished_with_its_counts(world: World):
    jobs = Jobs(job(succeeded=7, failed=2, excluded=1))
    for _ in range(3):  # concurrent workers each finishing an engagement, a redelivery
        refresh_progressed(world.notices, jobs, FIRM, jobs.job.job_id)

    (notice,) = world.notifications.added
    assert (notice.user_id, notice.kind, notice.customer_id) == (OWNER, "staff.refresh_finished", None)
    assert notice.details == {
        "job_id": jobs.job.job_id,
        "total": 10,
        "succeeded": 7,
        "failed": 2,
        "excluded": 1,
    }
    assert notice.body == "7 succeeded, 2 failed and 1 excluded, of 10 engagements."


def test_an_unfinished_refresh_or_one_started_by_someone_who_left_notifies_nobody(world: World):
    refresh_progressed(world.notices, Jobs(job(succeeded=1, running=1)), FIRM, job().job_id)
    refresh_progressed(world.notices, Jobs(job(LEFT, succeeded=1)), FIRM, job().job_id)
    assert world.notifications.added == []


# the daily digest -------------------------------------------------------------------------------------
@dataclass
class Digests:
    world: World
    preferences: FakeDigestPreferences = field(default_factory=FakeDigestPreferences)
    email: FakeEmail = field(default_factory=FakeEmail)

    @property
    def ports(self) -> DigestPorts:
        return DigestPorts(
            preferences=self.preferences,
            notifications=self.world.notifications,  # type: ignore[arg-type]
            identities=self.world.fakes.identities,  # type: ignore[arg-type]
            email=self.email,
            app_base_url="https://app.example",
            default_timezone="Europe/London",
            clock=self.world.clock,
        )

    def run_at(self, at: datetime) -> dict[str, int]:
        self.world.clock.at = at
        return send_due_digests(self.ports)


@pytest.fixture
def digests(world: World) -> Digests:
    return Digests(world)


MORNING = datetime(2026, 6, 18, 7, 5, tzinfo=UTC)  # 08:05 in London, the day after NOW


def test_the_digest_is_off_by_default_and_turned_on_for_the_next_local_morning(digests: Digests):
    owner = staff(OWNER)
    assert digest_preference(digests.ports, owner) == DigestPreference(OWNER)

    chosen = choose_digest(digests.ports, owner, True)

    assert chosen.timezone == "Europe/London"
    assert chosen.next_due == datetime(2026, 6, 18, 7, 0, tzinfo=UTC)
    assert digest_preference(digests.ports, owner).daily_digest
    assert choose_digest(digests.ports, owner, False).next_due is None
    assert list(digests.preferences.due_digests(MORNING)) == []


def test_only_staff_may_choose_a_digest(digests: Digests):
    customer = StaffContext(JANE, FIRM, "customer")  # type: ignore[arg-type]
    assert refused(lambda: choose_digest(digests.ports, customer, True)) == (403, "forbidden")


@pytest.mark.parametrize(
    ("zone", "after", "due"),
    [
        ("Europe/London", datetime(2026, 3, 28, 8, 30, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
        (
            "Europe/London",
            datetime(2026, 10, 24, 8, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
        ),
        (
            "America/New_York",
            datetime(2026, 6, 17, 11, 59, tzinfo=UTC),
            datetime(2026, 6, 17, 12, 0, tzinfo=UTC),
        ),
        ("Asia/Tokyo", datetime(2026, 12, 31, 23, 0, tzinfo=UTC), datetime(2027, 1, 1, 23, 0, tzinfo=UTC)),
    ],
)
def test_the_digest_goes_out_at_8_local_time_across_dst_and_new_year(zone, after, due):
    assert next_digest_due(after, zone) == due


def test_a_digest_lists_the_unread_staff_notifications_of_the_last_day_once(world: World, digests: Digests):
    customer = world.customer()
    choose_digest(digests.ports, staff(OWNER), True)
    world.clock.at = MORNING - timedelta(hours=2)
    notify_customer_staff(
        world.notices, FIRM, customer.customer_id, "consent_expiring", {"connection_id": "c1"}
    )
    notify_customer_staff(
        world.notices, FIRM, customer.customer_id, "consent_expiring", {"connection_id": "c2"}
    )
    world.notifications.add(  # a notification of their own as a customer: not the staff digest's
        Notification(
            OWNER,
            "01JOWNCUSTOMERNOTICE000000",
            "account.accepted",
            "Your account 12345678",
            "x",
            world.clock.at,
        )
    )

    assert digests.run_at(MORNING) == {"sent": 1}
    assert digests.run_at(MORNING + timedelta(minutes=30)) == {}  # a retried run: nothing due
    assert digests.run_at(MORNING + timedelta(days=1)) == {"nothing_new": 1}  # nothing since

    (email,) = digests.email.sent
    assert email.to == f"{OWNER}@firm.example"
    assert "Demo Advisory LLP: A customer's bank consent expires within 7 days (2)" in email.text
    assert "https://app.example/notifications" in email.text
    assert "12345678" not in email.text and "Jane" not in email.text


def test_two_runs_claiming_the_same_digest_send_one_email(world: World, digests: Digests):
    customer = world.customer()
    choose_digest(digests.ports, staff(OWNER), True)
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", {})
    world.clock.at = MORNING
    (due,) = digests.preferences.due_digests(MORNING)  # both runs read it due

    assert digests.run_at(MORNING) == {"sent": 1}
    assert digests.preferences.claim_digest(due, next_digest_due(MORNING, "Europe/London")) is False
    assert len(digests.email.sent) == 1


def test_read_notifications_and_deactivated_staff_get_no_digest(world: World, digests: Digests):
    customer = world.customer()
    for who in (OWNER, ASSIGNED):
        choose_digest(digests.ports, staff(who), True)
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", {})
    for notice in world.heard(OWNER):
        world.notifications.mark_read(OWNER, notice.notification_id, NOW)
    world.fakes.identities.memberships[(ASSIGNED, FIRM)] = StaffMembership(
        FIRM, ASSIGNED, StaffRole.ADVISER, False
    )

    assert digests.run_at(MORNING) == {"nothing_new": 1, "not_staff": 1}
    assert digests.email.sent == []


def test_a_digest_that_could_not_be_sent_is_sent_by_the_next_run(world: World, digests: Digests):
    customer = world.customer()
    choose_digest(digests.ports, staff(OWNER), True)
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", {})
    digests.email.failing = True

    assert digests.run_at(MORNING) == {"failed": 1}
    digests.email.failing = False
    assert digests.run_at(MORNING + timedelta(hours=1)) == {"sent": 1}
    assert len(digests.email.sent) == 1


def test_a_read_failing_after_the_claim_gives_it_back_and_the_run_goes_on(world: World, digests: Digests):
    """Review of issue 16: the claim is released whatever fails after it, not only the send."""
    customer = world.customer()
    choose_digest(digests.ports, staff(OWNER), True)
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", {})
    notifications = world.notifications
    real_since = notifications.since
    notifications.since = lambda *_: (_ for _ in ()).throw(RuntimeError("throttled"))  # type: ignore[method-assign]
    assert digests.run_at(MORNING) == {"failed": 1}
    notifications.since = real_since  # type: ignore[method-assign]
    assert digests.run_at(MORNING + timedelta(hours=1)) == {"sent": 1}


def test_a_deactivated_member_no_longer_reads_the_firms_staff_notifications(world: World):
    """Review of issue 16: `GET /me/notifications` shows a staff notice only while its reader is an
    active member of its firm (reactivated: shown again)."""
    from shared.services.notifications import list_notifications

    customer = world.customer()
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", {})
    owner = Principal(OWNER, f"{OWNER}@firm.example")

    def listed() -> list[str]:
        views, _ = list_notifications(
            world.notifications, world.fakes.identities, world.fakes.customers, owner, cursor=None, limit=25
        )
        return [v.notification.kind for v in views]

    assert listed() == ["staff.consent_expiring"]
    world.fakes.identities.memberships[(OWNER, FIRM)] = StaffMembership(FIRM, OWNER, StaffRole.ADVISER, False)
    assert listed() == []
    world.fakes.identities.memberships[(OWNER, FIRM)] = StaffMembership(FIRM, OWNER, StaffRole.ADVISER, True)
    assert listed() == ["staff.consent_expiring"]


def test_an_adviser_unassigned_from_a_customer_no_longer_reads_the_earlier_notices_about_them(world: World):
    """Review of issue 16 (R-ROLE-2): a staff notice about a customer shows only while its reader may
    see that customer; an admin always may, a notice about no customer (a refresh) stays."""
    from shared.services.notifications import list_notifications

    customer = world.customer(assignees=(ASSIGNED,))
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "consent_expiring", {})
    refresh_progressed(world.notices, Jobs(job(ASSIGNED, succeeded=1)), FIRM, job().job_id)

    def listed(user_id: str) -> list[str]:
        reader = Principal(user_id, f"{user_id}@firm.example")
        views, _ = list_notifications(
            world.notifications, world.fakes.identities, world.fakes.customers, reader, cursor=None, limit=25
        )
        return sorted(v.notification.kind for v in views)

    assert listed(ASSIGNED) == ["staff.consent_expiring", "staff.refresh_finished"]
    world.fakes.customers.rows[(FIRM, customer.customer_id)] = replace(customer, assignee_ids=())
    assert listed(ASSIGNED) == ["staff.refresh_finished"]
    assert listed(OWNER) == ["staff.consent_expiring"]  # still the owner
    world.fakes.customers.rows[(FIRM, customer.customer_id)] = replace(
        customer, owner_id=ADMIN, assignee_ids=()
    )
    assert listed(OWNER) == []
    world.fakes.identities.memberships[(ADMIN, FIRM)] = StaffMembership(FIRM, ADMIN, StaffRole.ADMIN, True)
    notify_customer_staff(world.notices, FIRM, customer.customer_id, "connection_broken", {})
    assert "staff.connection_broken" in listed(ADMIN)
