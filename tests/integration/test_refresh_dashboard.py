"""Data Refresh dashboard and EULA on moto (R-REF-1, R-REF-2, R-REF-5, R-ROLE-1/2).

Engagements are seeded through the real write paths (customers repository, the connections
repository that keeps the dashboard rows in step, the EULA record); refresh statuses come from
real jobs through the fan-out worker and the progress calls the import worker makes.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from ulid import ULID

from functions.connections_api import handler as connections_api
from functions.refresh_api import handler as refresh_api
from functions.refresh_fanout_worker import handler as fanout_worker
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.domain.connections import Connection, ConnectionStatus
from shared.domain.customers import Customer, issue_invitation
from shared.domain.imports import Outcome
from shared.domain.jobs import ImportJob
from shared.domain.search import first_match, search_prefix, tokens
from shared.services.engagement_rows import import_finished, import_started, record_upload
from tests.conftest import FakeLambdaContext
from tests.integration.onboarding_support import ADMIN, ADVISER, INVITEE, OTHER_FIRM, Person, call, seed_firms

CURRENT_EULA = "2026-01"


@pytest.fixture
def refresh_system(sandboxes):
    """Two firms, and the Data Refresh index on the sandboxes' clock (tests move time)."""
    seed_firms()
    bootstrap.engagement_index().clock = sandboxes.clock
    return sandboxes


def seed_engagement(
    clock,
    name: str,
    *,
    owner: str = ADMIN.sub,
    assignees: tuple[str, ...] = (),
    provider: str = "gocardless",
    institution: tuple[str, str] = ("DEMOBANK_DMBKGB2L", "Demo Bank"),
    status: ConnectionStatus = ConnectionStatus.LINKED,
    consent_days: int = 60,
    eula: bool = True,
    firm_id: str = DEMO_FIRM.firm_id,
    connected: bool = True,
) -> str:
    """A customer who accepted and connected a bank: its engagement id (the customer id)."""
    now = clock()
    slug = re.sub(r"\W+", "-", name.lower())
    _, invitation = issue_invitation(now, None)
    customer = Customer(
        firm_id=firm_id,
        customer_id=str(ULID()),
        name=name,
        email=f"{slug}@example.org",
        owner_id=owner,
        created_at=now,
        invitation=invitation,
        assignee_ids=assignees,
        user_id=f"user-{slug}",
        accepted_at=now,
    )
    bootstrap.onboarding().customers.save(customer, None)
    if eula:
        bootstrap.engagement_index().eula.record_eula(customer.user_id or "", CURRENT_EULA, now)
    if connected:
        stored = bootstrap.connections_repository().save(
            Connection(
                firm_id=firm_id,
                customer_id=customer.customer_id,
                connection_id=str(ULID()),
                user_id=customer.user_id or "",
                provider=provider,
                institution_id=institution[0],
                institution_name=institution[1],
                status=status,
                created_at=now,
                credential="sandbox-credential" if status is ConnectionStatus.LINKED else None,
                linked_at=now,
                expires_at=now + timedelta(days=consent_days),
            ),
            None,
        )
        bootstrap.engagement_rows().connection_changed(stored)  # as every connection use case does
    return customer.customer_id


def dashboard(user: Any, **query: str) -> list[dict]:
    """Every row the user sees with these filters, page after page (small pages on purpose)."""
    rows: list[dict] = []
    cursor = None
    while True:
        params = {**query, "limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = call(refresh_api, "GET", "/data-refresh/engagements", user, query=params)
        assert status == 200, page
        rows += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return rows


def trigger(user: Any, body: dict, key: str | None = None) -> str:
    headers = {"idempotency-key": key} if key else None
    status, accepted = call(refresh_api, "POST", "/data-refresh/jobs", user, body=body, headers=headers)
    assert status == 202, accepted
    return accepted["job_id"]


def job(user: Any, job_id: str) -> dict:
    """The job with every outcome (all pages); asserts the counts add up."""
    outcomes: list[dict] = []
    cursor = None
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        status, body = call(
            refresh_api,
            "GET",
            "/data-refresh/jobs/{job_id}",
            user,
            path_parameters={"job_id": job_id},
            query=query,
        )
        assert status == 200, body
        outcomes += body["outcomes"]
        cursor = body["next_cursor"]
        if not cursor:
            body["outcomes"] = outcomes
            counts = body["counts"]
            states = ("pending", "queued", "running", "succeeded", "failed", "excluded")
            assert sum(counts[s] for s in states) == counts["total"]
            assert sum(counts["excluded_by_reason"].values()) == counts["excluded"]
            return body


def pump(queue: str, handler: Any) -> list[str]:
    """Deliver every message of `queue` (and those it adds) to `handler`, as SQS would; the bodies."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    delivered: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return delivered
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "eu-west-2",
            }
            for m in messages
        ]
        assert handler.lambda_handler({"Records": records}, FakeLambdaContext()) == {"batchItemFailures": []}
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        delivered += [m["Body"] for m in messages]


def queued_imports() -> list[ImportJob]:
    """Take the import jobs the fan-out sent (the import worker is not run)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="imports")["QueueUrl"]
    jobs: list[ImportJob] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return jobs
        for m in messages:
            jobs.append(ImportJob.from_json(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def run_imports(outcomes: dict[str, Outcome]) -> None:
    """What the import worker reports for each queued import: started, then its outcome."""
    index = bootstrap.engagement_index()
    for import_job in queued_imports():
        import_started(index, import_job)
        import_finished(index, import_job, outcomes[import_job.customer_id])


def ids_of(rows: list[dict]) -> set[str]:
    return {row["engagement_id"] for row in rows}


# visibility (R-REF-1, R-ROLE-2) ----------------------------------------------------------------
def test_the_dashboard_shows_exactly_the_visible_online_connector_engagements(refresh_system):
    clock = refresh_system.clock
    own = seed_engagement(clock, "Admin Owned")
    advisers = seed_engagement(clock, "Adviser Owned", owner=ADVISER.sub)
    assigned = seed_engagement(clock, "Assigned To Adviser", assignees=(ADVISER.sub,))
    pending = seed_engagement(clock, "Consent Pending", status=ConnectionStatus.PENDING)
    seed_engagement(clock, "No Connection", connected=False)  # no online connector: not an engagement
    other_firm = seed_engagement(clock, "Other Firm", firm_id=OTHER_FIRM.firm_id)

    assert ids_of(dashboard(ADMIN)) == {own, advisers, assigned, pending}
    assert ids_of(dashboard(ADVISER)) == {advisers, assigned}
    other_admin = Person("other-firm-adviser", "adviser@other-practice.example")
    assert ids_of(dashboard(other_admin)) == {other_firm}

    [row] = [r for r in dashboard(ADMIN) if r["engagement_id"] == own]
    assert row["customer_name"] == "Admin Owned"
    assert row["contact_person"] == {"name": "Admin Owned", "email": "admin-owned@example.org"}
    assert row["owner_id"] == ADMIN.sub
    assert row["connectors"][0]["provider"] == "gocardless"
    assert row["connectors"][0]["institution_name"] == "Demo Bank"
    assert (row["status"], row["selectable"], row["last_upload_at"]) == ("active", True, None)
    [inactive] = [r for r in dashboard(ADMIN) if r["engagement_id"] == pending]
    assert (inactive["status"], inactive["inactive_reason"], inactive["selectable"]) == (
        "inactive",
        "no_valid_consent",
        False,
    )
    assert call(refresh_api, "GET", "/data-refresh/engagements", INVITEE)[0] == 403  # not staff


# filters (R-REF-2) ---------------------------------------------------------------------------------
@pytest.fixture
def varied(refresh_system) -> dict[str, str]:
    """Engagements in every status, with two packages, two owners and spread upload times."""
    boxes = refresh_system
    clock = boxes.clock
    index = bootstrap.engagement_index()
    start = boxes.now
    made = {
        "alice": seed_engagement(clock, "Alice Martin"),
        "bob": seed_engagement(
            clock, "Bob Stone", owner=ADVISER.sub, provider="plaid", institution=("ins_1", "Plaid Bank")
        ),
        "carol": seed_engagement(clock, "Carol Jones", assignees=(ADVISER.sub,)),
        "dave": seed_engagement(clock, "Dave No Eula", eula=False),
        "erin": seed_engagement(clock, "Erin Expired", consent_days=-1),
        "succeeded": seed_engagement(
            clock, "Sam Succeeded", provider="plaid", institution=("ins_1", "Plaid Bank")
        ),
        "failed": seed_engagement(clock, "Fay Failed", owner=ADVISER.sub),
        "capped": seed_engagement(clock, "Cap Today"),
        "queued": seed_engagement(clock, "Quinn Queued"),
        "running": seed_engagement(clock, "Ray Running", owner=ADVISER.sub),
    }
    for n, name in enumerate(("alice", "bob", "carol", "succeeded")):
        record_upload(index, DEMO_FIRM.firm_id, made[name], datetime(2026, 3, 1 + n * 5, 9, tzinfo=UTC))
    # Yesterday: one refresh succeeded, one failed.
    boxes.now = start - timedelta(days=1)
    trigger(ADMIN, {"engagement_ids": [made["succeeded"], made["failed"]]})
    pump("refresh", fanout_worker)
    run_imports({made["succeeded"]: Outcome.IMPORTED, made["failed"]: Outcome.BUDGET_SPENT})
    # Today: one finished, one still queued, one running.
    boxes.now = start
    trigger(ADMIN, {"engagement_ids": [made["capped"], made["queued"], made["running"]]})
    pump("refresh", fanout_worker)
    for import_job in queued_imports():
        if import_job.customer_id in (made["capped"], made["running"]):
            import_started(index, import_job)
        if import_job.customer_id == made["capped"]:
            import_finished(index, import_job, Outcome.IMPORTED)
    return made


STATUS_OF = {
    "alice": "active",
    "bob": "active",
    "carol": "active",
    "dave": "inactive",
    "erin": "inactive",
    "succeeded": "succeeded",
    "failed": "failed",
    "capped": "capped_today",
    "queued": "queued",
    "running": "running",
}


@pytest.mark.calendar
def test_every_row_shows_its_status_and_whether_it_can_be_selected(varied):
    rows = {row["engagement_id"]: row for row in dashboard(ADMIN)}
    by_name = {name: rows[engagement_id] for name, engagement_id in varied.items()}
    assert {name: row["status"] for name, row in by_name.items()} == STATUS_OF
    assert by_name["dave"]["inactive_reason"] == "eula_not_accepted"
    assert by_name["erin"]["inactive_reason"] == "no_valid_consent"
    assert by_name["failed"]["last_error"] == "budget_spent"
    selectable = {name for name, row in by_name.items() if row["selectable"]}
    assert selectable == {"alice", "bob", "carol", "succeeded", "failed"}
    uploads = [row["last_upload_at"] for row in dashboard(ADMIN)]
    assert uploads == sorted(uploads, key=lambda u: u or "", reverse=True)  # newest upload first


FILTERS: dict[str, dict[str, str]] = {
    "search": {"q": "martin"},
    "search by email": {"q": "BOB-STONE@ex"},
    "contact": {"contact": "bob-stone@example"},
    "search and status": {"q": "sam s", "status": "succeeded"},
    "owner": {"owner_id": ADVISER.sub},
    "package": {"package": "plaid"},
    "institution": {"package": "demobank_dmbkgb2l"},
    "last upload from": {"last_upload_from": "2026-03-05T00:00:00Z"},
    "last upload to": {"last_upload_to": "2026-03-10T00:00:00Z"},
    "last upload between": {
        "last_upload_from": "2026-03-05T00:00:00Z",
        "last_upload_to": "2026-03-12T00:00:00Z",
    },
    **{f"status {s}": {"status": s} for s in sorted(set(STATUS_OF.values()))},
    "package and owner and status": {"package": "gocardless", "owner_id": ADMIN.sub, "status": "active"},
    "owner and upload and search": {
        "owner_id": ADMIN.sub,
        "last_upload_from": "2026-03-01T00:00:00Z",
        "q": "car",
    },
    "status and package": {"status": "succeeded", "package": "plaid"},
}


def matches(row: dict, filters: dict[str, str]) -> bool:
    """The rules, naively, over the unfiltered rows: the oracle the index-served pages must equal.
    A search (`q`, `contact`) finds a name or email one of whose tokens starts with what was typed."""
    found_by = tokens(row["customer_name"], row["contact_person"]["email"])
    upload = datetime.fromisoformat(row["last_upload_at"]) if row["last_upload_at"] else None
    packages = {
        p.lower()
        for c in row["connectors"]
        for p in (c["provider"], c["institution_id"], c["institution_name"])
    }
    checks = {
        "q": lambda v: first_match(found_by, search_prefix(v) or "") is not None,
        "contact": lambda v: first_match(found_by, search_prefix(v) or "") is not None,
        "owner_id": lambda v: row["owner_id"] == v,
        "package": lambda v: v.lower() in packages,
        "last_upload_from": lambda v: upload is not None and upload >= datetime.fromisoformat(v),
        "last_upload_to": lambda v: upload is not None and upload <= datetime.fromisoformat(v),
        "status": lambda v: row["status"] == v,
    }
    return all(checks[name](value) for name, value in filters.items())


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_alone_and_combined_gives_what_the_rules_say(varied, name):
    filters = FILTERS[name]
    for user in (ADMIN, ADVISER):
        everything = dashboard(user)
        expected = {row["engagement_id"] for row in everything if matches(row, filters)}
        assert ids_of(dashboard(user, **filters)) == expected
        if user is ADMIN:
            assert expected and expected != ids_of(everything), "a filter that tests something"


# EULA (R-REF-5) ------------------------------------------------------------------------------------
def test_a_customer_accepts_the_current_eula_and_their_engagement_becomes_active(refresh_system):
    from tests.integration.test_imports import linked

    import_job, _ = linked(refresh_system)
    [row] = dashboard(ADMIN)
    assert (row["engagement_id"], row["status"], row["inactive_reason"]) == (
        import_job.customer_id,
        "inactive",
        "eula_not_accepted",
    )
    status, refused = call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": "2025-01"})
    assert (status, refused["code"]) == (409, "eula_version_outdated")
    asked_at = refresh_system.now
    status, accepted = call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": CURRENT_EULA})
    assert status == 200 and accepted["version"] == CURRENT_EULA
    assert asked_at <= datetime.fromisoformat(accepted["accepted_at"]) <= refresh_system.now
    refresh_system.now += timedelta(hours=1)
    again = call(refresh_api, "POST", "/me/eula", INVITEE, body={"version": CURRENT_EULA})[1]
    assert again["accepted_at"] == accepted["accepted_at"]  # the first acceptance is the record
    [row] = dashboard(ADMIN)
    assert (row["status"], row["selectable"]) == ("active", True)
    # A connection change keeps the row in step: deauthorised -> no valid consent.
    call(
        connections_api,
        "POST",
        "/connections/{connection_id}/deauthorise",
        INVITEE,
        path_parameters={"connection_id": import_job.connection_id},
    )
    [row] = dashboard(ADMIN)
    assert (row["status"], row["inactive_reason"]) == ("inactive", "no_valid_consent")


def test_a_forged_or_foreign_cursor_is_refused(refresh_system):
    status, body = call(
        refresh_api, "GET", "/data-refresh/engagements", ADMIN, query={"cursor": json.dumps("x")[:3]}
    )
    assert (status, body["code"]) == (400, "invalid_cursor")


@pytest.mark.calendar
def test_an_engagement_connected_before_data_refresh_appears_with_its_first_upload(refresh_system):
    from shared.adapters.dynamodb.connections_repository import ConnectionsRepository

    engagement_id = seed_engagement(refresh_system.clock, "Old Timer", connected=False)
    ConnectionsRepository("data", bootstrap.credential_vault()).save(  # as before the dashboard rows
        Connection(
            firm_id=DEMO_FIRM.firm_id,
            customer_id=engagement_id,
            connection_id=str(ULID()),
            user_id="user-old-timer",
            provider="gocardless",
            institution_id="DEMOBANK_DMBKGB2L",
            institution_name="Demo Bank",
            status=ConnectionStatus.LINKED,
            created_at=refresh_system.now,
            credential="sandbox-credential",
            expires_at=refresh_system.now + timedelta(days=30),
        ),
        None,
    )
    assert dashboard(ADMIN) == []
    record_upload(
        bootstrap.engagement_index(), DEMO_FIRM.firm_id, engagement_id, refresh_system.now
    )  # daily import
    [row] = dashboard(ADMIN)
    assert (row["engagement_id"], row["status"]) == (engagement_id, "active")
    assert row["last_upload_at"] is not None
