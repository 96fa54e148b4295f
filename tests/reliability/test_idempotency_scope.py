"""Idempotency per firm (issue 17 item 5): an `Idempotency-Key` never crosses firms.

A staff member of two firms who reuses a key must get firm B's own result in firm B: neither firm A's
answer replayed (firm B's action would silently never happen) nor a 409 because the key was "already
used" elsewhere. The routes come from infra/spec.py ROUTES and the handlers' signatures (every route
that reads an `Idempotency-Key` header), so a new idempotent route is checked without editing this file.
"""

from __future__ import annotations

import typing
from typing import Any

from infra.spec import ROUTES, Route
from shared.adapters.dynamodb.identity_repository import IdentityRepository
from shared.api.caller import FIRM_HEADER
from shared.api.idempotency import IDEMPOTENCY_HEADER
from shared.domain.identity import StaffMembership, StaffRole
from shared.settings import get_settings
from tests.bars import SUM_KEY
from tests.conftest import FakeLambdaContext, api_event
from tests.integration.aggregator_sandboxes import sandboxes
from tests.reliability.matrix_support import (
    BODIES,
    ROUTE_BY_KEY,
    Answer,
    FirmWorld,
    World,
    _resolver_route,
    body_model,
    build_world,
    handler,
    key,
    matrix_directory,
    request,
)

__all__ = ["matrix_directory", "sandboxes"]


# Idempotent routes whose one request spans every firm of the caller: their key is the person's.
PERSON_SCOPED = {
    "POST /connections/reauthorise": "the customer's own connections in every firm they are a customer of, "
    "in one request (reauthorise all): no one firm's request",
}


def idempotent_routes() -> list[Route]:
    """Every route whose handler reads the `Idempotency-Key` header."""

    def reads_key(route: Route) -> bool:
        hints = typing.get_type_hints(_resolver_route(route).func, include_extras=True)
        return any(
            getattr(meta, "alias", None) == IDEMPOTENCY_HEADER
            for hint in hints.values()
            for part in (hint, *typing.get_args(hint))
            for meta in getattr(part, "__metadata__", ())
        )

    return [route for route in ROUTES if reads_key(route)]


def call(route: Route, world: FirmWorld, user: Any, idempotency_key: str) -> Answer:
    body = BODIES[key(route)](world) if key(route) in BODIES else ({} if body_model(route) else None)
    event = api_event(
        route.method,
        route.path,
        user=user,
        path_parameters=world.path_parameters(route) or None,
        body=body,
        headers={IDEMPOTENCY_HEADER: idempotency_key, FIRM_HEADER: world.firm_id},
    )
    response = handler(route.function).lambda_handler(event, FakeLambdaContext())
    return Answer(response["statusCode"], response.get("body") or "")


def two_firm_staff(world: World) -> list[Any]:
    """People of both firms: firm A's admin, made an admin of firm B too, and firm A's owner of the
    customer, made an adviser of firm B and the owner (so the file's manager) of its customer too."""
    identities = IdentityRepository(get_settings().data_table_name)
    admin, owner = world.a.people.admin, world.a.people.owner
    identities.put_membership(StaffMembership(world.b.firm_id, admin.sub, StaffRole.ADMIN))
    identities.put_membership(StaffMembership(world.b.firm_id, owner.sub, StaffRole.ADVISER))
    transfer = ROUTE_BY_KEY["POST /customers/{customer_id}/transfer"]
    moved = request(
        transfer,
        world.b.people.admin,
        path_parameters=world.b.path_parameters(transfer),
        body={"owner_id": owner.sub},
    )
    assert moved.ok, moved
    return [admin, owner]


def test_an_idempotency_key_reused_in_another_firm_runs_there(sandboxes, matrix_directory, request):
    found = idempotent_routes()
    assert set(PERSON_SCOPED) <= {key(r) for r in found}, "a person-scoped route that is no longer idempotent"
    routes = [route for route in found if key(route) not in PERSON_SCOPED]
    assert len(routes) >= 5, [key(r) for r in routes]  # the generator finds them (refresh, invitations...)
    world = build_world(sandboxes)
    people = two_firm_staff(world)
    hits: list[str] = []
    for n, route in enumerate(routes):
        reused = f"reused-key-{n}"
        # The first of them the route lets act in firm A: the check below then means something.
        in_a, both = next(((a, p) for p in people if (a := call(route, world.a, p, reused)).ok), (None, None))
        assert in_a is not None, f"{key(route)}: nobody of both firms may call it"
        in_b = call(route, world.b, both, reused)
        replayed = in_b.ok and in_b.body == in_a.body
        refused = bool(in_b.body) and (in_b.json or {}).get("code") == "idempotency_key_reused"
        if replayed or refused or not in_b.ok:
            hits.append(f"{key(route)}: firm B answered {in_b.status} {in_b.body[:200]}")
            continue
        again = call(route, world.b, both, reused)  # within firm B the key still means "once"
        assert (again.status, again.body) == (in_b.status, in_b.body), key(route)
    request.node.user_properties.append((SUM_KEY, ["privacy", {"cross_firm_idempotency_hits": len(hits)}]))
    assert not hits, "\n".join(hits)
