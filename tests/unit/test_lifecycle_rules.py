"""The data lifecycle (issue 17 item 1, R-PRIV-2, R-PRIV-3) on the in-memory ports: a relationship
that ends (the firm removes the customer, or the customer leaves), who still reads it, the firm's
retention period, erasure requests, their approval, the daily sweep and the erasure itself. The
DynamoDB side and the routes are tested on moto in tests/integration/test_lifecycle.py."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from shared.auth import customer_of, file_caller
from shared.domain.connections import Connection, ConnectionStatus
from shared.domain.customers import Customer, Invitation, InvitationStatus, RelationshipEnded, Section
from shared.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from shared.domain.file_access import CallerKind
from shared.domain.identity import CustomerLink, Firm, Principal, StaffContext, StaffMembership, StaffRole
from shared.domain.lifecycle import DEFAULT_RETENTION_YEARS, ErasureJob, erasure_due
from shared.domain.refresh import Engagement
from shared.ports.connections import ConnectionAddress
from shared.services import lifecycle
from shared.services.customers import changeable_customer, list_customers, visible_customer
from tests.fakes import FakeClock, OnboardingFakes
from tests.lifecycle_fakes import LifecycleFakes

pytestmark = pytest.mark.fakes

FIRM, OTHER_FIRM, CUSTOMER, USER = "firm-1", "firm-2", "customer-1", "user-1"
THEIRS = {FIRM: CUSTOMER, OTHER_FIRM: "customer-2"}  # the same person, a customer of two firms
NOW = datetime(2026, 6, 17, 22, 30, tzinfo=UTC)  # 23:30 in London: the firm's day is the 17th
ADMIN = StaffContext(Principal("admin-1", "a@firm.example"), FIRM, StaffRole.ADMIN)
OWNER = StaffContext(Principal("owner-1", "o@firm.example"), FIRM, StaffRole.ADVISER)
OTHER_ADMIN = StaffContext(Principal("admin-2", "a@other.example"), OTHER_FIRM, StaffRole.ADMIN)
CUSTOMER_PERSON = Principal(USER, "jane@example.org")


def world(*connections: Connection) -> tuple[LifecycleFakes, FakeClock]:
    lf = LifecycleFakes()
    fakes = lf.fakes
    for firm_id, customer_id in THEIRS.items():
        fakes.identities.firms[firm_id] = Firm(firm_id, "Acme", "Europe/London")
        invitation = Invitation("hash-" + firm_id, NOW, NOW, status=InvitationStatus.ACCEPTED)
        fakes.customers.rows[(firm_id, customer_id)] = Customer(
            firm_id, customer_id, "Jane Doe", "jane@example.org", "owner-1", NOW, invitation,
            user_id=USER, accepted_accounts=1, version=1,
        )  # fmt: skip
        fakes.identities.links[(USER, firm_id, customer_id)] = CustomerLink(firm_id, customer_id)
    for connection in connections:
        fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, connection.connection_id)] = connection
    lf.rows.rows[(FIRM, CUSTOMER)] = Engagement(
        FIRM, CUSTOMER, "Jane Doe", "jane@example.org", "owner-1", ("owner-1",), (), version=3
    )
    return lf, FakeClock(NOW)


def linked(connection_id: str, credential: str | None = "gc-requisition") -> Connection:
    return Connection(
        FIRM, CUSTOMER, connection_id, USER, "gocardless", "NORTHWIND", "Northwind Bank",
        ConnectionStatus.LINKED, NOW, credential=credential, version=1,
    )  # fmt: skip


def stored(lf: LifecycleFakes, firm_id: str = FIRM) -> Customer:
    customer = lf.fakes.customers.get(firm_id, THEIRS[firm_id])
    assert customer is not None
    return customer


def actions(lf: LifecycleFakes) -> list[str]:
    return [event.action for event in lf.fakes.audit.log()]


def test_the_firm_ends_a_relationship_staff_reads_stop_but_admins_and_imports_stop():
    lf, clock = world(linked("c-1"), linked("c-2"))
    ports = lf.ports(clock)

    ended = lifecycle.end_relationship(ports, ADMIN, CUSTOMER)

    assert ended.ended_at == NOW and ended.ended_by == "firm"
    assert ended.erasure_due == date(2026 + DEFAULT_RETENTION_YEARS, 6, 17)  # the firm's day, 6 years on
    assert ended.section is None  # off every list, count and search of the dashboard
    assert lf.fakes.customers.counts(FIRM, None) == {**{s.value: 0 for s in Section}, "ended": 1}
    with pytest.raises(NotFound):  # the owner now reads nothing of it
        visible_customer(ports.connections, OWNER, CUSTOMER)
    assert visible_customer(ports.connections, ADMIN, CUSTOMER).customer_id == CUSTOMER  # retained
    assert (FIRM, CUSTOMER) not in lf.rows.rows  # the Data Refresh rows, in the same transaction
    assert (USER, FIRM, CUSTOMER) not in lf.fakes.identities.links  # they are no longer its customer
    assert (
        USER,
        OTHER_FIRM,
        THEIRS[OTHER_FIRM],
    ) in lf.fakes.identities.links  # their other firm is untouched
    assert stored(lf, OTHER_FIRM).relationship_ended is False
    # each connection revoked at the provider first, then stored revoked: imports stop (R-CON-7)
    assert sorted(lf.provider.revoked) == ["gc-requisition", "gc-requisition"]
    assert {c.status for c in lf.fakes.connections.rows.values()} == {ConnectionStatus.REVOKED}
    assert sorted(actions(lf)) == ["connection.deauthorised", "connection.deauthorised", "relationship.ended"]
    [event] = [e for e in lf.fakes.audit.log() if e.action == "relationship.ended"]
    assert event.customer_id == CUSTOMER and event.actor_id == ADMIN.principal.user_id
    assert "Jane" not in json.dumps(event.details) and "@" not in json.dumps(event.details)


def test_only_admins_end_a_relationship_once_and_only_in_their_firm():
    lf, clock = world()
    ports = lf.ports(clock)
    with pytest.raises(Forbidden):
        lifecycle.end_relationship(ports, OWNER, CUSTOMER)
    with pytest.raises(NotFound):
        lifecycle.end_relationship(ports, ADMIN, "customer-of-nobody")
    lifecycle.end_relationship(ports, ADMIN, CUSTOMER)
    with pytest.raises(Conflict) as replay:
        lifecycle.end_relationship(ports, ADMIN, CUSTOMER)
    assert replay.value.code == "relationship_ended"
    assert actions(lf).count("relationship.ended") == 1


def test_the_customer_leaves_and_no_longer_resolves_as_that_firms_customer_nor_on_its_file():
    lf, clock = world()
    ports = lf.ports(clock)
    fakes = lf.fakes

    left = lifecycle.leave_firm(ports, CUSTOMER_PERSON, FIRM, erase=True)

    assert left.ended_by == "customer" and left.erasure_requested_by == USER
    with pytest.raises(NotFound):
        customer_of(CUSTOMER_PERSON, fakes.identities, fakes.customers, FIRM)
    assert customer_of(CUSTOMER_PERSON, fakes.identities, fakes.customers, OTHER_FIRM).firm_id == OTHER_FIRM
    with pytest.raises(NotFound):  # leaving twice finds no customer record any more
        lifecycle.leave_firm(ports, CUSTOMER_PERSON, FIRM, erase=False)
    fakes.identities.memberships[("owner-1", FIRM)] = StaffMembership(FIRM, "owner-1", StaffRole.ADVISER)
    fakes.identities.memberships[("admin-1", FIRM)] = StaffMembership(FIRM, "admin-1", StaffRole.ADMIN)
    fakes.identities.enrol("owner-1", "admin-1")  # staff with their second factor (issue 17 item 6)

    def kind(user_id: str) -> CallerKind:
        found = file_caller(
            Principal(user_id, ""), None, CUSTOMER,
            memberships=fakes.identities, customers=fakes.customers, files=NoFiles(), links=fakes.identities,
        )  # fmt: skip
        return found.kind

    assert kind("owner-1") is CallerKind.STRANGER  # the file manager no longer reads the file
    assert kind("admin-1") is CallerKind.FIRM_ADMIN  # admins keep what the firm retains
    assert kind(USER) is CallerKind.STRANGER  # neither does the customer (they left)


def test_an_ended_relationship_changes_no_more_but_admins_still_read_it():
    """R-PRIV-2: one rule (`Customer.check_open`) where firm use cases resolve a customer to change."""
    lf, clock = world()
    ports = lf.ports(clock)
    assert changeable_customer(ports.connections, ADMIN, CUSTOMER).customer_id == CUSTOMER  # live: fine
    lifecycle.end_relationship(ports, ADMIN, CUSTOMER)
    with pytest.raises(RelationshipEnded) as refused:
        changeable_customer(ports.connections, ADMIN, CUSTOMER)
    assert (refused.value.status, refused.value.code) == (409, "relationship_ended")
    with pytest.raises(NotFound):  # an adviser still gets the 404 of a customer they do not see
        changeable_customer(ports.connections, OWNER, CUSTOMER)
    assert visible_customer(ports.connections, ADMIN, CUSTOMER).customer_id == CUSTOMER  # reads stay
    assert changeable_customer(ports.connections, OTHER_ADMIN, THEIRS[OTHER_FIRM]).firm_id == OTHER_FIRM


def test_admins_list_the_ended_relationships_with_their_retention_end_and_advisers_never_do():
    lf, clock = world()
    ports = lf.ports(clock)
    onboarding = OnboardingFakes.ports(lf.fakes, clock)  # the customers' side of the same fakes
    lifecycle.end_relationship(ports, ADMIN, CUSTOMER)

    page, counts = list_customers(
        onboarding, ADMIN, section=Section.ENDED, search=None, cursor=None, limit=10
    )
    [row] = page.rows
    assert (row["customer_id"], row["section"], row["ended_by"]) == (CUSTOMER, "ended", "firm")
    assert row["erasure_due"] == date(2026 + DEFAULT_RETENTION_YEARS, 6, 17).isoformat()
    assert counts == {"invited": 0, "pending": 0, "customers": 0, "ended": 1}
    with pytest.raises(Forbidden):  # advisers never see the list
        list_customers(onboarding, OWNER, section=Section.ENDED, search=None, cursor=None, limit=10)
    _, theirs = list_customers(onboarding, OWNER, section=Section.INVITED, search=None, cursor=None, limit=10)
    assert "ended" not in theirs  # nor its count
    with pytest.raises(InvalidRequest):  # listed by when they ended, not searched
        list_customers(onboarding, ADMIN, section=Section.ENDED, search="Jane", cursor=None, limit=10)
    _, other = list_customers(
        onboarding, OTHER_ADMIN, section=Section.ENDED, search=None, cursor=None, limit=10
    )
    assert other == {"invited": 0, "pending": 0, "customers": 1, "ended": 0}  # the other firm's own


class NoFiles:
    def links_of(self, user_id: str) -> list[object]:
        return []

    def get_grant(self, *_: object) -> None:
        return None


def test_the_retention_period_is_the_firms_admins_only_audited_and_applies_to_later_ends():
    lf, clock = world()
    ports = lf.ports(clock)
    assert lifecycle.firm_settings(ports, ADMIN).retention_years == DEFAULT_RETENTION_YEARS
    with pytest.raises(Forbidden):
        lifecycle.change_firm_settings(ports, OWNER, 10)
    with pytest.raises(Forbidden):
        lifecycle.firm_settings(ports, OWNER)
    assert lifecycle.change_firm_settings(ports, ADMIN, 10).retention_years == 10
    assert lifecycle.firm_settings(lf.ports(clock), OTHER_ADMIN).retention_years == DEFAULT_RETENTION_YEARS
    assert lifecycle.end_relationship(ports, ADMIN, CUSTOMER).erasure_due == date(2036, 6, 17)
    [changed] = [e for e in lf.fakes.audit.log() if e.action == "firm.settings_changed"]
    assert changed.details == {"retention_years": 10} and changed.target_id == FIRM


def test_erasure_is_due_on_the_firms_local_day_and_a_leap_day_ends_on_the_28th():
    assert erasure_due(NOW, "Europe/London", 6) == date(2032, 6, 17)
    assert erasure_due(NOW, "UTC", 6) == date(2032, 6, 17)
    assert erasure_due(datetime(2026, 6, 17, 23, 30, tzinfo=UTC), "Europe/London", 1) == date(2027, 6, 18)
    assert erasure_due(datetime(2028, 2, 29, 12, tzinfo=UTC), "UTC", 1) == date(2029, 2, 28)


def test_an_erasure_request_needs_an_admins_approval_which_ends_queues_and_audits_it():
    lf, clock = world(linked("c-1"))
    ports = lf.ports(clock)
    with pytest.raises(Conflict) as nothing_asked:
        lifecycle.approve_erasure(ports, ADMIN, CUSTOMER)
    assert nothing_asked.value.code == "no_erasure_request"

    requested = lifecycle.request_erasure(ports, OWNER, CUSTOMER)
    assert requested.erasure_requested_by == OWNER.principal.user_id and not requested.relationship_ended
    assert lifecycle.request_erasure(ports, OWNER, CUSTOMER).version == requested.version  # asked once
    with pytest.raises(Forbidden):
        lifecycle.approve_erasure(ports, OWNER, CUSTOMER)

    approved = lifecycle.approve_erasure(ports, ADMIN, CUSTOMER)

    assert approved.relationship_ended and approved.erasure_due == date(2026, 6, 17)  # due today
    assert [json.loads(body) for body, _ in lf.erasures.sent] == [{"firm_id": FIRM, "customer_id": CUSTOMER}]
    assert lf.provider.revoked == ["gc-requisition"]
    # the end and its approval in one transaction (one instant: their order in the log is not told)
    assert sorted(actions(lf)) == sorted(
        ["erasure.requested", "relationship.ended", "erasure.approved", "connection.deauthorised"]
    )


def test_the_sweep_queues_what_is_due_and_the_worker_erases_once_and_only_when_due():
    lf, clock = world(linked("c-1"))
    ports = lf.ports(clock)
    lifecycle.end_relationship(ports, ADMIN, CUSTOMER)
    lf.store.exports[(FIRM, CUSTOMER)] = ["export-1"]
    lf.files.objects[(FIRM, "export-1")] = b"date,amount\n"
    job = ErasureJob(FIRM, CUSTOMER)

    assert lifecycle.sweep_erasures(ports) == 0  # retained for 6 years
    assert lifecycle.erase_customer(ports, job) == "not_due"  # a job sent early erases nothing
    assert stored(lf).customer_id == CUSTOMER

    clock.at = datetime(2032, 6, 17, 3, tzinfo=UTC)
    assert lifecycle.sweep_erasures(lf.ports(clock)) == 1
    assert [json.loads(body) for body, _ in lf.erasures.sent] == [{"firm_id": FIRM, "customer_id": CUSTOMER}]
    assert lifecycle.erase_customer(lf.ports(clock), job) == "erased"

    assert lf.fakes.customers.get(FIRM, CUSTOMER) is None
    assert not lf.fakes.connections.rows and not lf.files.objects
    assert (
        stored(lf, OTHER_FIRM).customer_id == THEIRS[OTHER_FIRM]
    )  # the same person at another firm: untouched
    assert lifecycle.erase_customer(lf.ports(clock), job) == "gone"  # a redelivered job: done already
    [erased] = [e for e in lf.fakes.audit.log() if e.action == "customer.erased"]
    assert erased.customer_id == CUSTOMER and erased.actor_id == "system"


def test_a_provider_that_cannot_revoke_leaves_the_end_stored_and_the_erasure_retried():
    lf, clock = world(linked("c-1"))
    lf.provider.failing = True
    ports = lf.ports(clock)
    lifecycle.request_erasure(ports, ADMIN, CUSTOMER)

    approved = lifecycle.approve_erasure(ports, ADMIN, CUSTOMER)  # the end stands, reads stop

    assert approved.relationship_ended
    [stopped] = lf.fakes.connections.rows.values()  # imports stop now; the credential waits for the worker
    assert stopped.status is ConnectionStatus.REVOKED and stopped.credential is not None  # sealed, kept
    with pytest.raises(lifecycle.RetryErasure):  # nothing deleted while the bank still holds a consent
        lifecycle.erase_customer(ports, ErasureJob(FIRM, CUSTOMER))
    assert stored(lf).customer_id == CUSTOMER
    lf.provider.failing = False
    assert lifecycle.erase_customer(ports, ErasureJob(FIRM, CUSTOMER)) == "erased"
    assert lf.provider.revoked == ["gc-requisition"]


def test_an_erasure_job_is_a_json_object_naming_a_firm_and_a_customer():
    assert ErasureJob.from_json(ErasureJob(FIRM, CUSTOMER).to_json()) == ErasureJob(FIRM, CUSTOMER)
    for body in (
        "[]",
        '{"firm_id": "f"}',
        '{"firm_id": "", "customer_id": "c"}',
        '{"firm_id": 1, "customer_id": "c"}',
    ):
        with pytest.raises(ValueError):
            ErasureJob.from_json(body)
