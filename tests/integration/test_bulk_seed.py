"""Seeding at scale (local/bulk_seed.py): a seeded customer is stored exactly as an invitation stores
it, so nothing `make soak` or `make bench` reads can tell them apart; and the local console's
`POST /_local/seed/customers` fills the demo firm."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace
from typing import Any

import boto3
import pytest

from infra.spec import ScheduleSpec
from local.bulk_seed import invited_customers, seed_customers, seed_demo_firm
from local.console import LocalConsole
from local.demo_data import DEMO_FIRM, DEMO_USERS, seed_demo_data
from local.http_types import HttpRequest
from local.scheduler import Scheduler
from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import from_item, query_pages, to_item
from shared.clock import now

pytestmark = pytest.mark.usefixtures("aws")
TABLE = "data"
STAFF = [user.sub for user in DEMO_USERS if user.role != "customer"]


def stored() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return sorted((from_item(item) for item in items), key=lambda item: (item["PK"], item["SK"]))


def clear() -> None:
    for item in stored():
        boto3.client("dynamodb").delete_item(
            TableName=TABLE, Key=to_item({"PK": item["PK"], "SK": item["SK"]})
        )


def test_a_seeded_customer_is_stored_as_an_invitation_stores_it():
    customers = invited_customers(3, STAFF, now())  # the first invited 8 days ago and assigned
    repository = bootstrap.onboarding().customers
    for customer in customers:  # what `invitations.issue` saves (its audit event goes to the audit table)
        repository.save(customer, None, repository.email_claim(customer), repository.token_put(customer))
    invited = stored()
    clear()

    seed_customers(customers)

    assert stored() == invited
    assert {item["SK"] for item in invited} >= {keys.INVITE, keys.counts_sk(None), keys.counts_sk(STAFF[0])}


def test_the_console_seeds_the_demo_firm_among_its_staff_and_counts_them():
    seed_demo_data(TABLE)  # the demo firm and its staff, as the local system has them
    handle = LocalConsole(
        scheduler=Scheduler(
            {"x": ScheduleSpec("cron(0 9 * * ? *)", "UTC", "reminders_job", {}, "x")},
            invoke=lambda name, event: None,
            sqs=None,
            dead_letter_queue_url="",
            stop=threading.Event(),
        ),
        emails=list,
        jwks={},
        user_pool={},
    ).handle

    answer = handle(HttpRequest("POST", "/_local/seed/customers", body=b'{"count": 60}'))

    seeded = json.loads(answer.body)["customers"]
    assert answer.status == 201 and len({c["customer_id"] for c in seeded}) == 60
    assert Counter(c["owner_id"] for c in seeded) == {STAFF[0]: 30, STAFF[1]: 30}
    assert sum(1 for c in seeded if c["assignee_ids"]) == 20
    counts = bootstrap.onboarding().customers.counts(DEMO_FIRM.firm_id, None)
    listed = query_pages(
        TABLE,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues=to_item({":pk": keys.section_gsi1pk(DEMO_FIRM.firm_id, "invited")}),
    )
    assert counts["invited"] == sum(len(page) for page in listed) == 60
    for wrong in (b"", b'{"count": 0}', b'{"count": "9"}', b'{"count": true}', b'{"count": 50001}', b"[]"):
        assert handle(HttpRequest("POST", "/_local/seed/customers", body=wrong)).status == 400, wrong
    for owners in ([], ["nobody"], [STAFF[0], 7]):
        wrong = json.dumps({"count": 1, "owner_ids": owners}).encode()
        assert handle(HttpRequest("POST", "/_local/seed/customers", body=wrong)).status == 400, owners
    chosen = json.dumps({"count": 3, "owner_ids": [STAFF[1]]}).encode()
    answer = handle(HttpRequest("POST", "/_local/seed/customers", body=chosen))
    assert {c["owner_id"] for c in json.loads(answer.body)["customers"]} == {STAFF[1]}


def test_seed_demo_firm_skips_deactivated_staff():
    seed_demo_data(TABLE)
    identities = bootstrap.identity_repository()
    adviser = identities.get_membership(STAFF[1], DEMO_FIRM.firm_id)
    assert adviser is not None
    identities.save_membership(replace(adviser, active=False), adviser, other_admin=None)

    seeded = seed_demo_firm(4, now())

    assert {customer.owner_id for customer in seeded} == {STAFF[0]}
