"""Issue 17 item 8: a JSON body nested 1,000 deep is never a 5xx, on any route of infra/spec.py, and
every text field of every request body is held to the text rules or declared not human text.

Each route's sample event (events/api/, the one the sample-event test answers) is sent with a
1,000-deep body, through its function's handler on moto; a route that reads a body (its handler's
signature names a model, tests/reliability/matrix_support.body_model) must answer 400
`body_too_deep`, and no route may answer 5xx or log a stack trace. The routes come from ROUTES, so
a new one is probed without editing this test. Figure: `deep_json_5xx` on the `BAR privacy` line.
"""

from __future__ import annotations

import importlib
import json
import logging
import typing
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from infra.spec import FUNCTIONS, ROUTES
from local.demo_data import DEMO_USERS
from shared.api import fields
from shared.domain.input_rules import MAX_BODY_DEPTH, check_free_text, check_single_line_text
from tests.bars import SUM_KEY
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.onboarding_support import Person, seed_firms
from tests.integration.staff_support import known, staff_directory
from tests.reliability.matrix_support import body_model, key
from tools.sample_events import event_file

__all__ = ["sandboxes", "staff_directory"]

DEPTH = 1000
DEEP_BODIES = {
    "arrays": "[" * DEPTH + "]" * DEPTH,
    "objects": '{"a":' * DEPTH + "1" + "}" * DEPTH,
}


def test_a_deep_body_is_refused_on_every_route_and_never_a_5xx(
    sandboxes, lambda_context, staff_directory, caplog, request
):
    assert DEPTH > MAX_BODY_DEPTH
    seed_firms()
    known(staff_directory, *(Person(user.sub, user.email) for user in DEMO_USERS))
    server_errors: list[str] = []
    not_refused: list[str] = []
    body_routes = 0
    caplog.set_level(logging.ERROR)
    for route in ROUTES:
        handler = importlib.import_module(FUNCTIONS[route.function].handler.rsplit(".", 1)[0])
        reads_body = body_model(route) is not None
        body_routes += reads_body
        for shape, deep in DEEP_BODIES.items():
            event = json.loads(event_file(route).read_text(encoding="utf-8"))
            event["body"] = deep
            event["headers"]["content-type"] = "application/json"
            response = handler.lambda_handler(event, lambda_context)
            if response["statusCode"] >= 500:
                server_errors.append(f"{key(route)} ({shape}): {response['statusCode']}")
            if reads_body and (response["statusCode"], json.loads(response["body"])["code"]) != (
                400,
                "body_too_deep",
            ):
                not_refused.append(
                    f"{key(route)} ({shape}): {response['statusCode']} {response['body'][:80]}"
                )

    request.node.user_properties.append((SUM_KEY, ["privacy", {"deep_json_5xx": len(server_errors)}]))
    assert body_routes >= 30  # the routes that read a body were found (37 today)
    assert server_errors == []
    assert not_refused == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# Body fields that are strings but not human text: ids, tokens, a version, and the dashboard's search
# filters (compared with the search index, never stored or shown). A new string field must either take
# a type of shared/api/fields.py (or a pattern or format validator of its own) or be listed here.
NOT_HUMAN_TEXT = {
    "token",
    "public_token",
    "version",
    "institution_id",
    "firm_id",
    "owner_id",
    "account_id",
    "customer_id",
    "engagement_ids",
    "q",
    "contact",
    "package",
}
TEXT_RULES = {check_single_line_text, check_free_text, fields._email_address}


def _flattened(annotation: Any, metadata: list[Any]) -> tuple[list[Any], list[Any]]:
    """The plain types inside an annotation (through unions, lists and Annotated) and every piece of
    metadata on the way."""
    types: list[Any] = []
    found = list(metadata)
    stack = [annotation]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) is Annotated:
            stack.append(typing.get_args(current)[0])
            for meta in current.__metadata__:
                found += [meta, *(meta.metadata if isinstance(meta, FieldInfo) else [])]
        elif typing.get_args(current):
            stack += typing.get_args(current)
        else:
            types.append(current)
    return types, found


def unchecked_text_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Fields of `model` (and of the models inside it) that take free strings with no rule."""
    found = []
    for name, field in model.model_fields.items():
        types, metadata = _flattened(field.annotation, field.metadata)
        for nested in (t for t in types if isinstance(t, type) and issubclass(t, BaseModel)):
            found += unchecked_text_fields(nested, f"{prefix}{name}.")
        if str not in types or name in NOT_HUMAN_TEXT:
            continue
        validators = {m.func for m in metadata if isinstance(m, AfterValidator)}
        if not validators and not any(getattr(m, "pattern", None) for m in metadata):
            found.append(f"{model.__name__}.{prefix}{name}")
    return found


def text_rule_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, field in model.model_fields.items()
        if TEXT_RULES
        & {m.func for m in _flattened(field.annotation, field.metadata)[1] if isinstance(m, AfterValidator)}
    }


def test_every_text_field_of_every_request_body_is_held_to_a_rule():
    models = {model for route in ROUTES if (model := body_model(route)) is not None}
    assert sorted(f for model in models for f in unchecked_text_fields(model)) == []
    checked = {f"{model.__name__}.{name}" for model in models for name in text_rule_fields(model)}
    assert {
        "InvitationIn.name",
        "InvitationIn.message",
        "InvitationIn.email",
        "MemberIn.name",
        "AdviserIn.name",
        "DonationIn.description",
        "DocumentIn.content",
        "LedgerAccountIn.name",
        "RuleIn.text_contains",
        "StaffInvitationIn.name",
        "MemberAccessIn.email",
    } <= checked


def test_the_check_finds_a_free_text_field():
    class Probe(BaseModel):
        nickname: str
        message: fields.FreeText
        token: str

    assert unchecked_text_fields(Probe) == ["Probe.nickname"]
