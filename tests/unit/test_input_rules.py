"""Issue 17 item 8, input hygiene: body size and depth, control characters and bidirectional overrides
in names and free text, one spelling of an email (shared/domain/input_rules.py, shared/api/fields.py).
The routes' answers are in tests/reliability/test_input_hygiene.py and tests/integration."""

from __future__ import annotations

import json
import logging

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.api.app import create_app
from shared.api.fields import EmailAddress, FreeText, SingleLineText
from shared.domain.customers import email_fingerprint, normalise_email
from shared.domain.identity import Principal
from shared.domain.input_rules import (
    MAX_BODY_BYTES,
    MAX_BODY_DEPTH,
    BodyTooDeep,
    BodyTooLarge,
    body_depth,
    parse_json_body,
)
from shared.services.customer_invitations import accept_invitation, invite_customer
from tests.conftest import load_event
from tests.unit.test_onboarding_rules import ADMIN, FIRM_ID, World, world

__all__ = ["world"]  # the onboarding rules' world on fakes

# every character the text rules refuse anywhere, by kind
C0 = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
C1_AND_DEL = [chr(c) for c in range(0x7F, 0xA0)]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
LINE_BREAKS_AND_TAB = ["\n", "\r", "\t"]


def nested(depth: int, shape: str = "arrays") -> str:
    if shape == "arrays":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# bodies --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["arrays", "objects"])
def test_a_body_at_the_depth_limit_is_parsed_and_one_level_more_is_refused(shape):
    assert body_depth(nested(MAX_BODY_DEPTH, shape)) == MAX_BODY_DEPTH
    assert parse_json_body(nested(MAX_BODY_DEPTH, shape)) is not None
    with pytest.raises(BodyTooDeep):
        parse_json_body(nested(MAX_BODY_DEPTH + 1, shape))


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_a_very_deep_body_is_refused_before_it_is_parsed(depth):
    with pytest.raises(BodyTooDeep) as refused:
        parse_json_body(nested(depth))
    assert (refused.value.status, refused.value.code) == (400, "body_too_deep")


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"name": "[[[[{{{{" * 50, "quote": 'he said "[[" \\ ', "list": [[1]]})
    assert body_depth(text) == 3
    assert parse_json_body(text)["list"] == [[1]]


def test_a_body_over_the_size_limit_is_refused_counting_bytes_not_characters():
    fits = json.dumps({"text": "x" * (MAX_BODY_BYTES - 20)})
    assert len(fits.encode()) <= MAX_BODY_BYTES and parse_json_body(fits)
    with pytest.raises(BodyTooLarge) as refused:
        parse_json_body(json.dumps({"text": "é" * (MAX_BODY_BYTES // 2)}, ensure_ascii=False))
    assert refused.value.code == "body_too_large"
    with pytest.raises(BodyTooLarge):
        parse_json_body(b" " * (MAX_BODY_BYTES + 1))


def test_the_largest_body_we_accept_fits_the_limits():
    """A Data Refresh trigger of 10,000 engagements (refresh_api TriggerIn) with 40-character ids."""
    trigger = json.dumps({"engagement_ids": ["0" * 40] * 10_000})
    assert len(parse_json_body(trigger)["engagement_ids"]) == 10_000


router = Router()


class Thing(BaseModel):
    name: str


@router.post("/things")
def create_thing(thing: Thing) -> dict[str, str]:
    return {"name": thing.name}


app = create_app(router)


def post(body: str) -> tuple[int, dict[str, str]]:
    event = load_event("api/get_health.json")
    event.update(rawPath="/things", routeKey="POST /things", body=body)
    event["headers"]["content-type"] = "application/json"
    event["requestContext"]["http"].update(method="POST", path="/things")
    response = app.resolve(event, {})
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (nested(1000), "body_too_deep"),
        (nested(1000, "objects"), "body_too_deep"),
        (" " * (MAX_BODY_BYTES + 1), "body_too_large"),
    ],
    ids=["deep-arrays", "deep-objects", "too-large"],
)
def test_every_api_function_answers_400_with_a_stable_code_and_logs_no_stack_trace(body, code, caplog):
    caplog.set_level(logging.DEBUG)
    status, answer = post(body)
    assert (status, answer["code"]) == (400, code)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def test_a_body_within_the_limits_still_reaches_the_route():
    assert post(json.dumps({"name": "Jane"})) == (200, {"name": "Jane"})


# names and free text --------------------------------------------------------------------------------
class Texts(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: SingleLineText = Field(max_length=200)
    message: FreeText | None = None


@pytest.mark.parametrize(
    "char", [*C0, *C1_AND_DEL, *BIDI, *LINE_BREAKS_AND_TAB], ids=lambda c: f"U+{ord(c):04X}"
)
def test_a_name_refuses_every_control_character_and_bidirectional_override(char):
    with pytest.raises(ValidationError) as refused:
        Texts(name=f"Jane{char}Doe")
    [error] = refused.value.errors()
    assert error["loc"] == ("name",)
    assert "Jane" not in error["msg"]  # the reason, never the value


@pytest.mark.parametrize("char", [*C0, *C1_AND_DEL, *BIDI], ids=lambda c: f"U+{ord(c):04X}")
def test_free_text_refuses_them_too(char):
    with pytest.raises(ValidationError):
        Texts(name="Jane", message=f"Hello{char}there")


def test_free_text_keeps_line_breaks_and_tabs_and_names_keep_every_script():
    text = Texts(name="Zoë O'Brien-Łukasz 李小龙 محمد", message="Dear Jane,\r\n\tsee you soon.\nA.")
    assert text.message == "Dear Jane,\r\n\tsee you soon.\nA."
    hebrew = "\u200f\u05e9\u05dc\u05d5\u05dd\u200e"  # with direction marks, which are not overrides
    assert Texts(name=hebrew).name == hebrew


# emails ------------------------------------------------------------------------------------------
EMAIL = TypeAdapter(EmailAddress)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (" Jane.Doe@Example.ORG ", "jane.doe@example.org"),
        ("Jane@Bücher.Example", "jane@xn--bcher-kva.example"),
        ("jane@XN--BCHER-KVA.example", "jane@xn--bcher-kva.example"),
        ("jane@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com", "jane@example.com"),  # full-width letters
        ("JOSÉ@example.org", "josé@example.org"),  # the local part keeps its letters, lower case
    ],
)
def test_an_email_is_normalised_in_one_place(given, stored):
    assert normalise_email(given) == stored
    assert EMAIL.validate_python(given.strip()) == stored
    assert email_fingerprint(given) == email_fingerprint(stored)


@pytest.mark.parametrize(
    "given",
    [
        "a" * 65 + "@example.org",  # local part over 64
        "jane@" + ".".join(["a" * 50] * 5) + ".org",  # over 254
        "jane@ex ample.org",
        "jane",
        "jane@bü\u202echer.example",
        "jane\x00@example.org",
    ],
    ids=["local-65", "total-255", "space", "no-domain", "bidi", "nul"],
)
def test_an_invalid_or_too_long_email_is_refused(given):
    with pytest.raises(ValidationError):
        EMAIL.validate_python(given)


def test_normalising_never_raises_on_what_a_token_or_record_holds():
    assert normalise_email("no-at-sign") == "no-at-sign"
    assert normalise_email("Jane@-bad-.Example") == "jane@-bad-.example"


@pytest.mark.fakes
def test_one_address_in_any_spelling_is_one_invitation_and_accepts_its_person(world: World):
    first = invite_customer(world.later(), ADMIN, name="Jane", email="Jane@Bücher.Example", message=None)
    again = invite_customer(
        world.later(), ADMIN, name="Jane", email="JANE@xn--bcher-kva.example", message=None
    )

    assert first.created and not again.created
    assert again.customer.customer_id == first.customer.customer_id
    assert world.customer(first.customer).email == "jane@xn--bcher-kva.example"
    assert world.fakes.customers.find_by_email(FIRM_ID, "jane@BÜCHER.example") is not None
    signed_in = Principal("jane-sub", "Jane@bücher.example")  # however the token spells it
    accepted = accept_invitation(world.later(), signed_in, world.tokens("jane@xn--bcher-kva.example")[-1])
    assert accepted.user_id == "jane-sub"
