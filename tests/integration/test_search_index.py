"""The search index on moto (issue 16 item 3; keys.py #55-#57): a name or email typed in the customer
list (`GET /customers?q=`) or the Data Refresh dashboard (`q`, `contact`) is found on the first page
through its token entries, which follow every write of the rows they index (creation, assignment and
unassignment, transfer, rename, section change, revocation) in the same transaction: after each step
the entries stored are exactly those the rows call for. Another firm's and another adviser's rows
never appear. The tokens themselves are unit-tested (tests/unit/test_search_tokens.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest

from functions.invitations_api import handler as invitations
from functions.refresh_api import handler as refresh_api
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.search_index import Indexed
from shared.services.engagement_rows import sync_engagement
from tests.integration.onboarding_support import ADMIN, ADVISER, OTHER_ADVISER, OTHER_FIRM, call
from tests.integration.staff_support import staff_directory
from tests.integration.test_refresh_dashboard import (
    dashboard,
    fanout_worker,
    job,
    pump,
    refresh_system,
    seed_engagement,
)
from tests.integration.test_staff import NEWCOMER, assignee, firm, on_customer

__all__ = ["firm", "refresh_system", "staff_directory"]

STAFF = (ADMIN, ADVISER, NEWCOMER)


def listed(user: Any, q: str, section: str = "invited") -> list[str]:
    """The customer list's search, page after page of 2: the ids in the order served."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {"section": section, "q": q, "limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = call(invitations, "GET", "/customers", user, query=query)
        assert status == 200, page
        ids += [row["customer_id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def found(user: Any, **query: str) -> list[str]:
    return [row["engagement_id"] for row in dashboard(user, **query)]


def stored_entries(customer_id: str, firm_id: str = DEMO_FIRM.firm_id) -> dict[str, set[tuple[str, str]]]:
    """The search entries of one customer in every scope partition of both indexes, as stored."""
    table = boto3.client("dynamodb")
    stored: dict[str, set[tuple[str, str]]] = {"customers": set(), "dashboard": set()}
    for name, partition in (("customers", keys.customer_find_pk), ("dashboard", keys.refresh_find_pk)):
        for scope in (None, *(person.sub for person in STAFF)):
            items = table.query(
                TableName="data",
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": partition(firm_id, scope)}},
                ConsistentRead=True,
            )["Items"]
            stored[name] |= {
                (scope or "firm", keys.find_entry_token(item["SK"]["S"]))
                for item in items
                if item["customer_id"]["S"] == customer_id
            }
    return stored


def expected_entries(customer_id: str) -> dict[str, set[tuple[str, str]]]:
    """What the index must hold for the customer and its engagement as they are stored now."""
    customer = bootstrap.onboarding().customers.get(DEMO_FIRM.firm_id, customer_id)
    engagement = bootstrap.engagement_index().rows.get_engagement(DEMO_FIRM.firm_id, customer_id)

    def labelled(indexed: Indexed | None) -> set[tuple[str, str]]:
        return {(scope or "firm", token) for scope, token in indexed.entries()} if indexed else set()

    assert customer is not None
    on_list = Indexed.of(customer.name, customer.email, customer.staff_ids) if customer.section else None
    shown = (
        Indexed.of(engagement.customer_name, engagement.contact_email, engagement.staff_ids)
        if engagement
        else None
    )
    return {"customers": labelled(on_list), "dashboard": labelled(shown)}


def in_step(customer_id: str) -> None:
    assert stored_entries(customer_id) == expected_entries(customer_id)


def test_the_index_follows_every_write_of_a_customer_and_its_engagement(firm, refresh_system):
    clock = refresh_system.clock
    zoe = seed_engagement(clock, "Zoë Ågård-Lind", owner=ADVISER.sub)
    in_step(zoe)
    assert stored_entries(zoe)["dashboard"] >= {("firm", "zoe agard lind"), (ADVISER.sub, "lind")}
    for user in (ADMIN, ADVISER):
        assert listed(user, "ZOE ÅG") == [zoe]  # case and accents folded, either side
        assert listed(user, "zoë-ågård-lind@EX") == [zoe]  # the email, whole
        assert found(user, q="lind") == [zoe] and found(user, contact="zoe-agard") == [zoe]
    assert listed(NEWCOMER, "zoe") == [] and found(NEWCOMER, q="zoe") == []

    assert assignee("PUT", ADMIN, zoe, NEWCOMER.sub)[0] == 200
    in_step(zoe)
    assert listed(NEWCOMER, "agard") == [zoe] and found(NEWCOMER, q="agard") == [zoe]
    assert assignee("DELETE", ADMIN, zoe, NEWCOMER.sub)[0] == 200
    in_step(zoe)
    assert listed(NEWCOMER, "agard") == [] and found(NEWCOMER, q="agard") == []
    assert not stored_entries(zoe)["customers"] & {(NEWCOMER.sub, t) for t in ("zoe agard lind", "lind")}

    status, _ = on_customer("POST", "/transfer", ADMIN, zoe, body={"owner_id": NEWCOMER.sub})
    assert status == 200
    in_step(zoe)
    assert listed(ADVISER, "zoe") == [] and found(ADVISER, contact="zoe") == []
    assert listed(NEWCOMER, "zoe") == [zoe] and found(NEWCOMER, contact="zoe") == [zoe]

    # A rename (no route yet; the repository's save is the one write path) moves the tokens.
    customers = bootstrap.onboarding().customers
    before = customers.get(DEMO_FIRM.firm_id, zoe)
    assert before is not None
    renamed = customers.save(replace(before, name="Zoe Berg", email="zb@example.org"), before)
    sync_engagement(bootstrap.engagement_index(), DEMO_FIRM.firm_id, zoe)
    in_step(zoe)
    assert listed(ADMIN, "lind") == [] and found(ADMIN, q="lind") == []
    assert listed(ADMIN, "berg") == [zoe] and found(NEWCOMER, q="berg") == [zoe]

    # A section change: the entries stay, the list of the new section finds it, the old one not.
    customers.save(replace(renamed, accepted_accounts=1), renamed)
    in_step(zoe)
    assert listed(ADMIN, "berg", "invited") == [] and listed(ADMIN, "berg", "customers") == [zoe]


def test_a_revoked_customer_leaves_the_index_and_a_new_invitation_brings_it_back(firm, refresh_system):
    person = {"name": "Ørjan Østby", "email": "orjan@example.org"}
    status, invited = call(invitations, "POST", "/customers/invitations", ADVISER, body=person)
    assert status == 201, invited
    customer_id = invited["customer_id"]
    in_step(customer_id)
    assert listed(ADVISER, "orjan") == [customer_id]
    assert on_customer("POST", "/invitation/revoke", ADVISER, customer_id)[0] == 200
    assert stored_entries(customer_id) == {"customers": set(), "dashboard": set()}
    assert listed(ADVISER, "orjan") == [] and listed(ADMIN, "ostby") == []
    assert call(invitations, "POST", "/customers/invitations", ADVISER, body=person)[0] == 200
    in_step(customer_id)
    assert listed(ADMIN, "ostby") == [customer_id]


def test_another_firms_and_another_advisers_rows_never_appear(firm, refresh_system):
    clock = refresh_system.clock
    advisers = seed_engagement(clock, "Martin Twin", owner=ADVISER.sub)
    admins = seed_engagement(clock, "Martin Twin Admin")
    elsewhere = seed_engagement(clock, "Martin Twin", firm_id=OTHER_FIRM.firm_id, owner=OTHER_ADVISER.sub)
    assert set(found(ADMIN, q="martin tw")) == {advisers, admins}
    assert found(ADVISER, q="martin tw") == [advisers]
    assert found(ADVISER, contact="martin-twin-admin@") == []  # the admin's customer, not visible
    assert found(OTHER_ADVISER, q="martin tw") == [elsewhere]
    assert set(listed(ADMIN, "martin")) == {advisers, admins} and listed(OTHER_ADVISER, "martin") == [
        elsewhere
    ]
    assert listed(ADVISER, "martin") == [advisers]
    # An admin filtering by owner reads that owner's entries.
    assert found(ADMIN, q="martin", owner_id=ADVISER.sub) == [advisers]


def test_pages_list_each_match_once_in_the_order_of_what_matched(firm, refresh_system):
    clock = refresh_system.clock
    names = ["Paula Nash", "Paul Adams", "Pauline Roy", "Bob Paulson", "Ann Lee"]
    made = {name: seed_engagement(clock, name) for name in names}
    # "Paul Adams" matches by its name and its email ("paul-adams@..."): listed once, at "paul adams".
    expected = [made[n] for n in ("Paul Adams", "Paula Nash", "Pauline Roy", "Bob Paulson")]
    assert listed(ADMIN, "paul") == expected  # pages of 2: no duplicate, nothing lost
    assert found(ADMIN, q="paul") == expected
    assert found(ADMIN, q="paul", contact="nash") == [made["Paula Nash"]]
    status, page = call(
        refresh_api, "GET", "/data-refresh/engagements", ADMIN, query={"q": "paul", "limit": "25"}
    )
    assert status == 200 and page["next_cursor"] is None and len(page["items"]) == 4

    # A cursor of another search (or a forged one) is refused, not followed.
    first = call(
        invitations, "GET", "/customers", ADMIN, query={"section": "invited", "q": "paul", "limit": "1"}
    )
    cursor = first[1]["next_cursor"]
    refused = call(
        invitations, "GET", "/customers", ADMIN, query={"section": "invited", "q": "ann", "cursor": cursor}
    )
    assert (refused[0], refused[1]["code"]) == (400, "invalid_cursor")

    # "All matching" with a search refreshes exactly the matches.
    status, accepted = call(
        refresh_api, "POST", "/data-refresh/jobs", ADMIN, body={"all_matching": {"q": "paul"}}
    )
    assert status == 202, accepted
    pump("refresh", fanout_worker)
    assert job(ADMIN, accepted["job_id"])["counts"]["total"] == 4


@pytest.mark.parametrize(
    ("handler", "route", "query"),
    [
        (invitations, "/customers", {"section": "invited", "q": "ab"}),
        (refresh_api, "/data-refresh/engagements", {"q": " a- "}),
        (refresh_api, "/data-refresh/engagements", {"contact": "é."}),
    ],
)
def test_a_search_under_three_letters_is_refused(refresh_system, handler, route, query):
    status, body = call(handler, "GET", route, ADMIN, query=query)
    assert (status, body["code"]) == (400, "query_too_short")


def test_a_short_search_in_all_matching_is_refused_before_any_job_exists(refresh_system):
    status, body = call(refresh_api, "POST", "/data-refresh/jobs", ADMIN, body={"all_matching": {"q": "pa"}})
    assert (status, body["code"]) == (400, "query_too_short")
    assert call(invitations, "GET", "/customers", ADMIN, query={"section": "invited", "q": "  "})[0] == 200
