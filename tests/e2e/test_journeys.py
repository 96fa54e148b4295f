"""The web console's journeys in a real browser over the local system (issue 18): every screen is
checked with axe-core and photographed (tests/e2e/browser_support.py)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from local.demo_data import DEFAULT_TOKEN_USER
from tests.e2e.browser_support import Screens
from tests.e2e.staff_support import app, emailed_link
from tests.local_system_support import LocalProcess, http_call, local_token

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Jane-Passw0rd!x"


def invite_customer(local: LocalProcess, name: str, email: str) -> str:
    body = json.dumps({"name": name, "email": email}).encode()
    headers = {
        "Authorization": f"Bearer {local_token(local.port, DEFAULT_TOKEN_USER)}",
        "Content-Type": "application/json",
    }
    assert http_call(local.port, "POST", "/customers/invitations", body, headers)[0] == 201
    return emailed_link(local, email, "/app/invitations/accept?token=")


def test_signed_out_home_says_what_to_do(local: LocalProcess, page: Page, screens: Screens) -> None:
    page.goto(app(local))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")
    expect(page.get_by_role("main").get_by_role("button", name="Sign in")).to_be_visible()
    screens.check(page, "home-signed-out")


def test_an_unknown_address_is_a_page_not_found(local: LocalProcess, page: Page, screens: Screens) -> None:
    page.goto(app(local, "/no/such/screen"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    screens.check(page, "not-found")


@pytest.mark.parametrize(
    ("outcome", "title"),
    [("linked", "Bank connected"), ("rejected", "Connection declined"), ("<script>", "Connection finished")],
)
def test_the_bank_redirect_lands_on_its_outcome(
    local: LocalProcess, page: Page, screens: Screens, outcome: str, title: str
) -> None:
    page.goto(app(local, f"/connections/complete?outcome={outcome}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert "<script>" not in page.content().split("<body", 1)[1]
    screens.check(page, f"connection-complete-{re.sub(r'[^a-z_]', '', outcome) or 'unknown'}")


def test_the_language_switch_gives_french_and_is_remembered(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    page.goto(app(local, "/connections/complete?outcome=linked"))
    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Banque connectée")
    assert page.evaluate("document.documentElement.lang") == "fr"
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Banque connectée")
    screens.check(page, "connection-complete-fr")


def test_a_customer_accepts_an_invitation_by_creating_an_account(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    link = invite_customer(local, "Jane Browser", "jane.browser@example.org")
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your invitation")
    expect(page.get_by_text("Demo Advisory LLP invites you to share your bank data")).to_be_visible()
    screens.check(page, "invitation-customer")
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account and accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation accepted")
    expect(page.get_by_text("You now share your bank data with Demo Advisory LLP.")).to_be_visible()
    screens.check(page, "invitation-accepted")
    # The link is single-use: opened again, it says so in words.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    screens.check(page, "invitation-invalid")


def test_a_refused_password_is_said_in_words_not_json(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    page.goto(invite_customer(local, "Paul Weak", "paul.weak@example.org"))
    page.get_by_label("Choose a password").fill("weakpassword")
    page.get_by_role("button", name="Create my account and accept").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    assert "{" not in alert.inner_text() and "code" not in alert.inner_text()
    screens.check(page, "invitation-error")
