"""Ending a relationship on moto (issue 17, R-PRIV-2): whatever the customer's size, the end is one
small transaction (the marker and its audit event), then the rest is removed in batches that a retry
finishes; the admins' list of ended relationships (keys.py #110, #111).

The customer here has seven advisers assigned, a Data Refresh engagement and a long name and email:
ending it removes more than 100 items (rows, search entries, counters), more than one
TransactWriteItems may hold. The rules are tested on fakes in tests/unit/test_lifecycle_rules.py."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client
from shared.adapters.dynamodb.customers_repository import CustomersRepository
from shared.adapters.dynamodb.engagement_rows_repository import EngagementRowsRepository
from shared.domain.identity import CustomerLink
from shared.settings import get_settings
from tests.integration.onboarding_support import ADMIN, ADVISER, call
from tests.integration.test_refresh_dashboard import refresh_system, seed_engagement

__all__ = ["refresh_system"]

ADVISERS = tuple(f"adviser-{n}-sub" for n in range(7))
NAME = "Jane Alexandra Doe-Smith"
END = "/customers/{customer_id}/end-relationship"


def items() -> list[dict[str, Any]]:
    """Every item of the data table (a Scan: the test's view, never the code's)."""
    client = boto3.client("dynamodb")
    pages = client.get_paginator("scan").paginate(TableName=get_settings().data_table_name)
    return [item for page in pages for item in page["Items"]]


def customer_items(customer_id: str) -> list[str]:
    """The keys of what a relationship's end must remove: the customer's visibility rows (#13), search
    entries (#55, #56) and Data Refresh rows (#37), and the person's link (#6)."""
    collection = keys.customer_collection_pk(DEMO_FIRM.firm_id, customer_id)
    found = []
    for item in items():
        pk, sk = item["PK"]["S"], item["SK"]["S"]
        rows = pk == collection and sk.startswith((keys.VISIBILITY_PREFIX, keys.REFRESH_ROW_PREFIX))
        entry = item.get("type", {}).get("S") == "find_entry" and item["customer_id"]["S"] == customer_id
        link = sk == keys.customer_link_sk(DEMO_FIRM.firm_id, customer_id)
        if rows or entry or link:
            found.append(f"{pk} {sk}")
    return found


def counters() -> dict[str, dict[str, int]]:
    """The firm's and each adviser's section counters (#14), non-zero figures only."""
    found = {}
    for item in items():
        if item["PK"]["S"] == keys.firm_pk(DEMO_FIRM.firm_id) and item["SK"]["S"].startswith("COUNTS#"):
            figures = {k: int(v["N"]) for k, v in item.items() if "N" in v and int(v["N"])}
            found[item["SK"]["S"]] = figures
    return found


def assert_nothing_left(customer_id: str) -> None:
    """Nothing the end removes is left; the advisers' counters are back to 0, the firm counts it ended."""
    assert customer_items(customer_id) == []
    left = counters()
    assert all(left.get(keys.counts_sk(sub), {}) == {} for sub in (ADVISER.sub, *ADVISERS)), left
    assert left[keys.counts_sk(None)] == {"ended": 1}


@pytest.fixture
def big_customer(aws: Any, refresh_system: Any) -> str:
    customer_id = seed_engagement(refresh_system.clock, NAME, owner=ADVISER.sub, assignees=ADVISERS)
    customer = bootstrap.onboarding().customers.get(DEMO_FIRM.firm_id, customer_id)
    assert customer is not None and customer.user_id
    bootstrap.identity_repository().put_customer_link(
        customer.user_id, CustomerLink(DEMO_FIRM.firm_id, customer_id)
    )
    return customer_id


def test_a_customer_with_more_than_100_items_ends_and_nothing_is_left_that_should_go(
    big_customer, monkeypatch, bar
):
    customer_id = big_customer
    before = customer_items(customer_id)
    assert len(before) + len(ADVISERS) + 2 > 100, len(before)  # + the advisers' and the firm's counters
    assert counters()[keys.counts_sk(ADVISERS[0])] == {"invited": 1}
    client = dynamodb_client()
    transactions: list[int] = []  # items per TransactWriteItems
    batches: list[int] = []  # requests per BatchWriteItem
    send, batch = client.transact_write_items, client.batch_write_item
    monkeypatch.setattr(
        client,
        "transact_write_items",
        lambda **kw: transactions.append(len(kw["TransactItems"])) or send(**kw),
    )
    monkeypatch.setattr(
        client,
        "batch_write_item",
        lambda **kw: batches.append(sum(map(len, kw["RequestItems"].values()))) or batch(**kw),
    )

    status, ended = call(connections_api, "POST", END, ADMIN, path_parameters={"customer_id": customer_id})

    assert status == 200, ended
    bar(
        "relationship end",
        items_removed=len(before) + len(ADVISERS) + 2,
        marker_items=transactions[0],
        transactions=len(transactions),
        largest_transaction=max(transactions),
        batch_writes=len(batches),
    )
    assert transactions[0] <= 3, transactions  # the marker: the customer, the firm's counter, the event
    assert max(transactions) <= 100, transactions
    assert_nothing_left(customer_id)
    status, page = call(invitations, "GET", "/customers", ADMIN, query={"section": "ended"})
    assert status == 200, page
    [row] = page["items"]
    assert (row["customer_id"], row["section"], row["ended_by"]) == (customer_id, "ended", "firm")
    assert row["ended_at"] and row["erasure_due"] == "2032-06-17"
    assert page["counts"] == {"invited": 0, "pending": 0, "customers": 0, "ended": 1}
    status, refused = call(invitations, "GET", "/customers", ADVISER, query={"section": "ended"})
    assert (status, refused["code"]) == (403, "forbidden")
    status, theirs = call(invitations, "GET", "/customers", ADVISER, query={"section": "invited"})
    assert (theirs["items"], theirs["counts"]["ended"]) == ([], None)


@pytest.mark.parametrize(
    ("crash_in", "retry_by"),
    [(CustomersRepository, "admin"), (EngagementRowsRepository, "customer")],
    ids=["rows-then-admin-retries", "refresh-rows-then-customer-retries-leave"],
)
def test_a_crash_after_the_marker_is_finished_by_the_retry(big_customer, monkeypatch, crash_in, retry_by):
    customer_id = big_customer
    method = "clear_rows" if crash_in is CustomersRepository else "remove_rows"
    original = getattr(crash_in, method)

    def crash(self: Any, *args: Any) -> None:
        raise RuntimeError("the function stopped here")

    monkeypatch.setattr(crash_in, method, crash)
    on_customer = {"customer_id": customer_id}
    status, _ = call(connections_api, "POST", END, ADMIN, path_parameters=on_customer)
    assert status == 500
    customer = bootstrap.onboarding().customers.get(DEMO_FIRM.firm_id, customer_id)
    assert customer is not None and customer.relationship_ended  # the marker: the point of no return
    assert customer_items(customer_id), "the crash left nothing to finish: the test proves nothing"

    monkeypatch.setattr(crash_in, method, original)
    if retry_by == "admin":
        status, again = call(connections_api, "POST", END, ADMIN, path_parameters=on_customer)
    else:  # the person's link is removed last: their leave still finds the record it has to finish
        person = type("Person", (), {"sub": customer.user_id, "email": customer.email})()
        firm = {"firm_id": DEMO_FIRM.firm_id}
        status, again = call(
            connections_api, "POST", "/me/firms/{firm_id}/leave", person, path_parameters=firm, body={}
        )
    assert (status, again["code"]) == (409, "relationship_ended")
    assert_nothing_left(customer_id)
    status, log = call(invitations, "GET", "/audit", ADMIN, query={"kind": "relationship"})
    assert status == 200, log
    ends = [e for e in log["items"] if e["action"] == "relationship.ended"]
    assert len(ends) == 1  # the retry finished the job, it did not end it again
