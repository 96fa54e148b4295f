"""Data Refresh follow-up on moto (issue 16 item 6): the EULA's text, owner names on the dashboard,
the case-insensitive package filter and the packages in use (R-REF-2, R-REF-5, R-ROLE-2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.invitations_api import handler as invitations_api
from functions.refresh_api import handler as refresh_api
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.services.engagement_rows import record_upload
from tests.integration.onboarding_support import ADMIN, ADVISER, INVITEE, OTHER_ADVISER, call
from tests.integration.test_refresh_dashboard import (
    CURRENT_EULA,
    dashboard,
    ids_of,
    refresh_system,
    seed_engagement,
)

__all__ = ["refresh_system"]

MIXED = ("DemoBank_MIXED01", "Démo  BANK of Straße")  # id and name in mixed case, spaces, ß


def packages(user: Any) -> list[dict]:
    status, body = call(refresh_api, "GET", "/data-refresh/packages", user)
    assert status == 200, body
    return body["items"]


def in_use(user: Any) -> dict[tuple[str, str], int]:
    return {(p["kind"], p["value"]): p["engagements"] for p in packages(user)}


# GET /eula ------------------------------------------------------------------------------------
def test_the_current_eula_is_read_with_its_text_and_whether_the_caller_accepted_it(refresh_system):
    status, before = call(refresh_api, "GET", "/eula", INVITEE)
    assert status == 200, before
    assert (before["version"], before["accepted"]) == (CURRENT_EULA, False)
    assert before["text"].startswith("# Data Refresh") and f"version {CURRENT_EULA}" in before["text"]
    assert call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": before["version"]})[0] == 200
    after = call(refresh_api, "GET", "/eula", INVITEE)[1]
    assert after == {**before, "accepted": True}
    assert call(refresh_api, "GET", "/eula", ADMIN)[1]["accepted"] is False  # per person
    assert call(refresh_api, "GET", "/eula")[0] == 401


# owner names ----------------------------------------------------------------------------------
def test_rows_show_the_owner_and_assignee_names_from_one_batch_read_per_page(refresh_system, monkeypatch):
    clock = refresh_system.clock
    for n in range(5):
        seed_engagement(clock, f"Owned {n}", owner=ADVISER.sub, assignees=(ADMIN.sub,))
    seed_engagement(clock, "Gone owner", owner="someone-without-profile")
    identities = bootstrap.identity_repository()
    batches: list[set[str]] = []
    read_profiles = identities.get_profiles

    def spy(user_ids):
        batches.append(set(user_ids))
        return read_profiles(user_ids)

    monkeypatch.setattr(identities, "get_profiles", spy)
    monkeypatch.setattr(identities, "get_profile", lambda *_: pytest.fail("one read per row"))
    rows = dashboard(ADMIN)  # pages of 2
    assert len(rows) == 6 and len(batches) == 3  # one batch read per page
    by_name = {row["customer_name"]: row for row in rows}
    owned = by_name["Owned 0"]
    assert (owned["owner_id"], owned["owner_name"]) == (ADVISER.sub, "Arthur Adviser")
    assert owned["assignees"] == [{"user_id": ADMIN.sub, "name": "Alice Admin"}]
    gone = by_name["Gone owner"]
    assert (gone["owner_name"], gone["assignees"]) == (None, [])


# package: case-insensitive, and the values in use ----------------------------------------------
@pytest.mark.parametrize(
    "typed",
    [
        "GoCardless",
        "GOCARDLESS",
        "demobank_mixed01",
        "DEMOBANK_MIXED01",
        "démo bank of strasse",
        " DÉMO BANK  OF STRASSE ",
    ],
)
def test_package_matches_whatever_the_case_stored_or_typed(refresh_system, typed):
    clock = refresh_system.clock
    wanted = seed_engagement(clock, "Mixed", institution=MIXED)
    seed_engagement(clock, "Other", provider="plaid", institution=("ins_109508", "First Platypus Bank"))
    assert ids_of(dashboard(ADMIN, package=typed)) == {wanted}


def test_a_row_stores_its_packages_by_package_key(refresh_system):
    customer_id = seed_engagement(refresh_system.clock, "Stored", institution=MIXED)
    item = boto3.client("dynamodb").get_item(
        TableName="data",
        Key={
            "PK": {"S": keys.customer_collection_pk(DEMO_FIRM.firm_id, customer_id)},
            "SK": {"S": keys.refresh_row_sk(None)},
        },
    )["Item"]
    stored = {value["S"] for value in item["packages"]["L"]}
    assert stored == {"gocardless", "demobank_mixed01", "démo bank of strasse"}


def test_the_packages_in_use_follow_the_rows_per_scope(refresh_system):
    clock = refresh_system.clock
    first = seed_engagement(clock, "First", owner=ADMIN.sub, institution=MIXED)
    seed_engagement(clock, "Second", owner=ADMIN.sub, institution=MIXED)
    seed_engagement(clock, "Third", owner=ADVISER.sub, provider="plaid", institution=("ins_1", "Platypus"))
    assert in_use(ADMIN) == {
        ("provider", "gocardless"): 2,
        ("provider", "plaid"): 1,
        ("institution", MIXED[0]): 2,
        ("institution", "ins_1"): 1,
    }
    assert in_use(ADVISER) == {("provider", "plaid"): 1, ("institution", "ins_1"): 1}  # their own only
    shown = {p["value"]: p["name"] for p in packages(ADMIN)}
    assert shown[MIXED[0]] == MIXED[1]  # as the connector gives it
    assert in_use(OTHER_ADVISER) == {}  # another firm's
    # assigning the adviser to "First" adds its packages to their scope, unassigning removes them
    on = {"customer_id": first, "user_id": ADVISER.sub}
    route = "/customers/{customer_id}/assignees/{user_id}"
    assert call(invitations_api, "PUT", route, ADMIN, path_parameters=on)[0] == 200
    assert in_use(ADVISER) == {
        ("provider", "plaid"): 1,
        ("institution", "ins_1"): 1,
        ("provider", "gocardless"): 1,
        ("institution", MIXED[0]): 1,
    }
    assert call(invitations_api, "DELETE", route, ADMIN, path_parameters=on)[0] in (200, 204)
    assert in_use(ADVISER) == {("provider", "plaid"): 1, ("institution", "ins_1"): 1}
    assert in_use(ADMIN)[("provider", "gocardless")] == 2  # the firm's scope did not move
    # the values the adviser's scope no longer uses left its item when it was listed (it holds what
    # is in use, not every bank ever seen)
    stored = boto3.client("dynamodb").get_item(
        TableName="data",
        Key={
            "PK": {"S": keys.firm_pk(DEMO_FIRM.firm_id)},
            "SK": {"S": keys.refresh_packages_sk(ADVISER.sub)},
        },
    )["Item"]
    counted = sorted(
        name for name in stored if name.startswith((keys.PACKAGE_COUNT_PREFIX, keys.PACKAGE_SHOWN_PREFIX))
    )
    assert len(counted) == 4 and not any("gocardless" in name for name in counted), counted


def test_rows_written_before_the_counts_are_counted_once_at_their_next_write(refresh_system):
    clock = refresh_system.clock
    customer_id = seed_engagement(clock, "Legacy", institution=MIXED)
    dynamodb = boto3.client("dynamodb")
    # as the rows were before issue 16: no marker, no counts
    dynamodb.update_item(
        TableName="data",
        Key={
            "PK": {"S": keys.customer_collection_pk(DEMO_FIRM.firm_id, customer_id)},
            "SK": {"S": keys.refresh_row_sk(None)},
        },
        UpdateExpression="REMOVE packages_counted",
    )
    dynamodb.delete_item(
        TableName="data",
        Key={"PK": {"S": keys.firm_pk(DEMO_FIRM.firm_id)}, "SK": {"S": keys.refresh_packages_sk(None)}},
    )
    assert in_use(ADMIN) == {}
    record_upload(bootstrap.engagement_index(), DEMO_FIRM.firm_id, customer_id, clock())
    assert in_use(ADMIN) == {("provider", "gocardless"): 1, ("institution", MIXED[0]): 1}
    refresh_system.now += timedelta(hours=1)
    record_upload(bootstrap.engagement_index(), DEMO_FIRM.firm_id, customer_id, clock())
    assert in_use(ADMIN) == {("provider", "gocardless"): 1, ("institution", MIXED[0]): 1}  # once
