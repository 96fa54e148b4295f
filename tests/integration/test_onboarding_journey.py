"""The adviser's main journey on the integration stack (R-INV-1..7, R-ROLE-3)."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal

import boto3
import pytest

from functions.invitations_api import handler as invitations
from functions.platform_api import handler as platform
from local.demo_data import DEMO_FIRM
from local.outbox import sent_emails
from shared import bootstrap
from shared.domain.accounts import BankTransaction
from shared.services.customers import offer_accounts
from tests.integration.onboarding_support import (
    ADMIN,
    INVITEE,
    call,
    invitation_tokens,
    seed_firms,
    shared_account,
)

INVITE = {"name": "Jane Doe", "email": "Jane.Doe@Example.org", "message": "Hello Jane — à bientôt!"}


@pytest.fixture
def stack(aws, monkeypatch):
    from local.provision import create_queues

    seed_firms()
    monkeypatch.setenv("IMPORT_QUEUE_URL", create_queues()["imports"].url)
    bootstrap.reset()


def test_invite_accept_review_and_browse(stack):
    status, customer = call(invitations, "POST", "/customers/invitations", ADMIN, body=INVITE)
    assert status == 201 and customer["section"] == "invited" and customer["email"] == "jane.doe@example.org"
    customer_id = customer["customer_id"]

    [email] = [e for e in sent_emails() if INVITEE.email in e.to]
    assert "Demo Advisory LLP" in email.subject and "à bientôt" in email.body
    [token] = invitation_tokens(INVITEE.email)
    assert len(token) >= 22  # at least 128 bits, URL-safe

    status, listing = call(invitations, "GET", "/customers", ADMIN, query={"section": "invited"})
    assert [row["customer_id"] for row in listing["items"]] == [customer_id]
    assert listing["counts"] == {"invited": 1, "pending": 0, "customers": 0, "ended": 0}

    assert call(invitations, "POST", "/invitations/verify", None, body={"token": token}) == (
        200,
        {"firm_name": "Demo Advisory LLP"},
    )
    assert call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token})[0] == 200
    _, me = call(platform, "GET", "/me", INVITEE)
    assert [c["customer_id"] for c in me["customer_of"]] == [customer_id]

    ports = bootstrap.onboarding()
    offered = [shared_account(customer_id, 1), shared_account(customer_id, 2)]
    assert offer_accounts(ports, DEMO_FIRM.firm_id, customer_id, offered) == 2
    assert offer_accounts(ports, DEMO_FIRM.firm_id, customer_id, offered) == 0  # offered once
    _, listing = call(invitations, "GET", "/customers", ADMIN, query={"section": "pending"})
    assert [row["customer_id"] for row in listing["items"]] == [customer_id]
    assert listing["counts"] == {"invited": 0, "pending": 1, "customers": 0, "ended": 0}

    _, accounts = call(
        invitations,
        "GET",
        "/customers/{customer_id}/accounts",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    assert [a["account_id"] for a in accounts["new_accounts"]] == ["acct-1", "acct-2"]
    assert accounts["new_accounts"][0]["balance"] == "1234.56" and accounts["connected_accounts"] == []

    review = "/customers/{customer_id}/accounts/{account_id}/{decision}"
    for account_id, decision in (("acct-1", "accept"), ("acct-2", "decline")):
        status, account = call(
            invitations,
            "POST",
            review.replace("{decision}", decision),
            ADMIN,
            path_parameters={"customer_id": customer_id, "account_id": account_id},
        )
        assert status == 200 and account["status"] == {"accept": "accepted", "decline": "declined"}[decision]
    # The accepted account's first import is queued at once, for that account only (issue 16).
    sqs = boto3.client("sqs")
    queue = os.environ["IMPORT_QUEUE_URL"]
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    job = json.loads(message["Body"])
    assert (job["customer_id"], job["reason"], job["accounts"]) == (customer_id, "accepted", ["acct-1"])

    _, listing = call(invitations, "GET", "/customers", ADMIN, query={"section": "customers"})
    assert [row["customer_id"] for row in listing["items"]] == [customer_id]
    assert listing["counts"] == {"invited": 0, "pending": 0, "customers": 1, "ended": 0}
    _, accounts = call(
        invitations,
        "GET",
        "/customers/{customer_id}/accounts",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    assert accounts == {"new_accounts": [], "connected_accounts": [accounts["connected_accounts"][0]]}

    # The customer is told, by email and in the app.
    _, notes = call(platform, "GET", "/me/notifications", INVITEE)
    assert sorted(n["kind"] for n in notes["items"]) == ["account.accepted", "account.declined"]
    assert sum(1 for e in sent_emails() if INVITEE.email in e.to and "reviewed" in e.subject) == 2
    first = notes["items"][0]["notification_id"]
    assert (
        call(
            platform,
            "POST",
            "/me/notifications/{notification_id}/read",
            INVITEE,
            path_parameters={"notification_id": first},
        )[0]
        == 204
    )
    _, notes = call(platform, "GET", "/me/notifications", INVITEE)
    assert [n["read"] for n in notes["items"]] == [True, False]

    # Browse the accepted account's transactions.
    firm_id = DEMO_FIRM.firm_id
    bootstrap.onboarding().accounts.write_transactions(
        firm_id,
        customer_id,
        [
            BankTransaction(
                firm_id,
                customer_id,
                "acct-1",
                f"tx-{day}",
                date(2026, 11, day),
                Decimal(f"-{day}.10"),
                "GBP",
                f"Café Münster {day}",
            )
            for day in range(1, 21)
        ],
    )
    route = "/customers/{customer_id}/transactions"
    ids = {"customer_id": customer_id}
    _, page = call(
        invitations,
        "GET",
        route,
        ADMIN,
        path_parameters=ids,
        query={"account_id": "acct-1", "from": "2026-11-05", "to": "2026-11-14", "limit": "4"},
    )
    assert [t["booking_date"] for t in page["items"]] == [
        "2026-11-14",
        "2026-11-13",
        "2026-11-12",
        "2026-11-11",
    ]
    assert page["items"][0]["amount"] == "-14.10" and page["items"][0]["description"] == "Café Münster 14"
    seen = [t["transaction_id"] for t in page["items"]]
    while page["next_cursor"]:
        _, page = call(
            invitations,
            "GET",
            route,
            ADMIN,
            path_parameters=ids,
            query={
                "account_id": "acct-1",
                "from": "2026-11-05",
                "to": "2026-11-14",
                "limit": "4",
                "cursor": page["next_cursor"],
            },
        )
        seen += [t["transaction_id"] for t in page["items"]]
    assert seen == [f"tx-{day}" for day in range(14, 4, -1)]
    _, everything = call(invitations, "GET", route, ADMIN, path_parameters=ids, query={"limit": "100"})
    assert len(everything["items"]) == 20
    # The declined account's data is not browsable.
    assert (
        call(invitations, "GET", route, ADMIN, path_parameters=ids, query={"account_id": "acct-2"})[0] == 404
    )

    _, audit = call(invitations, "GET", "/audit", ADMIN, query={"customer_id": customer_id})
    changes = [e for e in audit["items"] if not e["action"].startswith("read.")]
    assert [e["action"] for e in changes] == [
        "account.declined",
        "account.accepted",
        "invitation.accepted",
        "invitation.sent",
    ]
    assert changes[-1]["actor_id"] == ADMIN.sub and changes[-2]["actor_id"] == INVITEE.sub
    # Each page the admin was shown is one audited read (R-PRIV-4); the refused one is none.
    _, reads = call(invitations, "GET", "/audit", ADMIN, query={"customer_id": customer_id, "kind": "read"})
    pages = [e["details"] for e in reads["items"] if e["action"] == "read.transactions"]
    assert [page["rows"] for page in pages] == [20, 2, 4, 4]
    assert pages[-1] == {"rows": 4, "account_id": "acct-1", "from": "2026-11-05", "to": "2026-11-14"}
