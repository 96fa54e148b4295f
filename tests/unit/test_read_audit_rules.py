"""Audited reads (issue 17 item 2, R-PRIV-4) on the in-memory ports: every staff read of a customer's
accounts, transactions, unassigned lines, an export's download link and every non-customer read of a
client file writes one `read.<what>` event per request (who, which customer, what, how many rows, the
filter), the customer reading their own file writes none, a refused read writes none, and a read whose
event cannot be written is not served (503 `audit_unavailable`). Through the routes on moto:
tests/integration/test_read_audit.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.domain.accounts import AccountStatus, BankTransaction, SharedAccount
from shared.domain.audit import AuditEvent, AuditKind, ReadOf
from shared.domain.errors import NotFound
from shared.domain.exports import ExportFilter
from shared.domain.files import AccessLevel
from shared.domain.identity import StaffContext
from shared.services.assignment import unassigned_lines
from shared.services.audit import read_audit_log
from shared.services.customers import list_shared_accounts, list_transactions
from shared.services.exports import request_audit_export, request_transactions_export, view_export
from shared.services.files import view_file
from tests.conftest import clock_start
from tests.fakes import FakeAudit, FakeClock, OnboardingFakes, refused
from tests.unit import test_export_rules as exports_world
from tests.unit import test_file_access_rules as files_world
from tests.unit.test_export_rules import ACCOUNT, ADMIN, ASSIGNED, CUSTOMER, FIRM, OWNER, UNASSIGNED, line

pytestmark = pytest.mark.fakes

NEW_ACCOUNT = "acc_new"
UNAVAILABLE = (503, "audit_unavailable")


class FailingAudit(FakeAudit):
    """An audit log that takes no event (DynamoDB throttling, say): reads must not be served."""

    def record(self, event: AuditEvent) -> str:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")


class Unassigned:
    """AssignmentStore's read: the lines given, a page at a time."""

    def __init__(self, lines: list[BankTransaction]) -> None:
        self.lines = lines

    def unassigned(self, firm_id: str, customer_id: str, *, cursor: str | None, limit: int) -> Any:
        return self.lines[:limit], None


class Reads(exports_world.World):
    """The export rules' world (a customer of the owner, assigned to `assigned`; an accepted, a declined
    and here a new account; lines), with the customer use cases' ports on the same fakes."""

    def __post_init__(self) -> None:
        super().__post_init__()
        accepted = self.fakes.accounts.get(FIRM, CUSTOMER, ACCOUNT)
        assert accepted is not None
        self.fakes.accounts.add(replace(accepted, account_id=NEW_ACCOUNT, status=AccountStatus.NEW))
        self.lines(*(line(f"t{day:02d}", day, f"-{day}.50") for day in range(1, 8)))

    def onboarding(self) -> Any:
        self.later()  # requests a minute apart
        fakes = self.fakes
        bag = OnboardingFakes(customers=fakes.customers, accounts=fakes.accounts, audit=fakes.audit)
        return bag.ports(self.clock)

    def reads(self) -> list[AuditEvent]:
        return [e for e in self.fakes.audit.log() if e.action.startswith(f"{AuditKind.READ.value}.")]


@pytest.fixture
def world() -> Reads:
    return Reads(FakeClock(clock_start()))


def accounts(world: Reads, who: StaffContext) -> list[SharedAccount]:
    return list_shared_accounts(world.onboarding(), who, CUSTOMER)


def transactions(world: Reads, who: StaffContext, **query: Any) -> Any:
    page = {"account_id": None, "date_from": None, "date_to": None, "cursor": None, "limit": 50} | query
    return list_transactions(world.onboarding(), who, CUSTOMER, **page)


def unassigned(world: Reads, who: StaffContext) -> Any:
    lines = world.fakes.accounts.of(FIRM, CUSTOMER)
    return unassigned_lines(world.onboarding(), Unassigned(lines), who, CUSTOMER, None, 5)  # type: ignore[arg-type]


def downloaded(world: Reads, who: StaffContext) -> Any:
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    world.run()
    return view_export(world.later(), who, export.export_id)


STAFF_READS: dict[str, Callable[[Reads, StaffContext], Any]] = {
    "accounts": accounts,
    "transactions": transactions,
    "unassigned_lines": unassigned,
    "export": downloaded,
}


# one event per read, with its counts ------------------------------------------------------------
def test_reading_the_accounts_writes_who_which_customer_and_how_many(world: Reads):
    shown = accounts(world, ASSIGNED)

    assert {a.account_id for a in shown} == {ACCOUNT, NEW_ACCOUNT}  # the declined one is not shown
    [event] = world.reads()
    assert (event.action, event.actor_id, event.firm_id, event.customer_id) == (
        "read.accounts", "assigned", FIRM, CUSTOMER,
    )  # fmt: skip
    assert (event.target_type, event.target_id, event.details) == ("customer", CUSTOMER, {"rows": 2})
    assert event.occurred_at == world.clock.at  # the injected clock's time


def test_each_page_of_transactions_is_one_event_with_its_filter_and_rows(world: Reads):
    first = transactions(world, OWNER, account_id=ACCOUNT, date_from=date(2026, 5, 2), limit=4)
    second = transactions(
        world, OWNER, account_id=ACCOUNT, date_from=date(2026, 5, 2), cursor=first.next_cursor
    )

    assert (len(first.transactions), len(second.transactions)) == (4, 2)
    assert [(e.action, e.actor_id, e.customer_id, e.details) for e in world.reads()] == [
        ("read.transactions", "owner", CUSTOMER, {"rows": 4, "account_id": ACCOUNT, "from": "2026-05-02"}),
        ("read.transactions", "owner", CUSTOMER, {"rows": 2, "account_id": ACCOUNT, "from": "2026-05-02"}),
    ]
    transactions(world, ADMIN, date_to=date(2026, 4, 30))  # nothing booked then: a read all the same
    assert world.reads()[-1].details == {"rows": 0, "to": "2026-04-30"}


def test_unassigned_lines_are_a_read_of_the_customers_bank_data(world: Reads):
    lines, _ = unassigned(world, ADMIN)

    [event] = world.reads()
    assert (event.action, event.actor_id, event.customer_id, event.details) == (
        "read.unassigned_lines", "admin", CUSTOMER, {"rows": len(lines)},
    )  # fmt: skip
    assert len(lines) == 5


def test_a_download_link_is_one_read_of_the_export_and_a_status_without_one_is_none(world: Reads):
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    assert view_export(world.later(), OWNER, export.export_id).download_url is None  # queued
    assert world.reads() == []
    world.run()

    assert view_export(world.later(), OWNER, export.export_id).download_url
    assert view_export(world.later(), ADMIN, export.export_id).download_url

    assert [
        (e.action, e.actor_id, e.target_type, e.target_id, e.customer_id, e.details) for e in world.reads()
    ] == [
        ("read.export", who, "export", export.export_id, CUSTOMER, {"rows": 7, "kind": "transactions"})
        for who in ("owner", "admin")
    ]
    actions = [e.action for e in world.fakes.audit.log()]
    assert "export.downloaded" not in actions and actions.count("read.export") == 2  # one event a request


def test_an_audit_export_download_is_a_read_of_no_customer(world: Reads):
    export = request_audit_export(world.later(), ADMIN, None, ExportFilter())
    world.run()
    view_export(world.later(), ADMIN, export.export_id)

    [event] = world.reads()
    assert (event.action, event.customer_id, event.details["kind"]) == ("read.export", None, "audit")


@pytest.mark.parametrize("use_case", STAFF_READS)
def test_every_staff_read_writes_exactly_one_event_and_names_nothing_personal(world: Reads, use_case: str):
    STAFF_READS[use_case](world, ADMIN)

    [event] = world.reads()
    assert event.action == ReadOf(use_case).action and event.actor_id == "admin"
    text = repr(event)
    assert "Jane" not in text and "jane@" not in text and "Rent" not in text and ".50" not in text


# who looked at this customer? -------------------------------------------------------------------
def test_the_firm_answers_who_looked_at_this_customers_data(world: Reads):
    accounts(world, ASSIGNED)
    transactions(world, OWNER)
    downloaded(world, ADMIN)

    events, _ = read_audit_log(
        world.fakes.audit, ADMIN, customer_id=CUSTOMER, cursor=None, limit=10, kind=AuditKind.READ
    )
    assert [(e.actor_id, e.action) for e in events] == [
        ("admin", "read.export"), ("owner", "read.transactions"), ("assigned", "read.accounts"),
    ]  # fmt: skip


# refused reads and a failed audit write ---------------------------------------------------------
@pytest.mark.parametrize("use_case", [u for u in STAFF_READS if u != "export"])
def test_a_refused_read_writes_no_event(world: Reads, use_case: str):
    with pytest.raises(NotFound):
        STAFF_READS[use_case](world, UNASSIGNED)
    assert world.reads() == []


@pytest.mark.parametrize("use_case", STAFF_READS)
def test_a_read_whose_event_cannot_be_written_is_not_served(world: Reads, use_case: str):
    if use_case == "export":  # the export is requested and written while the log still works
        export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
        world.run()
        world.fakes.audit = FailingAudit(world.fakes.audit.events)
        assert refused(lambda: view_export(world.later(), OWNER, export.export_id)) == UNAVAILABLE
        return
    world.fakes.audit = FailingAudit()
    assert refused(lambda: STAFF_READS[use_case](world, OWNER)) == UNAVAILABLE


# the client file: every reader but its own customer ----------------------------------------------
@pytest.fixture
def file_world() -> files_world.World:
    return files_world.World(FakeClock(clock_start()))


def file_reads(world: files_world.World) -> list[AuditEvent]:
    return [e for e in world.fakes.audit.log() if e.action == "read.file"]


def test_staff_reading_a_file_writes_one_event_with_what_each_section_showed(file_world):
    seen = view_file(file_world.ports, files_world.MANAGER, files_world.FILE_ID)

    [event] = file_reads(file_world)
    assert (event.actor_id, event.firm_id, event.customer_id, event.target_type, event.target_id) == (
        "manager", files_world.FIRM_ID, files_world.FILE_ID, "file", files_world.FILE_ID,
    )  # fmt: skip
    assert event.details == {
        "rows": 3, "caller": "file_manager", "members": 3, "patrimony": 0, "donations": 0, "documents": 0,
    }  # fmt: skip
    assert len(seen.contents.members) == 3


def test_a_grantee_reading_the_file_is_audited_too(file_world):
    file_world.grant("Kid")  # read_only, bound when accepted
    file_world.accept()
    before = len(file_reads(file_world))

    view_file(file_world.later(), files_world.me(files_world.KID), files_world.FILE_ID)

    [event] = file_reads(file_world)[before:]
    assert (event.actor_id, event.details["caller"]) == ("kid-sub", "member_ro")


def test_the_files_own_customer_reading_it_is_not_audited_with_or_without_a_grant(file_world):
    files_world.customer_accepted(file_world)
    view_file(file_world.ports, files_world.me(files_world.JANE), files_world.FILE_ID)
    assert file_reads(file_world) == []

    file_world.grant("Jane Holder", email=files_world.JANE.email, level=AccessLevel.READ_WRITE)
    seen = view_file(file_world.later(), files_world.me(files_world.JANE), files_world.FILE_ID)
    assert seen.scope.kind.value == "holder_rw" and file_reads(file_world) == []


def test_a_stranger_gets_the_404_and_no_event_and_a_failed_audit_write_serves_no_file(file_world):
    stranger = files_world.me(files_world.NOTARY)
    assert refused(lambda: view_file(file_world.ports, stranger, files_world.FILE_ID)) == (404, "not_found")
    assert file_reads(file_world) == []

    file_world.fakes.audit = FailingAudit()
    assert refused(lambda: view_file(file_world.ports, files_world.ADMIN, files_world.FILE_ID)) == UNAVAILABLE
