"""Abuse limits through the real routes (issue 17 item 7), on the matrices' world of two firms.

Side effects are what costs or annoys: emails sent (SES), requests to a provider (the sandboxes, as
the provider sees them) and messages queued for imports and Data Refresh (each one a provider's work).

- Which routes need a limit is derived from the code, not listed by hand: every route of infra/spec.py
  ROUTES is called 4 times in a row by a caller the role matrix allows; a route whose side effects
  repeat (after the first call) must be in infra/spec.py ROUTE_LIMITS. A route with a side effect that
  cannot repeat (a deauthorisation, an account's review, an invitation's acceptance) needs none.
- `abuse_limit_bypasses`: for each route of ROUTE_LIMITS and each limit its actions spend (the table of
  shared/domain/limits.py), that limit at 2 and the route called 4 times: calls with side effects beyond
  2 are bypasses (target 0). The import-pending rule is switched off here so that the limit is what
  decides (it has its own tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from infra.spec import ROUTE_LIMITS, ROUTES, Route
from shared.adapters.queue import JobQueue
from shared.domain.connections import Connection
from shared.domain.limits import ACTIONS, Action, Limit
from tests.bars import SUM_KEY
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.onboarding_support import sent_emails
from tests.integration.test_abuse_limits import expire
from tests.reliability.matrix_support import (
    BODIES,
    Checkpoint,
    FirmWorld,
    World,
    build_world,
    key,
    matrix_directory,
    request,
)
from tests.reliability.test_role_matrix import ROLES, RULES, Role

__all__ = ["matrix_directory", "sandboxes"]
CALLS = 4
AT_MOST = 2  # the limit under test, lowered to this


@dataclass
class SideEffects:
    """Emails, provider requests and queued import/refresh messages, counted as they happen."""

    provider_requests: int = 0
    queued: int = 0

    def total(self) -> int:
        return len(sent_emails()) + self.provider_requests + self.queued


@pytest.fixture
def effects(sandboxes: Any, monkeypatch: pytest.MonkeyPatch) -> SideEffects:
    counted = SideEffects()
    for box in (sandboxes.gocardless, sandboxes.plaid):
        original = box.handle

        def handle(*args: Any, _original: Any = original) -> Any:
            counted.provider_requests += 1
            return _original(*args)

        monkeypatch.setattr(box, "handle", handle)
    send = JobQueue.send

    def queue_send(queue: JobQueue, bodies: Any, delay_seconds: int = 0) -> None:
        if not queue.queue_url.endswith("/exports"):  # an export is our own work, no provider's
            counted.queued += len(bodies)
        send(queue, bodies, delay_seconds)

    monkeypatch.setattr(JobQueue, "send", queue_send)
    return counted


def caller(route: Route) -> Role:
    """A caller the role matrix allows on the route (signed in when the route needs it)."""
    return next(role for role in ROLES if RULES[key(route)](role) and (role.person or route.public))


def calls(route: Route, world: FirmWorld, effects: SideEffects) -> Iterator[tuple[int, int]]:
    """The route called `CALLS` times: each call's status (429 also when the answer reports a limit
    per item, as "reauthorise all" does per connection) and side effects."""
    role = caller(route)
    body = BODIES[key(route)](world) if key(route) in BODIES else None
    for _ in range(CALLS):
        before = effects.total()
        answer = request(route, role.person, path_parameters=world.path_parameters(route), body=body)
        limited = answer.status == 429 or '"code":"rate_limited"' in answer.body.replace(" ", "")
        yield 429 if limited else answer.status, effects.total() - before


@pytest.fixture
def world(sandboxes: Any, matrix_directory: Any, effects: SideEffects) -> tuple[World, Checkpoint]:
    built = build_world(sandboxes)
    return built, Checkpoint(sandboxes)


def test_every_route_whose_side_effects_repeat_is_limited(world, effects, bar):
    built, checkpoint = world
    assert set(ROUTE_LIMITS) <= {key(r) for r in ROUTES}, "a limited route that does not exist"
    assert {a for actions in ROUTE_LIMITS.values() for a in actions} <= {a.value for a in Action}
    with_effects, repeating, missing = [], [], []
    for route in ROUTES:
        if RULES[key(route)] is RULES["POST /webhooks/plaid"]:  # only Plaid's signature (webhook suite)
            continue
        checkpoint.restore()
        seen = [done for _, done in calls(route, built.a, effects)]
        if any(seen):
            with_effects.append(key(route))
        if any(seen[1:]):
            repeating.append(key(route))
            if key(route) not in ROUTE_LIMITS:
                missing.append(f"{key(route)}: side effects per call {seen}")
    checkpoint.restore()
    bar(
        "abuse limit coverage",
        routes=len(ROUTES),
        with_side_effects=len(with_effects),
        repeating=len(repeating),
        limited=len(ROUTE_LIMITS),
        unlimited_repeating=len(missing),
    )
    assert not missing, (
        "routes whose emails, provider calls or imports repeat without a limit:\n" + "\n".join(missing)
    )


def limits_of(route_key: str) -> list[Limit]:
    return list(dict.fromkeys(limit for a in ROUTE_LIMITS[route_key] for limit in ACTIONS[Action(a)]))


def lowered(monkeypatch: pytest.MonkeyPatch, limit: Limit) -> None:
    for action, limits in list(ACTIONS.items()):
        monkeypatch.setitem(
            ACTIONS, action, tuple(replace(one, count=AT_MOST) if one == limit else one for one in limits)
        )


def test_no_limited_action_goes_beyond_its_limit(world, effects, bar, monkeypatch, request):
    built, checkpoint = world
    monkeypatch.setattr(Connection, "import_pending", lambda self, now: False)
    bypasses, cases, refused, unexercised = 0, 0, 0, []
    for route_key in ROUTE_LIMITS:
        route = next(r for r in ROUTES if key(r) == route_key)
        for limit in limits_of(route_key):
            checkpoint.restore()
            if route_key == "POST /connections/reauthorise":
                expire(built.a.ids["connection"])  # "reauthorise all" has one to renew
            with monkeypatch.context() as patch:
                lowered(patch, limit)
                answers = list(calls(route, built.a, effects))
            cases += 1
            effectful = sum(1 for _, done in answers if done)
            bypasses += max(0, effectful - AT_MOST)
            if any(status == 429 for status, _ in answers):
                refused += 1
            elif effectful:
                unexercised.append(f"{route_key} {limit.name}: {answers}")
    checkpoint.restore()
    request.node.user_properties.append((SUM_KEY, ["privacy", {"abuse_limit_bypasses": bypasses}]))
    bar("abuse limits", limited_routes=len(ROUTE_LIMITS), cases=cases, refused=refused, bypasses=bypasses)
    assert bypasses == 0
    assert not unexercised, "side effects repeated and no 429:\n" + "\n".join(unexercised)
