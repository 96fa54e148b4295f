"""The firm's chart of accounts on moto (issue 16 item 7, seed 003): its routes, links and rules that
pick from it, and what was linked or ruled before the chart existed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from shared import bootstrap
from shared.adapters.dynamodb.ledger_repository import LedgerRepository
from shared.domain.accounts import AccountStatus, BankTransaction
from shared.domain.assignment import AssignmentRule
from shared.domain.errors import DomainError
from shared.services.customers import offer_accounts
from tests.integration.ledger_support import chart
from tests.integration.onboarding_support import ADMIN, ADVISER, OTHER_ADVISER, call, shared_account
from tests.integration.test_onboarding_rules import invited

__all__ = ["invited"]

LEDGER, ONE = "/ledger-accounts", "/ledger-accounts/{code}"
LINK = "/customers/{customer_id}/accounts/{account_id}/link"
UNLINK = "/customers/{customer_id}/accounts/{account_id}/unlink"


def codes(user, **query: str) -> list[str]:
    status, body = call(invitations, "GET", LEDGER, user, query=query or None)
    assert status == 200, body
    return [a["code"] for a in body["items"]]


def error(answer: tuple[int, dict]) -> tuple[int, str]:
    return answer[0], answer[1]["code"]


def accepted_accounts(customer_id: str, *numbers: int) -> None:
    offer_accounts(
        bootstrap.onboarding(),
        DEMO_FIRM.firm_id,
        customer_id,
        [shared_account(customer_id, n) for n in numbers],
    )
    for n in numbers:
        ids = {"customer_id": customer_id, "account_id": f"acct-{n}"}
        route = "/customers/{customer_id}/accounts/{account_id}/accept"
        assert call(invitations, "POST", route, ADMIN, path_parameters=ids)[0] == 200


def test_admins_keep_the_chart_and_all_staff_read_it(invited):
    body = {"code": "512100", "name": "Client account", "kind": "bank"}
    assert call(invitations, "POST", LEDGER, ADVISER, body=body)[0] == 403
    status, created = call(invitations, "POST", LEDGER, ADMIN, body=body)
    assert status == 201
    assert (created["code"], created["kind"], created["archived"], created["used"]) == (
        "512100",
        "bank",
        False,
        False,
    )
    assert error(call(invitations, "POST", LEDGER, ADMIN, body={**body, "name": "Again"})) == (
        409,
        "ledger_account_exists",
    )
    chart(ADMIN, **{"Rent-613": "expense"})
    assert error(call(invitations, "POST", LEDGER, ADMIN, body={**body, "code": "rent-613"})) == (
        409,
        "ledger_account_exists",
    )
    assert codes(ADVISER) == codes(ADMIN) == ["512100", "Rent-613"]
    on = {"code": "rent-613"}  # any case
    status, renamed = call(invitations, "PATCH", ONE, ADMIN, path_parameters=on, body={"name": "Rent"})
    assert (status, renamed["code"], renamed["name"]) == (200, "Rent-613", "Rent")
    assert call(invitations, "PATCH", ONE, ADVISER, path_parameters=on, body={"name": "No"})[0] == 403
    assert call(invitations, "DELETE", ONE, ADVISER, path_parameters=on)[0] == 403
    assert call(invitations, "DELETE", ONE, ADMIN, path_parameters=on)[0] == 204
    assert codes(ADMIN) == ["512100"]
    _, log = call(invitations, "GET", "/audit", ADMIN)
    actions = [(e["action"], e["target_id"]) for e in log["items"] if e["target_type"] == "ledger_account"]
    assert actions == [
        ("ledger_account.deleted", "Rent-613"),
        ("ledger_account.updated", "Rent-613"),
        ("ledger_account.created", "Rent-613"),
        ("ledger_account.created", "512100"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"code": "51 2100", "name": "Space", "kind": "bank"},
        {"code": "a/b", "name": "Slash", "kind": "bank"},
        {"code": "x" * 33, "name": "Long", "kind": "bank"},
        {"code": "512100", "name": "", "kind": "bank"},
        {"code": "512100", "name": "Cash", "kind": "cash"},
        {"code": "512100", "name": "Extra", "kind": "bank", "used": True},
        {"code": "512100", "kind": "bank"},
    ],
)
def test_bad_input_is_a_400(invited, body):
    assert call(invitations, "POST", LEDGER, ADMIN, body=body)[0] == 400


def test_another_firms_chart_is_out_of_reach(invited):
    chart(ADMIN, **{"BANK-A1": "bank"})
    on = {"code": "BANK-A1"}
    assert codes(OTHER_ADVISER) == []
    assert error(call(invitations, "PATCH", ONE, OTHER_ADVISER, path_parameters=on, body={"name": "x"})) == (
        404,
        "not_found",
    )
    assert error(call(invitations, "DELETE", ONE, OTHER_ADVISER, path_parameters=on)) == (404, "not_found")
    rule = {"name": "Theirs", "position": 1, "text_contains": "rent", "ledger_account": "BANK-A1"}
    assert error(call(invitations, "POST", "/assignment-rules", OTHER_ADVISER, body=rule)) == (
        400,
        "unknown_ledger_account",
    )
    assert codes(ADMIN) == ["BANK-A1"]


def test_a_link_picks_a_live_bank_account_of_the_chart(invited):
    accepted_accounts(invited, 1, 2, 3)
    chart(ADMIN, **{"512100": "bank", "512200": "bank", "626000": "expense"})
    first = {"customer_id": invited, "account_id": "acct-1"}
    link = lambda code, ids=first: call(  # noqa: E731
        invitations, "POST", LINK, ADMIN, path_parameters=ids, body={"ledger_account": code}
    )
    assert error(link("999999")) == (400, "unknown_ledger_account")
    assert error(link("626000")) == (400, "ledger_account_not_bank")
    status, linked = link("512100")
    assert (status, linked["ledger_account"]) == (200, "512100")
    second = {**first, "account_id": "acct-2"}
    assert error(link("512100", second)) == (409, "ledger_account_taken")
    # used: it can be archived, not deleted; an archived account is no longer picked
    assert error(call(invitations, "DELETE", ONE, ADMIN, path_parameters={"code": "512100"})) == (
        409,
        "ledger_account_in_use",
    )
    assert error(
        call(invitations, "PATCH", ONE, ADMIN, path_parameters={"code": "512100"}, body={"kind": "expense"})
    ) == (409, "ledger_account_in_use")  # a used account keeps the kind it was picked for
    status, archived = call(
        invitations, "PATCH", ONE, ADMIN, path_parameters={"code": "512200"}, body={"archived": True}
    )
    assert (status, archived["archived"]) == (200, True)
    assert error(link("512200", second)) == (400, "ledger_account_archived")
    assert codes(ADMIN) == ["512100", "626000"]
    assert codes(ADMIN, include_archived="true") == ["512100", "512200", "626000"]
    assert [a["used"] for a in call(invitations, "GET", LEDGER, ADMIN)[1]["items"]] == [True, False]


def test_links_and_rules_written_before_the_chart_keep_working(invited):
    accepted_accounts(invited, 1)
    accounts = bootstrap.onboarding().accounts
    [old] = [a for a in accounts.list_for_customer(DEMO_FIRM.firm_id, invited) if a.account_id == "acct-1"]
    customer = bootstrap.onboarding().customers.get(DEMO_FIRM.firm_id, invited)
    free_text = replace(old, ledger_account="Old bank / 1")  # a free-text link of before
    bootstrap.onboarding().customers.save(
        customer, customer, accounts.put_op(free_text, expected_status=AccountStatus.ACCEPTED)
    )
    bootstrap.assignment_repository().put_rule(
        AssignmentRule(
            "01OLDRULE", DEMO_FIRM.firm_id, "Old", 1, text_contains="rent", ledger_account="7 Rent"
        ),
        must_exist=False,
    )
    ids = {"customer_id": invited, "account_id": "acct-1"}
    _, listing = call(invitations, "GET", "/customers/{customer_id}/accounts", ADMIN, path_parameters=ids)
    assert [a["ledger_account"] for a in listing["connected_accounts"]] == ["Old bank / 1"]
    line = BankTransaction(
        DEMO_FIRM.firm_id, invited, "acct-1", "tx-1", date(2026, 6, 1), Decimal("-900"), "GBP", "Rent June"
    )
    accounts.write_transactions(DEMO_FIRM.firm_id, invited, [line])
    status, done = call(
        invitations, "POST", "/customers/{customer_id}/auto-assign", ADMIN, path_parameters=ids
    )
    assert (status, done["assigned"]) == (200, 1)  # the old rule still runs, with its old code
    status, rules = call(invitations, "GET", "/assignment-rules", ADMIN)
    assert [r["ledger_account"] for r in rules] == ["7 Rent"]
    assert call(invitations, "POST", UNLINK, ADMIN, path_parameters=ids)[1]["ledger_account"] is None
    # the old rule is changed only with a code of the chart
    route, on = "/assignment-rules/{rule_id}", {"rule_id": "01OLDRULE"}
    rule = {"name": "Old", "position": 1, "text_contains": "rent", "ledger_account": "7 Rent"}
    assert error(call(invitations, "PUT", route, ADMIN, path_parameters=on, body=rule)) == (
        400,
        "unknown_ledger_account",
    )
    chart(ADMIN, **{"7-Rent": "expense"})
    status, saved = call(
        invitations, "PUT", route, ADMIN, path_parameters=on, body={**rule, "ledger_account": "7-rent"}
    )
    assert (status, saved["ledger_account"]) == (200, "7-Rent")


def test_a_rule_is_stored_only_with_its_account_marked_used_and_still_live(invited):
    chart(ADMIN, **{"7100": "expense"})
    repository = LedgerRepository("data")
    picked = repository.get_account(DEMO_FIRM.firm_id, "7100")
    call(invitations, "PATCH", ONE, ADMIN, path_parameters={"code": "7100"}, body={"archived": True})
    rules = bootstrap.assignment_repository()
    late = AssignmentRule("01LATE", DEMO_FIRM.firm_id, "Late", 1, ledger_account="7100")
    with pytest.raises(DomainError) as refused:
        rules.put_rule(late, repository.use_op(picked), must_exist=False)
    assert refused.value.code == "concurrent_update"
    with pytest.raises(DomainError) as missing:  # replacing a rule that is not there: still a 404
        rules.put_rule(late, must_exist=True)
    assert missing.value.code == "not_found"
    assert rules.rules(DEMO_FIRM.firm_id) == []
    stale = replace(picked, name="Lost update")
    with pytest.raises(DomainError) as changed:
        repository.save_account(stale, picked)
    assert changed.value.code == "concurrent_update"
