"""Every route has a sample event in events/api/, and every sample event runs through its function."""

from __future__ import annotations

import importlib
import json

import pytest

from infra.spec import FUNCTIONS, ROUTES
from local.demo_data import DEMO_USERS
from tests.integration.onboarding_support import Person, seed_firms
from tests.integration.staff_support import known, staff_directory
from tools.sample_events import event_file

__all__ = ["staff_directory"]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_route_has_a_sample_event_that_its_function_answers(
    sandboxes, route, lambda_context, staff_directory
):
    path = event_file(route)
    assert path.exists(), "run `python -m tools.sample_events`"
    event = json.loads(path.read_text(encoding="utf-8"))
    assert event["routeKey"] == f"{route.method} {route.path}"
    assert ("authorizer" not in event["requestContext"]) is route.public
    seed_firms()
    known(staff_directory, *(Person(user.sub, user.email) for user in DEMO_USERS))
    handler = importlib.import_module(FUNCTIONS[route.function].handler.rsplit(".", 1)[0])
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] < 500
