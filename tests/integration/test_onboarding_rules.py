"""The unhappy paths of onboarding: tenancy, roles, tokens, duplicates, bad input (R-INV-2/3, R-ROLE-1/2)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from local.outbox import sent_emails
from shared import bootstrap
from shared.adapters.dynamodb.client import dynamodb_client
from shared.services.customers import offer_accounts
from tests.integration.ledger_support import chart
from tests.integration.onboarding_support import (
    ADMIN,
    ADVISER,
    CUSTOMER,
    INVITEE,
    OTHER_ADVISER,
    call,
    invitation_tokens,
    seed_firms,
    shared_account,
)

INVITE = {"name": "Jane Doe", "email": INVITEE.email}


@pytest.fixture
def invited(aws) -> str:
    """A customer invited by the admin; returns the customer id."""
    seed_firms()
    status, customer = call(invitations, "POST", "/customers/invitations", ADMIN, body=INVITE)
    assert status == 201
    return customer["customer_id"]


def item_count() -> int:
    return sum(
        1
        for page in dynamodb_client().get_paginator("scan").paginate(TableName="data")
        for _ in page["Items"]
    )


CUSTOMER_ROUTES = [
    ("GET", "/customers/{customer_id}"),
    ("GET", "/customers/{customer_id}/accounts"),
    ("GET", "/customers/{customer_id}/transactions"),
    ("POST", "/customers/{customer_id}/invitation/resend"),
    ("POST", "/customers/{customer_id}/invitation/revoke"),
    ("POST", "/customers/{customer_id}/accounts/{account_id}/accept"),
    ("POST", "/customers/{customer_id}/accounts/{account_id}/decline"),
]


@pytest.mark.parametrize(("method", "route"), CUSTOMER_ROUTES)
@pytest.mark.parametrize("outsider", [OTHER_ADVISER, ADVISER], ids=["other-firm", "adviser-not-assigned"])
def test_outsiders_get_exactly_a_not_found(invited, method, route, outsider):
    offer_accounts(bootstrap.onboarding(), DEMO_FIRM.firm_id, invited, [shared_account(invited, 1)])
    before = item_count()
    ids = {"customer_id": invited, "account_id": "acct-1"}
    missing = {"customer_id": "01JNOSUCHCUSTOMER0000000000", "account_id": "acct-1"}
    found = call(invitations, method, route, outsider, path_parameters=ids)
    absent = call(invitations, method, route, outsider, path_parameters=missing)
    assert found == absent == (404, {"code": "not_found", "message": "Not found."})
    assert item_count() == before


@pytest.mark.parametrize(
    ("method", "route"), [("GET", "/customers"), ("POST", "/customers/invitations"), ("GET", "/audit")]
)
def test_customers_are_refused_on_adviser_routes(invited, method, route):
    status, body = call(invitations, method, route, CUSTOMER, body=INVITE if method == "POST" else None)
    assert (status, body["code"]) == (403, "staff_only")


def test_only_admins_read_the_audit_log(invited):
    assert call(invitations, "GET", "/audit", ADVISER)[0] == 403
    assert call(invitations, "GET", "/audit", ADMIN)[0] == 200


def test_wrong_used_and_revoked_tokens_get_one_answer(invited):
    """On the wire: one 404 for all of them (expiry, the same error, is tested on the fakes)."""
    [token] = invitation_tokens(INVITEE.email)
    answers = [call(invitations, "POST", "/invitations/verify", None, body={"token": "x" * 43})]
    answers.append(
        call(
            invitations,
            "POST",
            "/invitations/accept",
            INVITEE,
            body={"token": token[:-1] + ("B" if token.endswith("A") else "A")},
        )
    )
    assert call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token})[0] == 200
    answers.append(call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": token}))  # used
    answers.append(call(invitations, "POST", "/invitations/verify", None, body={"token": token}))
    # revoked
    _, other = call(
        invitations, "POST", "/customers/invitations", ADMIN, body={"name": "Bo", "email": "bo@example.org"}
    )
    [bo_token] = invitation_tokens("bo@example.org")
    call(
        invitations,
        "POST",
        "/customers/{customer_id}/invitation/revoke",
        ADMIN,
        path_parameters={"customer_id": other["customer_id"]},
    )
    answers.append(call(invitations, "POST", "/invitations/verify", None, body={"token": bo_token}))
    expected = (
        404,
        {
            "code": "invitation_invalid",
            "message": "This invitation link is not valid. Ask your adviser to send a new one.",
        },
    )
    assert answers == [expected] * len(answers)


def test_reinviting_is_a_200_and_an_active_customer_a_409(invited):
    status, again = call(
        invitations,
        "POST",
        "/customers/invitations",
        ADMIN,
        body={"name": "Jane Doe", "email": "JANE.DOE@example.org "},
    )
    assert (status, again["customer_id"]) == (200, invited)
    latest = invitation_tokens(INVITEE.email)[-1]
    assert call(invitations, "POST", "/invitations/accept", INVITEE, body={"token": latest})[0] == 200
    status, body = call(invitations, "POST", "/customers/invitations", ADMIN, body=INVITE)
    assert (status, body["code"]) == (409, "customer_already_active")


def test_idempotency_key_replays_the_first_answer(aws):
    seed_firms()
    headers = {"idempotency-key": "invite-jane-1"}
    first = call(invitations, "POST", "/customers/invitations", ADMIN, body=INVITE, headers=headers)
    replay = call(invitations, "POST", "/customers/invitations", ADMIN, body=INVITE, headers=headers)
    assert first == replay and first[0] == 201
    assert len(sent_emails()) == 1
    status, body = call(
        invitations,
        "POST",
        "/customers/invitations",
        ADMIN,
        headers=headers,
        body={"name": "Someone Else", "email": "else@example.org"},
    )
    assert (status, body["code"]) == (409, "idempotency_key_reused")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Jane", "email": "not-an-email"},
        {"name": "", "email": "jane@example.org"},
        {"name": "J" * 201, "email": "jane@example.org"},
        {"name": "Jane", "email": "jane@example.org", "message": "m" * 1001},
        {"name": "Jane", "email": "jane@example.org", "owner_id": ADVISER.sub},
        {"name": "Jane", "email": "jane@example.org", "firm_id": "01JOTHERFIRM000000000000000"},
        {"email": "jane@example.org"},
        "{not json",
        ["a", "list"],
    ],
)
def test_bad_input_is_a_400_and_stores_nothing(aws, body):
    seed_firms()
    before = item_count()
    status, answer = call(invitations, "POST", "/customers/invitations", ADMIN, body=body)
    assert (status, answer["code"]) == (400, "invalid_request")
    assert item_count() == before and sent_emails() == []


@pytest.mark.parametrize(
    "query", [{"section": "everyone"}, {"limit": "0"}, {"limit": "101"}, {"cursor": "%%%"}]
)
def test_bad_list_parameters_are_400(invited, query):
    status, body = call(invitations, "GET", "/customers", ADMIN, query=query)
    assert status == 400 and body["code"] in {"invalid_request", "invalid_cursor"}


def outcome(action) -> str:
    """Run a use case; name its domain error's code, or "ok"."""
    from shared.domain.errors import DomainError

    try:
        action()
    except DomainError as error:
        return error.code
    return "ok"


# Concurrency is exercised on the use cases: a Powertools resolver holds the current event in
# module state (one request at a time per Lambda instance), so threads must not share one.
def test_concurrent_accepts_of_one_token_bind_it_once(invited, atomic_aws_requests):
    from concurrent.futures import ThreadPoolExecutor

    from shared.domain.identity import Principal
    from shared.services.customer_invitations import accept_invitation

    [token] = invitation_tokens(INVITEE.email)
    ports = bootstrap.onboarding()
    people = [Principal(f"person-{n}", INVITEE.email) for n in range(6)]  # the invited address
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(
            pool.map(lambda person: outcome(lambda: accept_invitation(ports, person, token)), people)
        )
    assert sorted(codes) == ["invitation_invalid"] * 5 + ["ok"]
    customer = ports.customers.get(DEMO_FIRM.firm_id, invited)
    assert customer.user_id in {p.user_id for p in people}


def test_concurrent_invitations_of_one_email_create_one_customer(aws, atomic_aws_requests):
    from concurrent.futures import ThreadPoolExecutor

    from shared.auth import staff_context
    from shared.domain.identity import Principal
    from shared.services.customer_invitations import invite_customer

    seed_firms()
    ports = bootstrap.onboarding()
    staff = staff_context(Principal(ADMIN.sub, ADMIN.email), ports.identities, None)
    with ThreadPoolExecutor(max_workers=5) as pool:
        codes = list(
            pool.map(
                lambda _: outcome(
                    lambda: invite_customer(ports, staff, name="Jane", email=INVITEE.email, message=None)
                ),
                range(5),
            )
        )
    # beyond the address's 3 invitation emails a day, the rest are refused before anything is written
    assert "ok" in codes and set(codes) <= {"ok", "already_invited", "concurrent_update", "rate_limited"}
    _, listing = call(invitations, "GET", "/customers", ADMIN, query={"section": "invited"})
    assert len(listing["items"]) == 1 and listing["counts"]["invited"] == 1


def test_an_account_links_once_and_only_an_admin_undoes_it(invited):
    offer_accounts(
        bootstrap.onboarding(),
        DEMO_FIRM.firm_id,
        invited,
        [shared_account(invited, 1), shared_account(invited, 2)],
    )
    chart(ADMIN, **{"1200": "bank", "1300": "bank"})
    ids = {"customer_id": invited, "account_id": "acct-1"}
    link = "/customers/{customer_id}/accounts/{account_id}/link"
    unlink = "/customers/{customer_id}/accounts/{account_id}/unlink"
    status, body = call(
        invitations, "POST", link, ADMIN, path_parameters=ids, body={"ledger_account": "1200"}
    )
    assert (status, body["code"]) == (409, "account_not_connected")
    call(
        invitations,
        "POST",
        "/customers/{customer_id}/accounts/{account_id}/accept",
        ADMIN,
        path_parameters=ids,
    )
    status, account = call(
        invitations, "POST", link, ADMIN, path_parameters=ids, body={"ledger_account": "1200"}
    )
    assert (status, account["ledger_account"]) == (200, "1200")
    status, body = call(
        invitations, "POST", link, ADMIN, path_parameters=ids, body={"ledger_account": "1300"}
    )
    assert (status, body["code"]) == (409, "account_already_linked")
    customer = bootstrap.onboarding().customers.get(DEMO_FIRM.firm_id, invited)
    bootstrap.onboarding().customers.save(replace(customer, assignee_ids=(ADVISER.sub,)), customer)
    assert call(invitations, "POST", unlink, ADVISER, path_parameters=ids)[0] == 403
    assert call(invitations, "POST", unlink, ADMIN, path_parameters=ids)[1]["ledger_account"] is None
    assert (
        call(invitations, "POST", link, ADVISER, path_parameters=ids, body={"ledger_account": "1300"})[0]
        == 200
    )
