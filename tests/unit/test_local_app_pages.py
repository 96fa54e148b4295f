"""The local front-end stand-in answers the bank's redirect (issue 13, item 15):
`/app/connections/complete?outcome=…`, where `/callbacks/gocardless` sends the browser."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

import pytest

from local.app_pages import CONNECTION_COMPLETE, OUTCOMES, UNKNOWN_OUTCOME, AppPages
from local.http_types import HttpRequest
from shared.domain.connections import ConnectionStatus


class NoSignIn:
    def sign_in(self, email: str, password: str) -> str:
        raise AssertionError("the landing page signs nobody in")


class NoApi(AppPages):
    def _call(self, *args, **kwargs):
        raise AssertionError("the landing page calls no API")


@pytest.fixture
def pages() -> AppPages:
    return NoApi("http://127.0.0.1:9", NoSignIn())


def landing(pages: AppPages, query: str, method: str = "GET"):
    return pages.handle(
        HttpRequest(method, f"{CONNECTION_COMPLETE}?{query}" if query else CONNECTION_COMPLETE)
    )


# Every outcome complete_from_callback returns: a connection's status, `invalid` or `error`.
CALLBACK_OUTCOMES = [status.value for status in ConnectionStatus] + ["invalid", "error"]


@pytest.mark.parametrize("outcome", CALLBACK_OUTCOMES)
def test_every_outcome_of_the_callback_has_its_own_sentence(pages, outcome):
    response = landing(pages, urlencode({"outcome": outcome}))
    assert response.status == 200
    assert ("content-type", "text/html; charset=utf-8") in response.headers
    title, sentence = OUTCOMES[outcome]
    assert (title, sentence) != UNKNOWN_OUTCOME
    body = response.body.decode()
    assert f"<h1>{title}</h1>" in body and escape(sentence) in body


def test_the_sentences_say_different_things_for_success_and_failure(pages):
    assert b"is connected" in landing(pages, "outcome=linked").body
    assert b"declined" in landing(pages, "outcome=rejected").body
    assert b"connected" not in landing(pages, "outcome=invalid").body


@pytest.mark.parametrize(
    "query",
    [
        "",
        "outcome=",
        "outcome=account_unavailable",
        "outcome=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "outcome=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "outcome=linked%20and%20more",
        "next=https%3A%2F%2Fevil.example&outcome=linked%3Cb%3E",
    ],
)
def test_an_unknown_outcome_gets_the_generic_sentence_and_its_text_is_never_shown(pages, query):
    response = landing(pages, query)
    assert response.status == 200
    body = response.body.decode()
    title, sentence = UNKNOWN_OUTCOME
    assert f"<h1>{title}</h1>" in body and escape(sentence) in body
    for fragment in ("script", "img", "onerror", "evil", "account_unavailable", "and more", "<b>"):
        assert fragment not in body


def test_the_first_outcome_counts_and_only_get_or_head_is_answered(pages):
    assert OUTCOMES["linked"][0].encode() in landing(pages, "outcome=linked&outcome=error").body
    assert landing(pages, "outcome=linked", "HEAD").status == 200
    assert landing(pages, "outcome=linked", "POST").status == 405


def test_other_paths_under_app_are_still_not_found(pages):
    assert pages.handle(HttpRequest("GET", "/app/connections/completed?outcome=linked")).status == 404
    assert pages.handle(HttpRequest("GET", "/app/connections")).status == 404
