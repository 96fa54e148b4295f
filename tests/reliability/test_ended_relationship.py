"""Changes after a relationship ended (issue 17, R-PRIV-2), generated from the routes.

On the matrices' world (tests/reliability/matrix_support.py), firm A's admin ends the relationship with
both of firm A's customers (the one with a file, a connection, accounts and lines, and the one still
invited). Then every route of infra/spec.py ROUTES that is not a GET and takes the id of one of those
customers or of an object of theirs (derived from the data model: `names_customer_data`, its path or
its body) is called by the admin, who still reads what the firm retains: it must answer 409
`relationship_ended` and change nothing of the firm's data (a route the role matrix does not allow the
admin at all, e.g. the file manager's own, must refuse and change nothing). A route is spared only by
`EXEMPT`, which says who calls it instead, what they get and why. A new route is covered without
editing this file.

`BAR privacy: changes_after_relationship_end=…` (summed into the one privacy line): the routes that
answered anything but that 409, or changed the firm's data.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.spec import ROUTES
from tests.bars import SUM_KEY
from tests.integration.aggregator_sandboxes import sandboxes
from tests.reliability.matrix_support import (
    BODIES,
    FIRM_A,
    Checkpoint,
    _ok,
    build_world,
    key,
    matrix_directory,
)
from tests.reliability.matrix_support import request as call
from tests.reliability.test_audit_coverage import state
from tests.reliability.test_lifecycle_figures import names_customer_data, scanned
from tests.reliability.test_role_matrix import ROLES, RULES

__all__ = ["matrix_directory", "sandboxes"]

END = "POST /customers/{customer_id}/end-relationship"
_CUSTOMER_OWN = (
    "the person's own action on their connection: once the relationship ended they are no longer the "
    "firm's customer, so the firm's connection is not theirs to act on (404, R-PRIV-2); staff never "
    "call it"
)
# route -> (who calls it instead of the admin, the status they get, why it is not a 409)
EXEMPT: dict[str, tuple[str, int, str]] = {
    "POST /connections/{connection_id}/complete": ("customer", 404, _CUSTOMER_OWN),
    "POST /connections/{connection_id}/reauthorise": ("customer", 404, _CUSTOMER_OWN),
    "POST /connections/{connection_id}/deauthorise": ("customer", 404, _CUSTOMER_OWN),
    "POST /connections/{connection_id}/refresh": ("customer", 404, _CUSTOMER_OWN),
    "POST /connections/{connection_id}/find-new-accounts": ("customer", 404, _CUSTOMER_OWN),
    "POST /me/notifications/{notification_id}/read": (
        "customer",
        204,
        "a person marking their own notification read: their own mark, not the firm's record",
    ),
    "POST /customers/{customer_id}/exports": (
        "admin",
        202,
        "a CSV of what the firm retains is a read of it (audited as one), the purpose of retention",
    ),
    "POST /audit/exports": ("admin", 202, "a CSV of the firm's own audit log: a read"),
    "POST /data-refresh/jobs": (
        "admin",
        202,
        "a bulk job over many engagements: an ended one has no Data Refresh row any more, so the fan-out "
        "excludes it (`not_found`) and imports nothing, and the others go ahead",
    ),
    "POST /customers/{customer_id}/erasure-request": (
        "admin",
        200,
        "the lifecycle's own step: asking for the retained data's erasure",
    ),
    "POST /customers/{customer_id}/erasure-request/approve": (
        "admin",
        200,
        "the lifecycle's own step: approving the erasure",
    ),
}


def test_every_change_of_an_ended_relationship_is_refused(
    sandboxes: Any, matrix_directory: Any, bar: Any, request: pytest.FixtureRequest
) -> None:
    world = build_world(sandboxes)
    a = world.a
    ended = {a.ids["customer"], a.ids["invited_customer"]}
    for customer_id in sorted(ended):
        _ok(END, FIRM_A.admin, path_parameters={"customer_id": customer_id})
    checkpoint = Checkpoint(sandboxes)
    items = [item for _, item in scanned()]
    routes = [
        r
        for r in ROUTES
        if r.method != "GET"
        and names_customer_data(r, a, ended, items, BODIES[key(r)](a) if key(r) in BODIES else None)
    ]
    assert set(EXEMPT) <= {key(r) for r in routes}, "an exemption for a route that is not probed"

    admin = next(role for role in ROLES if role.person == FIRM_A.admin)
    refused: list[str] = []
    wrong: list[str] = []
    for route in routes:
        k = key(route)
        who, expected, _why = EXEMPT.get(k, ("admin", 409, ""))
        body = BODIES[k](a) if k in BODIES else None
        before, _ = state()
        answer = call(route, getattr(FIRM_A, who), path_parameters=a.path_parameters(route), body=body)
        changed = state()[0] != before
        code = (answer.json or {}).get("code") if answer.body.startswith("{") else None
        if k in EXEMPT:
            if answer.status != expected:
                wrong.append(f"{who} {k}: {answer.status} (exempt, expected {expected}) {answer.body[:160]}")
        elif answer.status == 409 and code == "relationship_ended" and not changed:
            refused.append(k)
        elif not RULES[k](admin) and not answer.ok and not changed:
            refused.append(k)  # not the admin's to do, ended or not (the role matrix)
        else:
            wrong.append(f"{who} {k}: {answer.status} changed={changed} {answer.body[:160]}")
        if changed or answer.ok:
            checkpoint.restore()

    figures = {"changes_after_relationship_end": len(wrong)}
    request.node.user_properties.append((SUM_KEY, ["privacy", figures]))
    bar("ended relationship", routes_probed=len(routes), refused=len(refused), exempt=len(EXEMPT), **figures)
    print(json.dumps({"refused": refused}))
    assert len(refused) >= 20, refused  # the world reached the customers' changes
    assert not wrong, "\n".join(wrong)
