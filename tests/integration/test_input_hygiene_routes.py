"""Issue 17 item 8 on real routes, on moto: names and free text refuse control characters and
bidirectional overrides (400, nothing stored or emailed), free text keeps its line breaks, an email
is stored in its one spelling, and a deep body is a 400 on the public invitation check."""

from __future__ import annotations

import json

import pytest

from functions.access_api import handler as access
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from local.outbox import sent_emails
from shared import bootstrap
from tests.integration.file_access_support import MANAGER, FileWorld, new_file, seed_staff, table_state
from tests.integration.onboarding_support import call

BIDI_NAME = "Jane \u202egnp.exe"  # shows as "Jane exe.png" in a list or an email


@pytest.fixture
def world(aws) -> FileWorld:
    seed_staff()
    return new_file()


def refused_and_nothing_changed(handler, method: str, route: str, **kwargs) -> dict:
    before, emails = table_state(), len(sent_emails())
    status, answer = call(handler, method, route, MANAGER, **kwargs)
    assert (status, answer["code"]) == (400, "invalid_request"), answer
    assert table_state() == before and len(sent_emails()) == emails
    assert all("\u202e" not in json.dumps(detail) for detail in answer["details"])  # never echoed
    return answer


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", BIDI_NAME),
        ("name", "Jane\nDoe"),
        ("name", "Jane\x00"),
        ("message", "Hi\u2066there"),
        ("message", "\x1b[31m"),
    ],
)
def test_an_invitation_with_a_control_character_or_override_is_refused(world, field, value):
    body = {"name": "Jane Doe", "email": "jane.doe@example.org", field: value}
    answer = refused_and_nothing_changed(invitations, "POST", "/customers/invitations", body=body)
    assert [d["location"] for d in answer["details"]] == [["body", field]]


def test_an_invitation_keeps_its_message_lines_and_stores_the_email_in_one_spelling(world):
    body = {"name": "Zoë Müller", "email": "Zoe@Bücher.Example", "message": "Dear Zoë,\n\twelcome."}
    status, created = call(invitations, "POST", "/customers/invitations", MANAGER, body=body)
    assert status == 201, created
    stored = bootstrap.onboarding().customers.get(DEMO_FIRM.firm_id, created["customer_id"])
    assert stored is not None and stored.email == "zoe@xn--bcher-kva.example"
    [email] = [e for e in sent_emails() if "zoe@xn--bcher-kva.example" in e.to]
    assert "Dear Zoë," in email.body and "welcome." in email.body

    again = {**body, "email": "ZOE@xn--bcher-kva.EXAMPLE"}
    status, resent = call(invitations, "POST", "/customers/invitations", MANAGER, body=again)
    assert (status, resent["customer_id"]) == (200, created["customer_id"])  # the same person


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/files/{file_id}/members", {"name": BIDI_NAME, "relation": "child"}, "name"),
        ("/files/{file_id}/simulations", {"title": "Plan", "content": "a\x00b"}, "content"),
        ("/files/{file_id}/simulations", {"title": "Plan\u2069", "content": "ok"}, "title"),
    ],
)
def test_file_names_and_texts_refuse_them_too(world, route, body, field):
    answer = refused_and_nothing_changed(access, "POST", route, path_parameters=world.ids, body=body)
    assert [d["location"] for d in answer["details"]] == [["body", field]]


def test_a_file_document_keeps_its_line_breaks(world):
    body = {"title": "Plan", "content": "Line one\r\nLine two\n\tindented"}
    status, created = call(
        access, "POST", "/files/{file_id}/simulations", MANAGER, path_parameters=world.ids, body=body
    )
    assert status == 201, created
    assert created["content"] == body["content"]


@pytest.mark.parametrize("route", ["/invitations/verify", "/customers/invitations"])
def test_a_deep_body_is_a_400_before_anything_is_read(aws, route):
    seed_staff()
    status, answer = call(invitations, "POST", route, MANAGER, body="[" * 1000 + "]" * 1000)
    assert (status, answer["code"]) == (400, "body_too_deep")
