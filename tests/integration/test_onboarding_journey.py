"""The adviser's main journey on the integration stack (R-INV-1..7, R-ROLE-3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from functions.invitations_api import handler as invitations
from functions.platform_api import handler as platform
from local.demo_data import DEMO_FIRM
from local.outbox import sent_emails
from shared import bootstrap
from shared.clock import now as business_now
from shared.domain.accounts import BankTransaction
from shared.services.customer_invitations import send_due_reminders
from shared.services.customers import OnboardingPorts, offer_accounts
from tests.calendar_matrix import demo_firm_zone, scheduled_run
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
def stack(aws):
    seed_firms()


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
    assert listing["counts"] == {"invited": 1, "pending": 0, "customers": 0}

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
    assert listing["counts"] == {"invited": 0, "pending": 1, "customers": 0}

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

    _, listing = call(invitations, "GET", "/customers", ADMIN, query={"section": "customers"})
    assert [row["customer_id"] for row in listing["items"]] == [customer_id]
    assert listing["counts"] == {"invited": 0, "pending": 0, "customers": 1}
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
    assert [e["action"] for e in audit["items"]] == [
        "account.declined",
        "account.accepted",
        "invitation.accepted",
        "invitation.sent",
    ]
    assert audit["items"][-1]["actor_id"] == ADMIN.sub and audit["items"][-2]["actor_id"] == INVITEE.sub


@pytest.mark.calendar
def test_reminders_on_day_7_and_30_are_sent_once_each(stack):
    start = business_now()
    ports = replace(bootstrap.onboarding(), clock=lambda: start)
    from shared.auth import staff_context
    from shared.domain.identity import Principal
    from shared.services.customer_invitations import invite_customer

    staff = staff_context(Principal(ADMIN.sub, ADMIN.email), ports.identities, None)
    invite_customer(ports, staff, name="Jane Doe", email=INVITEE.email, message=None)

    def on_day(day: int) -> OnboardingPorts:
        """The daily schedule's run on the firm's local day `day` after the invitation's."""
        return replace(ports, clock=lambda: scheduled_run(start, day, demo_firm_zone()))

    def run_on(day: int) -> dict[str, int]:
        return send_due_reminders(on_day(day))

    outcomes = [run_on(day) for day in (1, 7, 7, 8, 30, 30, 31)]
    assert [o["reminders_sent"] for o in outcomes] == [0, 1, 0, 0, 1, 0, 0]
    emails = [e for e in sent_emails() if INVITEE.email in e.to]
    assert [e.subject.startswith("Reminder") for e in emails] == [False, True, True]
    # Only the newest link works: each reminder carries a fresh token.
    tokens = invitation_tokens(INVITEE.email)
    later = on_day(31)
    from shared.services.customer_invitations import InvitationInvalid, verify_invitation

    assert verify_invitation(later, tokens[-1]) == "Demo Advisory LLP"
    for stale in tokens[:-1]:
        with pytest.raises(InvitationInvalid):
            verify_invitation(later, stale)
    # Past its lifetime (45 days) the invitation expires and its link stops working.
    assert run_on(46)["expired"] == 1
    with pytest.raises(InvitationInvalid):
        verify_invitation(on_day(46), tokens[-1])
    assert run_on(47) == {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}


@pytest.mark.calendar
def test_a_missed_day_7_run_sends_one_reminder_on_day_31(stack):
    start = business_now()
    ports = replace(bootstrap.onboarding(), clock=lambda: start)
    from shared.auth import staff_context
    from shared.domain.identity import Principal
    from shared.services.customer_invitations import invite_customer

    staff = staff_context(Principal(ADMIN.sub, ADMIN.email), ports.identities, None)
    invite_customer(ports, staff, name="Jane Doe", email=INVITEE.email, message=None)
    late = replace(ports, clock=lambda: scheduled_run(start, 31, demo_firm_zone()))
    assert send_due_reminders(late)["reminders_sent"] == 1
    assert send_due_reminders(late)["reminders_sent"] == 0
    assert sum(e.subject.startswith("Reminder") for e in sent_emails()) == 1


@pytest.mark.calendar
def test_a_failed_reminder_keeps_the_last_link_working_and_is_tried_again(stack):
    from shared.auth import staff_context
    from shared.domain.identity import Principal
    from shared.services.customer_invitations import invite_customer, verify_invitation

    start = business_now()
    ports = replace(bootstrap.onboarding(), clock=lambda: start)
    staff = staff_context(Principal(ADMIN.sub, ADMIN.email), ports.identities, None)
    invite_customer(ports, staff, name="Jane Doe", email=INVITEE.email, message=None)
    [token] = invitation_tokens(INVITEE.email)

    class Broken:
        def send(self, message):
            raise RuntimeError("SES is down")

    day_7 = scheduled_run(start, 7, demo_firm_zone())
    broken = replace(ports, email=Broken(), clock=lambda: day_7)
    assert send_due_reminders(broken)["failed"] == 1
    assert verify_invitation(broken, token) == "Demo Advisory LLP"  # the emailed link still works
    working = replace(ports, clock=lambda: day_7)
    assert send_due_reminders(working)["reminders_sent"] == 1
    assert send_due_reminders(working)["reminders_sent"] == 0
