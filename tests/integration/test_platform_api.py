"""The platform function end to end on moto, driven by the sample events in events/."""

from __future__ import annotations

import json

import pytest

from local.demo_data import DEMO_FIRM, DEMO_USERS, seed_demo_data
from tests.conftest import load_event

ADMIN, ADVISER, CUSTOMER = DEMO_USERS


@pytest.fixture
def handler(aws):
    seed_demo_data("data")
    from functions.platform_api.handler import lambda_handler

    return lambda_handler


def me_event(user=None, **claims):
    event = load_event("api/get_me.json")
    if user is not None:
        claims = {"sub": user.sub, "email": user.email, **claims}
    event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    return event


def body_of(response):
    return json.loads(response["body"])


def test_health_needs_no_identity(handler, lambda_context):
    response = handler(load_event("api/get_health.json"), lambda_context)
    assert response["statusCode"] == 200 and body_of(response) == {"status": "ok"}


def test_me_for_the_admin_lists_the_firm_and_role(handler, lambda_context):
    response = handler(me_event(ADMIN), lambda_context)
    assert response["statusCode"] == 200
    me = body_of(response)
    assert me["user_id"] == ADMIN.sub and me["name"] == ADMIN.name
    assert me["staff_of"] == [{"firm_id": DEMO_FIRM.firm_id, "firm_name": DEMO_FIRM.name, "role": "admin"}]
    assert me["customer_of"] == []


def test_me_for_a_customer_lists_the_firms_they_are_customer_of(handler, lambda_context):
    me = body_of(handler(me_event(CUSTOMER), lambda_context))
    assert me["staff_of"] == []
    assert [c["firm_id"] for c in me["customer_of"]] == [DEMO_FIRM.firm_id]


def test_role_claims_in_the_token_are_ignored(handler, lambda_context):
    me = body_of(handler(me_event(ADVISER, role="admin", **{"custom:role": "admin"}), lambda_context))
    assert me["staff_of"][0]["role"] == "adviser"


def test_unknown_identity_gets_an_empty_profile(handler, lambda_context):
    me = body_of(handler(me_event(sub="someone-new", email="new@example.com"), lambda_context))
    assert (me["name"], me["staff_of"], me["customer_of"]) == (None, [], [])


def test_missing_claims_are_401_json(handler, lambda_context):
    event = load_event("api/get_me.json")
    del event["requestContext"]["authorizer"]
    response = handler(event, lambda_context)
    assert response["statusCode"] == 401 and body_of(response)["code"] == "unauthenticated"


def test_openapi_document_is_served(handler, lambda_context):
    response = handler(load_event("api/get_openapi_json.json"), lambda_context)
    assert response["statusCode"] == 200
    assert "/me" in body_of(response)["paths"]
