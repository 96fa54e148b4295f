"""Mass-assignment probes (issue 8): fields a caller must not set, added to every body.

For every route that reads a JSON body (its handler's pydantic model), each field below that the
model does not declare is added, one at a time, to a body that succeeds on its own, sent by a caller
the route allows (tests/reliability/test_role_matrix.py RULES). Refused as unknown (400, the field
named in `details`) is the expected answer; a 2xx would mean it was ignored, and then neither the
stored items nor the answer may carry the injected value, else it was accepted. Declared fields that
are bound to the caller get another tenant's value (a customer naming a firm they are not a customer
of). Routes that read no body get every field at once: they must ignore it.
"""

from __future__ import annotations

from typing import Any

from infra.spec import ROUTES, Route
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.file_access_support import table_state
from tests.reliability.matrix_support import (
    BODIES,
    FIRM_B,
    Answer,
    Checkpoint,
    FirmWorld,
    body_model,
    build_world,
    key,
    matrix_directory,
    request,
    undeclared,
)
from tests.reliability.test_role_matrix import ROLES, RULES, Role

__all__ = ["matrix_directory", "sandboxes"]

# What nobody sets through a body: who they are, whose it is, how much access, how long, in what state.
INJECTED: dict[str, Any] = {
    "role": "admin",
    "firm_id": FIRM_B.firm_id,
    "level": "read_write",
    "access_level": "read_write",
    "owner": FIRM_B.owner.sub,
    "owner_id": FIRM_B.owner.sub,
    "expires_at": "2099-12-31T00:00:00+00:00",
    "expiry": "2099-12-31",
    "status": "injected-status",
    "created_by": "injected-creator",
    "updated_by": "injected-updater",
    "requested_by": "injected-requester",
    "customer_id": "injected-customer",
    "user_id": "injected-user",
    "assignee_ids": ["injected-assignee"],
    "is_admin": True,
    "central": True,
    "accepted_at": "2001-01-01T00:00:00+00:00",
}
# Declared fields bound to the caller: another tenant's value must not be taken.
BOUND: dict[str, dict[str, Any]] = {"POST /connections": {"firm_id": FIRM_B.firm_id}}
PREFERRED = [
    "admin",
    "owner",
    "customer",
    "signed_in_nobody",
    "invitee",
    "file_invitee",
    "staff_invitee",
    "anonymous",
]


def caller(route: Route) -> Role:
    """The first role of PREFERRED that the route allows (so a body that is ignored would succeed)."""
    by_name = {role.name: role for role in ROLES}
    allowed = [by_name[name] for name in PREFERRED if RULES[key(route)](by_name[name])]
    return allowed[0] if allowed else by_name["anonymous"]


def _stored(value: Any, before: dict, answer: Answer) -> bool:
    """Whether the injected value is in an item the call wrote, or in its answer."""
    text = str(value).strip("[]'")
    changed = [v for k, v in table_state().items() if before.get(k) != v]
    return any(text in item for item in changed) or text in answer.body


def test_every_body_route_is_probed():
    assert undeclared() == []
    assert set(BOUND) <= set(BODIES)
    for route_key, fields in BOUND.items():
        declared = body_model(next(r for r in ROUTES if key(r) == route_key))
        assert declared is not None and set(fields) <= set(declared.model_fields)


def test_no_body_sets_what_the_caller_must_not(sandboxes, bar, matrix_directory):
    world = build_world(sandboxes)
    checkpoint = Checkpoint(sandboxes)
    a: FirmWorld = world.a
    probes = 0
    accepted: list[str] = []
    controls: list[str] = []
    unexplained: list[str] = []
    body_routes = 0
    for route in ROUTES:
        if route.method not in ("POST", "PUT", "PATCH"):
            continue
        k, role = key(route), caller(route)
        path = a.path_parameters(route)
        model = body_model(route)
        if model is None:  # reads no body: the fields must be ignored (values no answer holds by chance)
            attempts = [(", ".join(INJECTED), {f: f"injected-{f}" for f in INJECTED})]
        else:
            body_routes += 1
            valid = BODIES[k](a)
            control = request(route, role.person, path_parameters=path, body=valid)
            if not control.ok:
                controls.append(f"{k} as {role.name}: {control.status} {control.body[:200]}")
            if control.ok:
                checkpoint.restore()
            attempts = [(f, {**valid, f: v}) for f, v in INJECTED.items() if f not in model.model_fields]
            attempts += [(f, {**valid, f: v}) for f, v in BOUND.get(k, {}).items()]
        for field, body in attempts:
            before = table_state()
            answer = request(route, role.person, path_parameters=path, body=body)
            probes += 1
            label = f"{k} as {role.name} with {field}"
            if answer.ok:
                values = list(body.values()) if model is None else [body[field]]
                if any(_stored(value, before, answer) for value in values):
                    accepted.append(f"{label}: {answer.status} {answer.body[:200]}")
                checkpoint.restore()
            elif model is not None and field not in BOUND.get(k, {}):
                reasons = (answer.json or {}).get("details", [])
                if answer.status != 400 or not any(field in d.get("location", []) for d in reasons):
                    unexplained.append(f"{label}: {answer.status} {answer.body[:200]}")
    bar("mass assignment", routes=body_routes, probes=probes, accepted=len(accepted))
    assert not accepted, "\n".join(accepted)
    assert not controls, "the valid body alone fails:\n" + "\n".join(controls)
    assert not unexplained, "refused, but not for the injected field:\n" + "\n".join(unexplained)
