"""CSV exports (issue 16 item 8) on the in-memory ports (tests/export_fakes.py): who may export what,
the CSV's shape (RFC 4180, BOM, header, decimals, ISO dates, formula safety), the audit events in
the export's own transactions, a redelivered job, and 100,000 lines a page at a time.
The handlers, the bucket and the queue are exercised on moto in tests/integration/test_exports.py."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.domain.accounts import AccountStatus, BankTransaction, SharedAccount
from shared.domain.customers import Customer, Invitation
from shared.domain.errors import Forbidden, InvalidRequest, NotFound, UpstreamUnavailable
from shared.domain.exports import (
    AUDIT_COLUMNS,
    BOM,
    TRANSACTION_COLUMNS,
    ExportFilter,
    ExportJob,
    ExportStatus,
    safe_text,
)
from shared.domain.identity import Principal, StaffContext, StaffRole
from shared.services.exports import (
    export_given_up,
    request_audit_export,
    request_transactions_export,
    view_export,
    write_export,
)
from tests.conftest import clock_start
from tests.export_fakes import ExportFakes
from tests.fakes import FakeClock, FakesWorld

pytestmark = pytest.mark.fakes

FIRM, OTHER_FIRM = "01JFIRMEXPORTS000000000000", "01JFIRMEXPORTSOTHER0000000"
CUSTOMER, ACCOUNT, CLOSED = "01JCUSTOMEREXPORT000000000", "acc_current", "acc_declined"


def staff(user_id: str, role: StaffRole = StaffRole.ADVISER, firm_id: str = FIRM) -> StaffContext:
    return StaffContext(Principal(user_id, f"{user_id}@firm.example"), firm_id, role)


ADMIN, OWNER, ASSIGNED = staff("admin", StaffRole.ADMIN), staff("owner"), staff("assigned")
UNASSIGNED, OUTSIDER = staff("unassigned"), staff("outsider", StaffRole.ADMIN, OTHER_FIRM)


@dataclass
class World(FakesWorld):
    fakes: ExportFakes = field(default_factory=ExportFakes)

    def __post_init__(self) -> None:
        super().__post_init__()
        now = self.clock.at
        invitation = Invitation("hash", now, now + timedelta(days=45))
        self.fakes.customers.rows[(FIRM, CUSTOMER)] = Customer(
            FIRM, CUSTOMER, "Jane Doe", "jane@example.org", "owner", now, invitation, ("assigned",)
        )
        for account_id, name, status in ((ACCOUNT, "=Current account", AccountStatus.ACCEPTED),
                                         (CLOSED, "Declined", AccountStatus.DECLINED)):  # fmt: skip
            self.fakes.accounts.add(
                SharedAccount(
                    FIRM, CUSTOMER, account_id, "conn", "Bank", "•••• 1234", name, "GBP", None, None, status
                )
            )

    def lines(self, *lines: BankTransaction) -> None:
        self.fakes.accounts.write_transactions(FIRM, CUSTOMER, list(lines))

    def run(self) -> None:
        """Deliver every queued export job to the worker (once each)."""
        for body, _ in self.fakes.queue.sent:
            write_export(self.later(), ExportJob.from_json(body))

    def csv_of(self, export_id: str, firm_id: str = FIRM) -> list[list[str]]:
        text = self.fakes.files.text(firm_id, export_id)
        assert text.startswith(BOM)
        return list(csv.reader(io.StringIO(text[1:], newline="")))


@pytest.fixture
def world() -> World:
    return World(FakeClock(clock_start()))


def line(key: str, day: int, amount: str, description: str = "Rent", **extra: object) -> BankTransaction:
    values: dict = {"account_id": ACCOUNT} | extra
    account = values.pop("account_id")
    return BankTransaction(
        FIRM, CUSTOMER, account, key, date(2026, 5, day), Decimal(amount), "GBP", description, **values
    )


# requests --------------------------------------------------------------------------------------
def test_a_request_writes_the_export_with_its_audit_event_and_queues_one_job(world):
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter(date(2026, 5, 1)))
    assert world.fakes.exports.get(FIRM, export.export_id).status is ExportStatus.QUEUED
    assert [json.loads(body) for body, _ in world.fakes.queue.sent] == [
        {"firm_id": FIRM, "export_id": export.export_id}
    ]
    (event,) = world.fakes.audit.log()
    assert (event.action, event.actor_id, event.target_id, event.customer_id) == (
        "export.requested", "owner", export.export_id, CUSTOMER,
    )  # fmt: skip
    assert event.details == {"kind": "transactions", "date_from": "2026-05-01"}


@pytest.mark.parametrize(
    "caller, account",
    [(OUTSIDER, None), (UNASSIGNED, None), (OWNER, CLOSED), (OWNER, "acc_unknown")],
    ids=["other firm", "adviser not assigned", "declined account", "unknown account"],
)
def test_what_the_caller_may_not_see_is_a_404_and_nothing_is_written(world, caller, account):
    with pytest.raises(NotFound):
        request_transactions_export(world.later(), caller, CUSTOMER, ExportFilter(account_id=account))
    assert not world.fakes.exports.rows and not world.fakes.queue.sent and not world.fakes.audit.events


def test_an_adviser_may_not_export_the_audit_log(world):
    with pytest.raises(Forbidden):
        request_audit_export(world.later(), OWNER, None, ExportFilter())
    assert not world.fakes.exports.rows


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidRequest) as refused:
        ExportFilter(date(2026, 5, 2), date(2026, 5, 1))
    assert refused.value.code == "invalid_date_range"


def test_a_queue_that_takes_nothing_fails_the_export_and_answers_503(world):
    world.fakes.queue.failing = True
    with pytest.raises(UpstreamUnavailable):
        request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    (export,) = world.fakes.exports.rows.values()
    assert (export.status, export.error) == (ExportStatus.FAILED, "not_queued")


# the CSV ---------------------------------------------------------------------------------------
def test_the_csv_is_booked_lines_of_accepted_accounts_with_decimals_iso_dates_and_safe_text(world):
    world.lines(
        line("t1", 3, "-12.5", '=HYPERLINK("http://x")', counterparty="+44 20 7946", category="@SUM(A1)"),
        line("t2", 4, "1500", 'Salary, May "bonus"\nincluded', counterparty="-Employer"),
        line("t3", 5, "-3", "\tPending coffee", pending=True),
        line("t4", 6, "-9.99", "On a declined account", account_id=CLOSED),
    )
    export = request_transactions_export(world.later(), ASSIGNED, CUSTOMER, ExportFilter())
    world.run()
    rows = world.csv_of(export.export_id)
    assert rows[0] == list(TRANSACTION_COLUMNS)
    assert rows[1:] == [
        ["2026-05-04", ACCOUNT, "'=Current account", "1500.00", "GBP", "booked",
         "Salary, May \"bonus\"\nincluded", "'-Employer", "", "", "t2"],
        ["2026-05-03", ACCOUNT, "'=Current account", "-12.50", "GBP", "booked",
         "'=HYPERLINK(\"http://x\")", "'+44 20 7946", "", "'@SUM(A1)", "t1"],
    ]  # fmt: skip
    raw = world.fakes.files.text(FIRM, export.export_id)
    assert raw.count("\r\n") == 3 and '"Salary, May ""bonus""\nincluded"' in raw  # RFC 4180 quoting
    done = world.fakes.exports.get(FIRM, export.export_id)
    assert (done.status, done.line_count) == (ExportStatus.DONE, 2)
    completed = world.fakes.audit.log()[-1]
    assert (completed.action, completed.actor_id, completed.details) == (
        "export.completed", "assigned", {"kind": "transactions", "lines": 2},
    )  # fmt: skip


def test_pending_lines_one_account_and_a_date_range_on_request(world):
    world.lines(
        line("t1", 1, "-1"), line("t2", 2, "-2", pending=True), line("t3", 3, "-3"), line("t4", 9, "-4")
    )
    wanted = ExportFilter(date(2026, 5, 2), date(2026, 5, 3), ACCOUNT, include_pending=True)
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, wanted)
    world.run()
    assert [(row[0], row[5]) for row in world.csv_of(export.export_id)[1:]] == [
        ("2026-05-03", "booked"), ("2026-05-02", "pending"),
    ]  # fmt: skip


def test_an_empty_export_is_the_header_row_alone(world):
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    world.run()
    assert world.fakes.files.text(FIRM, export.export_id) == BOM + ",".join(TRANSACTION_COLUMNS) + "\r\n"
    assert world.fakes.exports.get(FIRM, export.export_id).line_count == 0


def test_a_redelivered_job_writes_one_object_and_completes_once(world):
    world.lines(line("t1", 1, "-1"))
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    world.run()
    world.run()  # SQS delivers at least once
    assert list(world.fakes.files.objects) == [(FIRM, export.export_id)]
    assert [e.action for e in world.fakes.audit.log()] == ["export.requested", "export.completed"]


def test_a_job_given_up_marks_the_export_failed(world):
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    export_given_up(world.later(), ExportJob(FIRM, export.export_id))
    failed = world.fakes.exports.get(FIRM, export.export_id)
    assert (failed.status, failed.error) == (ExportStatus.FAILED, "export_failed")


def test_a_failed_write_is_aborted_and_the_export_stays_queued_for_the_retry(world):
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    world.fakes.files.failing = True
    with pytest.raises(RuntimeError):
        world.run()
    assert world.fakes.files.aborted == 1
    assert world.fakes.exports.get(FIRM, export.export_id).status is ExportStatus.QUEUED


def test_text_cells_that_a_spreadsheet_would_run_get_a_leading_apostrophe():
    assert [safe_text(v) for v in ("=1+1", "+1", "-x", "@a", "\tx", "\rx", "a=b", "", None)] == [
        "'=1+1", "'+1", "'-x", "'@a", "'\tx", "'\rx", "a=b", "", "",
    ]  # fmt: skip


# the audit log -----------------------------------------------------------------------------------
def test_an_admin_exports_the_audit_log_of_a_range_and_one_customer(world):
    request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())  # an event today
    world.clock.at += timedelta(days=2)
    first = request_audit_export(world.later(), ADMIN, None, ExportFilter())
    only_today = request_audit_export(world.later(), ADMIN, CUSTOMER, ExportFilter(world.clock.at.date()))
    world.run()  # in order: the transactions export completes before the audit exports run
    every = world.csv_of(first.export_id)
    assert every[0] == list(AUDIT_COLUMNS)
    assert [(row[1], row[2]) for row in every[1:]] == [  # newest first
        ("owner", "export.completed"),
        ("admin", "export.requested"),
        ("admin", "export.requested"),
        ("owner", "export.requested"),
    ]
    assert every[-1][3:6] == ["export", every[-1][4], CUSTOMER]
    assert json.loads(every[-1][6]) == {"kind": "transactions"}
    today = world.csv_of(only_today.export_id)[1:]  # the customer's events from the third day on
    assert [(row[1], row[2], row[5]) for row in today] == [
        ("owner", "export.completed", CUSTOMER), ("admin", "export.requested", CUSTOMER),
    ]  # fmt: skip


# reading it back ---------------------------------------------------------------------------------
def test_the_requester_gets_a_short_lived_url_once_done_and_it_is_audited(world):
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    queued = view_export(world.later(), OWNER, export.export_id)
    assert (queued.status, queued.download_url) == (ExportStatus.QUEUED, None)
    world.run()
    done = view_export(world.later(), OWNER, export.export_id)
    assert done.status is ExportStatus.DONE and done.download_url
    assert world.fakes.files.urls == [(done.download_url, 15 * 60)]
    downloaded = world.fakes.audit.log()[-1]
    assert (downloaded.action, downloaded.actor_id, downloaded.details) == (
        "read.export", "owner", {"rows": 0, "kind": "transactions"},
    )  # fmt: skip
    assert view_export(world.later(), ADMIN, export.export_id).download_url  # an admin of the firm too
    world.clock.at += timedelta(days=1)
    assert view_export(world.later(), OWNER, export.export_id) == replace(
        done, status=ExportStatus.EXPIRED, download_url=None
    )


@pytest.mark.parametrize(
    "caller", [ASSIGNED, UNASSIGNED, OUTSIDER], ids=["colleague", "unassigned", "other firm"]
)
def test_nobody_but_the_requester_and_the_firms_admins_reads_an_export(world, caller):
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    with pytest.raises(NotFound):
        view_export(world.later(), caller, export.export_id)


def test_an_adviser_who_no_longer_sees_the_customer_no_longer_reads_the_export(world):
    export = request_transactions_export(world.later(), ASSIGNED, CUSTOMER, ExportFilter())
    customer = world.fakes.customers.rows[(FIRM, CUSTOMER)]
    world.fakes.customers.rows[(FIRM, CUSTOMER)] = replace(customer, assignee_ids=())
    with pytest.raises(NotFound):
        view_export(world.later(), ASSIGNED, export.export_id)


def test_an_admin_who_became_an_adviser_no_longer_reads_an_audit_export(world):
    export = request_audit_export(world.later(), ADMIN, None, ExportFilter())
    with pytest.raises(Forbidden):
        view_export(world.later(), staff("admin"), export.export_id)


# 100,000 lines -----------------------------------------------------------------------------------
def test_100000_lines_are_read_a_page_a_query_and_written_a_page_at_a_time(world, bar):
    total, page = 100_000, 1000
    world.fakes.files.part_bytes = 5 * 2**20  # S3's smallest part: the file takes two
    world.lines(
        *(line(f"t{n:06d}", 1 + n % 28, f"-{n % 1000}.{n % 100:02d}", f"Line {n}") for n in range(total))
    )
    export = request_transactions_export(world.later(), OWNER, CUSTOMER, ExportFilter())
    world.fakes.accounts.queries = 0
    world.run()
    files = world.fakes.files
    size = len(files.objects[(FIRM, export.export_id)])
    assert world.fakes.exports.get(FIRM, export.export_id).line_count == total
    assert world.fakes.accounts.queries == total // page  # one Query per page, none more
    assert len(files.chunks) == total // page  # one write per page: never the whole file
    assert max(files.chunks) * 50 < size  # a write is a page, about 1/100 of the file
    assert files.most_held < files.part_bytes + max(files.chunks)  # at most a part and a page held
    assert files.part_counts[(FIRM, export.export_id)] == -(-size // files.part_bytes)
    bar(
        "exports 100k",
        lines=total,
        queries=world.fakes.accounts.queries,
        writes=len(files.chunks),
        largest_write_kb=max(files.chunks) // 1024,
        file_mb=round(size / 2**20, 1),
        parts=files.part_counts[(FIRM, export.export_id)],
        most_held_mb=round(files.most_held / 2**20, 1),
    )
