"""CSV exports over HTTP and SQS on moto (issue 16 item 8): request, the worker's pages and its
multipart object in the private bucket, the presigned download, redelivery, and the answers to
callers who may not export. The rules themselves are on fakes in tests/unit/test_export_rules.py."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from functions.export_worker import handler as worker
from functions.exports_api import handler as exports_api
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.export_files import S3ExportFiles, object_key
from shared.domain.accounts import BankTransaction
from shared.domain.exports import BOM, TRANSACTION_COLUMNS
from shared.domain.identity import StaffMembership, StaffRole
from shared.services.customers import offer_accounts
from tests.conftest import counting_aws_calls
from tests.integration.onboarding_support import (
    ADMIN,
    ADVISER,
    OTHER_ADVISER,
    Person,
    call,
    enrol_mfa,
    seed_firms,
    shared_account,
    take_first_imports,
)
from tests.integration.test_refresh_dashboard import pump

BUCKET = "export-files"
FIRM = DEMO_FIRM.firm_id
UNASSIGNED = Person("unassigned-adviser-sub", "unassigned@demo-advisory.example")
LINES, PAGE = 60, 25


@pytest.fixture
def customer_id(aws, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo adviser's customer with one accepted account of 60 lines (one pending, one whose
    description a spreadsheet would run), the worker reading 25 lines a Query."""
    from local.provision import create_queues

    queues = create_queues()
    monkeypatch.setenv("IMPORT_QUEUE_URL", queues["imports"].url)
    monkeypatch.setenv("EXPORT_QUEUE_URL", queues["exports"].url)
    bootstrap.reset()
    ports = replace(bootstrap.exports(), page_size=PAGE)
    monkeypatch.setattr(bootstrap, "exports", lambda: ports)
    seed_firms()
    bootstrap.identity_repository().put_membership(StaffMembership(FIRM, UNASSIGNED.sub, StaffRole.ADVISER))
    enrol_mfa(UNASSIGNED)
    status, created = call(
        invitations,
        "POST",
        "/customers/invitations",
        ADVISER,
        body={"name": "Jane", "email": "j@example.org"},
    )
    assert status == 201
    customer_id = str(created["customer_id"])
    assert offer_accounts(bootstrap.onboarding(), FIRM, customer_id, [shared_account(customer_id, 1)]) == 1
    on_account = {"customer_id": customer_id, "account_id": "acct-1"}
    path = "/customers/{customer_id}/accounts/{account_id}/accept"
    assert call(invitations, "POST", path, ADVISER, path_parameters=on_account)[0] == 200
    take_first_imports()
    lines = [
        BankTransaction(
            FIRM,
            customer_id,
            "acct-1",
            f"tx-{n:03d}",
            date(2026, 5, 1 + n % 28),
            Decimal(f"-{n}.5"),
            "GBP",
            "=cmd|' /C calc'!A0" if n == 7 else f"Card payment {n}",
            pending=n == 0,
        )
        for n in range(LINES)
    ]
    bootstrap.onboarding().accounts.write_transactions(FIRM, customer_id, lines)
    return customer_id


def request_export(customer_id: str, user: Any = ADVISER, **body: Any) -> tuple[int, Any]:
    return call(
        exports_api,
        "POST",
        "/customers/{customer_id}/exports",
        user,
        path_parameters={"customer_id": customer_id},
        body=body,
    )


def get_export(export_id: str, user: Any = ADVISER) -> tuple[int, Any]:
    return call(exports_api, "GET", "/exports/{export_id}", user, path_parameters={"export_id": export_id})


def stored_csv(export_id: str) -> str:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=object_key(FIRM, export_id))["Body"].read()
    return body.decode("utf-8")


def test_an_adviser_exports_a_customer_and_downloads_it_within_15_minutes(customer_id):
    status, queued = request_export(customer_id)
    assert status == 202 and queued["status"] == "queued" and queued["download_url"] is None
    with counting_aws_calls("dynamodb", "s3") as calls:
        assert len(pump("exports", worker)) == 1
    # the export, the accounts, ceil(60/25) pages, and the completion with its audit event (whose
    # chain's tip is one Query)
    assert (calls["GetItem"], calls["Query"], calls["TransactWriteItems"]) == (1, 1 + 3 + 1, 1)
    assert calls["PutObject"] == 1 and calls["CreateMultipartUpload"] == 0  # under one part: one request
    status, done = get_export(queued["export_id"])
    assert status == 200 and (done["status"], done["line_count"]) == ("done", LINES - 1)
    url = urlparse(done["download_url"])
    query = parse_qs(url.query)
    assert url.path.endswith(object_key(FIRM, queued["export_id"])) and query["X-Amz-Expires"] == ["900"]
    assert query["response-content-disposition"] == [
        f'attachment; filename="transactions-{done["export_id"]}.csv"'
    ]
    text = stored_csv(done["export_id"])
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows[0] == list(TRANSACTION_COLUMNS) and len(rows) == LINES  # the pending line left out
    newest = ["2026-05-28", "acct-1", "Current account 1", "-55.50", "GBP", "booked", "Card payment 55"]
    assert rows[1][:7] == newest and rows[1][10] == "tx-055"
    assert sum(row[6] == "'=cmd|' /C calc'!A0" for row in rows) == 1  # neutralised, not dropped
    actions = [e.action for e in bootstrap.audit_log().page(FIRM, customer_id=customer_id)[0]]
    assert actions[:3] == ["read.export", "export.completed", "export.requested"]


def test_a_redelivered_job_leaves_one_object_and_one_completion(customer_id):
    _, queued = request_export(customer_id, include_pending=True)
    sqs = boto3.client("sqs")
    body = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="exports")["QueueUrl"])["Messages"][0][
        "Body"
    ]
    for _ in range(2):  # SQS delivers at least once
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="exports")["QueueUrl"], MessageBody=body)
    pump("exports", worker)
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    events = bootstrap.audit_log().page(FIRM, customer_id=customer_id)[0]
    assert [e.action for e in events].count("export.completed") == 1
    assert get_export(queued["export_id"])[1]["line_count"] == LINES


def test_an_export_with_no_line_is_the_header_alone(customer_id):
    _, queued = request_export(customer_id, **{"from": "2027-01-01"})
    pump("exports", worker)
    assert stored_csv(queued["export_id"]) == BOM + ",".join(TRANSACTION_COLUMNS) + "\r\n"
    assert get_export(queued["export_id"])[1]["line_count"] == 0


@pytest.mark.parametrize(
    "user, body, expected",
    [
        (OTHER_ADVISER, {}, (404, "not_found")),  # another firm's customer: as if it did not exist
        (UNASSIGNED, {}, (404, "not_found")),  # an adviser not assigned to the customer (R-ROLE-2)
        (ADVISER, {"account_id": "acct-9"}, (404, "not_found")),
        (ADVISER, {"from": "2026-05-02", "to": "2026-05-01"}, (400, "invalid_date_range")),
        (ADVISER, {"from": "yesterday"}, (400, "invalid_request")),
        (ADVISER, {"status": "done"}, (400, "invalid_request")),  # nobody sets a status through a body
    ],
    ids=[
        "other firm",
        "unassigned adviser",
        "unknown account",
        "range backwards",
        "not a date",
        "extra field",
    ],
)
def test_callers_and_bodies_that_may_not_export(customer_id, user, body, expected):
    status, answer = request_export(customer_id, user, **body)
    assert (status, answer["code"]) == expected
    assert (
        boto3.client("sqs").get_queue_attributes(
            QueueUrl=boto3.client("sqs").get_queue_url(QueueName="exports")["QueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_the_audit_log_is_exported_by_admins_only_and_read_by_its_requester_or_admins(customer_id):
    status, refused = call(exports_api, "POST", "/audit/exports", ADVISER, body={})
    assert (status, refused["code"]) == (403, "forbidden")
    status, queued = call(exports_api, "POST", "/audit/exports", ADMIN, body={"customer_id": customer_id})
    assert status == 202
    pump("exports", worker)
    assert get_export(queued["export_id"], ADVISER)[0] == 404  # not theirs
    assert get_export(queued["export_id"], OTHER_ADVISER)[0] == 404  # another firm's admin
    _, done = get_export(queued["export_id"], ADMIN)
    rows = list(csv.reader(io.StringIO(stored_csv(done["export_id"])[1:], newline="")))
    assert done["line_count"] == len(rows) - 1 >= 3  # invited, account offered/accepted, export requested
    assert {row[5] for row in rows[1:]} == {customer_id}
    assert rows[1][2] == "export.requested"  # newest first


def test_the_multipart_writer_holds_one_part_and_leaves_nothing_when_aborted(aws):
    files = S3ExportFiles(BUCKET, part_bytes=5 * 2**20)
    chunk = b"x" * (2**20)
    with counting_aws_calls("s3") as calls:
        writer = files.writer(FIRM, "01JEXPORTMULTIPART00000000")
        for _ in range(11):
            writer.write(chunk)
        writer.complete()
    assert (calls["CreateMultipartUpload"], calls["UploadPart"], calls["CompleteMultipartUpload"]) == (
        1,
        3,
        1,
    )
    s3 = boto3.client("s3")
    assert (
        s3.head_object(Bucket=BUCKET, Key=object_key(FIRM, "01JEXPORTMULTIPART00000000"))["ContentLength"]
        == 11 * 2**20
    )
    aborted = files.writer(FIRM, "01JEXPORTABORTED0000000000")
    for _ in range(6):
        aborted.write(chunk)
    aborted.abort()
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert (
        s3.list_objects_v2(Bucket=BUCKET, Prefix=object_key(FIRM, "01JEXPORTABORTED0000000000"))["KeyCount"]
        == 0
    )


def test_a_message_that_names_no_export_is_parked_at_once_with_its_reason(customer_id):
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName="exports")["QueueUrl"], MessageBody='{"firm_id": " "}'
    )
    pump("exports", worker)
    url = sqs.get_queue_url(QueueName="exports-dlq")["QueueUrl"]
    (parked,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert (
        parked["MessageAttributes"]["failure_reason"]["StringValue"] == "poison: not an export job (KeyError)"
    )


# the fakes the rules run on answer as the adapters do (tests/export_fakes.py, tests/fakes.py) ---
def _audit_stores() -> list[Any]:
    from tests.fakes import FakeAudit

    return [FakeAudit(), bootstrap.audit_log()]


@pytest.mark.parametrize("store", [0, 1], ids=["fake", "dynamodb"])
def test_the_audit_log_between_two_days_is_a_key_range_of_whole_utc_days(aws, store):
    from datetime import UTC, datetime

    from shared.domain.audit import AuditEvent

    audit = _audit_stores()[store]
    instants = [
        "2026-05-01T23:59:59.999",
        "2026-05-02T00:00:00",
        "2026-05-03T23:59:59.999",
        "2026-05-04T00:00:00",
    ]
    for n, instant in enumerate(instants):
        at = datetime.fromisoformat(instant).replace(tzinfo=UTC)
        audit.record(
            AuditEvent(FIRM, "admin", f"event.{n}", "export", f"e{n}", {}, at, "cust" if n else None)
        )
    every = [
        e.action for e in audit.page(FIRM, date_from=date(2026, 5, 2), date_to=date(2026, 5, 3), limit=1)[0]
    ]
    assert every == ["event.2"]  # newest first, one a page
    cursor, seen = None, []
    while True:
        events, cursor = audit.page(
            FIRM, date_from=date(2026, 5, 2), date_to=date(2026, 5, 3), cursor=cursor, limit=1
        )
        seen += [e.action for e in events]
        if cursor is None:
            break
    assert seen == ["event.2", "event.1"]
    assert [e.action for e in audit.page(FIRM, customer_id="cust", date_to=date(2026, 5, 2))[0]] == [
        "event.1"
    ]
    assert [e.action for e in audit.page(FIRM, date_from=date(2026, 5, 4))[0]] == ["event.3"]


@pytest.mark.parametrize("store", [0, 1], ids=["fake", "dynamodb"])
def test_transaction_pages_are_newest_first_with_a_cursor_as_the_table_gives_them(aws, store):
    from tests.fakes import FakeAccounts

    accounts = [FakeAccounts(), bootstrap.onboarding().accounts][store]
    lines = [
        BankTransaction(
            FIRM, "cust", f"acct-{n % 2}", f"tx-{n}", date(2026, 5, 1 + n), Decimal(n), "GBP", "x"
        )
        for n in range(5)
    ]
    accounts.write_transactions(FIRM, "cust", lines)
    read: list[str] = []
    cursor = None
    while True:
        page = accounts.list_transactions(
            FIRM, "cust", account_id=None, date_from=date(2026, 5, 2), date_to=None, cursor=cursor, limit=2
        )
        read += [line.transaction_key for line in page.transactions]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert read == ["tx-4", "tx-3", "tx-2", "tx-1"]
    one = accounts.list_transactions(
        FIRM, "cust", account_id="acct-0", date_from=None, date_to=None, cursor=None, limit=10
    )
    assert [line.transaction_key for line in one.transactions] == ["tx-4", "tx-2", "tx-0"]


def test_an_idempotency_key_never_crosses_firms(customer_id):
    """Review of issue 16: the admin of two firms who reuses a key in the other firm gets that
    firm's own export, not the first firm's."""
    from tests.integration.onboarding_support import OTHER_FIRM

    bootstrap.identity_repository().put_membership(
        StaffMembership(OTHER_FIRM.firm_id, ADMIN.sub, StaffRole.ADMIN)
    )
    key = {"idempotency-key": "audit-export-1"}
    firms = [DEMO_FIRM.firm_id, OTHER_FIRM.firm_id]
    answers = [
        call(exports_api, "POST", "/audit/exports", ADMIN, body={}, headers={**key, "x-firm-id": firm})
        for firm in firms
    ]
    assert [status for status, _ in answers] == [202, 202]
    first, second = (body["export_id"] for _, body in answers)
    assert first != second
    again = call(
        exports_api, "POST", "/audit/exports", ADMIN, body={}, headers={**key, "x-firm-id": firms[1]}
    )
    assert again == (202, answers[1][1])  # a replay in the same firm answers that firm's export
    for firm, export_id in zip(firms, (first, second), strict=True):
        status, _ = call(exports_api, "GET", f"/exports/{export_id}", ADMIN, headers={"x-firm-id": firm})
        assert status == 200
