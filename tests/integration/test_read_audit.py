"""Audited reads through the routes on moto (issue 17 item 2, R-PRIV-4): each staff read of a customer's
accounts, transactions, unassigned lines, file and export download writes one `read.<what>` event,
costing one Query (its chain's tip) and one PutItem on the audit table, and `GET /audit?kind=read&
customer_id=` answers "who looked at this customer's data?". Refused and invalid reads write none; a
read whose event cannot be written is a 503, not served. The rules are on fakes in
tests/unit/test_read_audit_rules.py; every route is covered in tests/reliability/test_audit_coverage.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.access_api import handler as access
from functions.export_worker import handler as worker
from functions.exports_api import handler as exports_api
from functions.invitations_api import handler as invitations
from shared.adapters.aws_clients import aws_client
from shared.adapters.dynamodb.audit_log import AuditLog
from tests.integration.onboarding_support import ADMIN, ADVISER, OTHER_ADVISER, call
from tests.integration.test_exports import LINES, UNASSIGNED, customer_id, request_export
from tests.integration.test_refresh_dashboard import pump

__all__ = ["customer_id"]

AUDIT_TABLE = "audit"


@pytest.fixture
def audit_calls() -> Iterator[Counter[str]]:
    """DynamoDB calls on the audit table, by operation name (counted with their parameters)."""
    calls: Counter[str] = Counter()

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == AUDIT_TABLE:
            calls[model.name] += 1

    events = aws_client("dynamodb").meta.events
    events.register("before-parameter-build.dynamodb", count)
    yield calls
    events.unregister("before-parameter-build.dynamodb", count)


def reads(customer_id: str) -> list[dict[str, Any]]:
    """The customer's read events, newest first, as the firm's admin lists them."""
    query = {"kind": "read", "customer_id": customer_id}
    status, page = call(invitations, "GET", "/audit", ADMIN, query=query)
    assert status == 200
    return list(page["items"])


def read_routes(customer_id: str, export_id: str) -> list[tuple[Any, str, dict[str, str], dict[str, str]]]:
    """(handler, route, path parameters, query) of every audited staff read of the customer."""
    of_customer = {"customer_id": customer_id}
    return [
        (invitations, "/customers/{customer_id}/accounts", of_customer, {}),
        (
            invitations,
            "/customers/{customer_id}/transactions",
            of_customer,
            {"account_id": "acct-1", "from": "2026-05-20"},
        ),
        (invitations, "/customers/{customer_id}/unassigned-lines", of_customer, {"limit": "10"}),
        (access, "/files/{file_id}", {"file_id": customer_id}, {}),
        (exports_api, "/exports/{export_id}", {"export_id": export_id}, {}),
    ]


def done_export(customer_id: str) -> str:
    status, queued = request_export(customer_id)
    assert status == 202
    assert len(pump("exports", worker)) == 1
    return str(queued["export_id"])


def test_each_staff_read_is_one_event_costing_one_query_and_one_put_and_the_firm_sees_who_read(
    customer_id, audit_calls
):
    export_id = done_export(customer_id)
    assert reads(customer_id) == []
    for handler, route, path, query in read_routes(customer_id, export_id):
        audit_calls.clear()
        status, _ = call(handler, "GET", route, ADVISER, path_parameters=path, query=query)
        assert status == 200, route
        assert dict(audit_calls) == {"Query": 1, "PutItem": 1}, route  # the chain's tip, the event

    found = reads(customer_id)
    assert [(e["action"], e["actor_id"], e["customer_id"]) for e in found] == [
        (f"read.{what}", ADVISER.sub, customer_id)
        for what in ("export", "file", "unassigned_lines", "transactions", "accounts")
    ]
    details = {e["action"]: e["details"] for e in found}
    booked_from_20th = sum(1 + n % 28 >= 20 for n in range(1, LINES))  # the fixture's lines (0: pending)
    assert details["read.transactions"] == {
        "rows": booked_from_20th,
        "account_id": "acct-1",
        "from": "2026-05-20",
    }
    assert details["read.accounts"] == {"rows": 1}
    assert details["read.unassigned_lines"]["rows"] == 10  # a page of the sparse index
    assert details["read.file"]["caller"] == "file_manager"
    assert details["read.export"] == {"rows": LINES - 1, "kind": "transactions"}
    assert {e["target_type"] for e in found} == {"customer", "file", "export"}


@pytest.mark.parametrize("who", [OTHER_ADVISER, UNASSIGNED], ids=["other firm", "adviser not assigned"])
def test_a_refused_read_is_the_404_of_a_missing_customer_and_writes_no_event(customer_id, who):
    export_id = done_export(customer_id)
    for handler, route, path, query in read_routes(customer_id, export_id):
        status, answer = call(handler, "GET", route, who, path_parameters=path, query=query)
        assert (status, answer["code"]) == (404, "not_found"), route
    assert reads(customer_id) == []


def test_bad_input_is_a_400_and_writes_no_event(customer_id):
    for query in ({"from": "yesterday"}, {"limit": "0"}, {"cursor": "not-a-cursor"}):
        status, answer = call(
            invitations,
            "GET",
            "/customers/{customer_id}/transactions",
            ADVISER,
            path_parameters={"customer_id": customer_id},
            query=query,
        )
        assert status == 400 and "items" not in answer, query
    assert reads(customer_id) == []


def test_a_read_whose_event_cannot_be_written_is_a_503_and_serves_nothing(customer_id, monkeypatch):
    export_id = done_export(customer_id)

    def refuse(self: AuditLog, event: Any) -> str:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")

    with monkeypatch.context() as patched:
        patched.setattr(AuditLog, "record", refuse)
        for handler, route, path, query in read_routes(customer_id, export_id):
            status, answer = call(handler, "GET", route, ADVISER, path_parameters=path, query=query)
            assert (status, answer["code"]) == (503, "audit_unavailable"), route
            assert set(answer) <= {"code", "message"}, route  # no data, no download link
    assert reads(customer_id) == []
