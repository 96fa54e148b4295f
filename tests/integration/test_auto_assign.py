"""Auto-assign after imports and on demand, manual assign, and rules for admins (R-IMP-3)."""

from __future__ import annotations

from functions.invitations_api import handler as invitations
from shared import bootstrap
from shared.services.imports import import_connection
from tests.integration.ledger_support import chart
from tests.integration.onboarding_support import ADMIN, ADVISER, call
from tests.integration.test_imports import linked, stored

TESCO = {
    "name": "Groceries",
    "position": 10,
    "text_contains": "tesco",
    "direction": "out",
    "category": "groceries",
}
ENERGY = {"name": "Energy", "position": 20, "text_contains": "northern energy", "ledger_account": "7200"}


def test_rules_assign_new_lines_after_an_import_and_survive_reimports(sandboxes):
    job, _ = linked(sandboxes)
    chart(ADMIN, **{"7200": "expense", "9999": "expense"})
    assert (
        call(invitations, "POST", "/assignment-rules", ADVISER, body=TESCO)[0] == 403
    )  # admins manage rules
    for rule in (TESCO, ENERGY):
        assert call(invitations, "POST", "/assignment-rules", ADMIN, body=rule)[0] == 201
    report = import_connection(bootstrap.imports(), job)
    assert report.assigned > 0
    items = stored(job)
    tesco = [i for i in items if "TESCO" in i["description"]["S"] and not i["pending"]["BOOL"]]
    assert tesco and all(i["category"]["S"] == "groceries" and "GSI2PK" not in i for i in tesco)
    energy = [i for i in items if "Northern Energy" in i["description"]["S"] and not i["pending"]["BOOL"]]
    assert energy and all(i["ledger_account"]["S"] == "7200" for i in energy)

    ids = {"customer_id": job.customer_id}
    _, page = call(
        invitations,
        "GET",
        "/customers/{customer_id}/unassigned-lines",
        ADMIN,
        path_parameters=ids,
        query={"limit": "100"},
    )
    assert page["items"] and all(line["assigned_by"] is None for line in page["items"])
    line = page["items"][0]
    status, assigned = call(
        invitations,
        "POST",
        "/customers/{customer_id}/lines/{line_id}/assign",
        ADMIN,
        path_parameters={**ids, "line_id": line["line_id"]},
        body={"ledger_account": "9999"},
    )
    assert status == 200 and (assigned["ledger_account"], assigned["assigned_by"]) == ("9999", ADMIN.sub)
    _, after = call(
        invitations,
        "GET",
        "/customers/{customer_id}/unassigned-lines",
        ADMIN,
        path_parameters=ids,
        query={"limit": "100"},
    )
    assert line["line_id"] not in {entry["line_id"] for entry in after["items"]}
    # The chart account a booked line names is used from then on: archived, never deleted.
    gone = call(invitations, "DELETE", "/ledger-accounts/{code}", ADMIN, path_parameters={"code": "9999"})
    assert (gone[0], gone[1]["code"]) == (409, "ledger_account_in_use")

    # A new rule, run on demand, picks up what is left; a re-import keeps every assignment.
    cafe = {"name": "Cafés", "position": 5, "text_contains": "café", "category": "meals"}
    call(invitations, "POST", "/assignment-rules", ADMIN, body=cafe)
    status, done = call(
        invitations, "POST", "/customers/{customer_id}/auto-assign", ADMIN, path_parameters=ids
    )
    assert status == 200 and done["assigned"] > 0
    before = {i["SK"]["S"]: i.get("assigned_by", {}).get("S") for i in stored(job)}
    import_connection(bootstrap.imports(), job)
    assert {i["SK"]["S"]: i.get("assigned_by", {}).get("S") for i in stored(job)} == before


def test_rule_crud_is_scoped_to_the_firm(sandboxes):
    linked(sandboxes)
    _, rule = call(invitations, "POST", "/assignment-rules", ADMIN, body=TESCO)
    from tests.integration.onboarding_support import OTHER_ADVISER

    assert call(invitations, "GET", "/assignment-rules", OTHER_ADVISER) == (200, [])
    route = "/assignment-rules/{rule_id}"
    ids = {"rule_id": rule["rule_id"]}
    assert call(invitations, "PUT", route, OTHER_ADVISER, path_parameters=ids, body=TESCO)[0] == 404
    assert call(invitations, "DELETE", route, OTHER_ADVISER, path_parameters=ids)[0] == 404
    assert (
        call(invitations, "PUT", route, ADMIN, path_parameters=ids, body={**TESCO, "position": 1})[1][
            "position"
        ]
        == 1
    )
    assert call(invitations, "DELETE", route, ADMIN, path_parameters=ids)[0] == 204
    assert call(invitations, "GET", "/assignment-rules", ADMIN) == (200, [])
    bad = {**TESCO, "category": None}
    assert call(invitations, "POST", "/assignment-rules", ADMIN, body=bad)[1]["code"] == "assignment_required"
