"""A customer links a bank through Plaid in the browser (issue 18): the provider, the bank, consent, then
Plaid Link — locally the Plaid sandbox's stand-in for Link's script, with Plaid's own JS interface
(`Plaid.create({token, onSuccess, onExit}).open()`) — then `POST /connections/{id}/complete` with Link's
public token and the same outcome screen as the bank's redirect. Closing Link is said in words and Link
opens again with the same token; the second journey runs under the console's real CSP ('self' only)."""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

from infra.spec import SECRETS
from local.demo_data import DEMO_USERS
from tests.e2e.browser_support import Screens
from tests.e2e.staff_support import app, sign_in
from tests.local_system_support import LocalProcess, http_get, http_post

pytestmark = pytest.mark.e2e

CUSTOMER = next(u for u in DEMO_USERS if u.role == "customer")
LINK_FRAME = "iframe[title='Plaid Link (local sandbox)']"


def choose_plaid_bank(page: Page, search: str, bank: str, screens: Screens | None = None) -> None:
    """From the home screen: Link a bank account, Plaid, the bank found by `search`, consent."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bank data").click()
    page.get_by_role("link", name="Link a bank account").click()
    page.get_by_role("radio", name=re.compile("^Plaid")).check()
    expect(page.get_by_text("Type your bank's name and search.")).to_be_visible()  # Plaid needs a name
    page.get_by_label("Bank name").fill(search)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("button", name=f"Choose {bank}", exact=True)).to_be_visible()
    if screens is not None:
        screens.check(page, "connect-plaid-search")
    page.get_by_role("button", name=f"Choose {bank}", exact=True).click()
    expect(page.get_by_role("heading", level=2)).to_have_text(f"Share your data from {bank}")
    page.get_by_label("I agree to share this data with my firm.").check()


def check_after_link(page: Page, screens: Screens, name: str) -> None:
    """`screens.check` once Link's frame came or went. Playwright's `networkidle` (which the check waits
    for) is not re-armed when a child frame's document loads after the page was idle
    (microsoft/playwright#42598): one request of the page's own arms it again."""
    page.evaluate("() => fetch(location.href).then((answer) => answer.status)")
    screens.check(page, name)


def test_a_customer_links_a_bank_through_plaid_link_and_lands_on_the_outcome(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, CUSTOMER.email)
    started: list[str] = []
    page.on(
        "request",
        lambda r: started.append(r.url) if r.method == "POST" and r.url.endswith("/connections") else None,
    )
    choose_plaid_bank(page, "Northwynd", "Northwynd Building Society", screens)
    screens.check(page, "connect-plaid-consent")

    page.get_by_role("button", name="Continue with Plaid").click()
    link = page.frame_locator(LINK_FRAME)
    expect(link.get_by_role("heading", level=1)).to_have_text("Connect a bank account \u2014 Plaid sandbox")
    check_after_link(page, screens, "connect-plaid-link")
    link.get_by_role("link", name="Cancel").click()  # the person closes Link: onExit
    expect(page.locator(LINK_FRAME)).to_have_count(0)
    closed = page.get_by_role("status").filter(has_text="You closed Plaid Link before connecting a bank")
    expect(closed).to_be_visible()
    check_after_link(page, screens, "connect-plaid-closed")

    page.get_by_role("button", name="Continue with Plaid").click()  # Link again, with the same token
    link.get_by_role("link", name="Connect Northwynd Building Society").click()  # onSuccess
    expect(page.get_by_role("heading", level=1)).to_have_text("Bank connected")
    assert page.url.startswith(app(local, "/connections/complete?outcome=linked"))
    assert len(started) == 1, started  # one consent: closing Link did not start another
    check_after_link(page, screens, "connect-plaid-linked")

    page.get_by_role("link", name="See my bank connections").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bank data").click()
    connection = page.get_by_role("listitem").filter(has_text="Northwynd Building Society").first
    expect(connection).to_contain_text("connected")


def test_plaid_link_runs_under_the_consoles_own_content_security_policy(
    local: LocalProcess, browser: Browser
) -> None:
    """No bypass here (nor axe): the stand-in script, its dialog and frame are all 'self'."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    refused: list[str] = []
    scripts: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def on_request(request: Request) -> None:
        if request.resource_type == "script":
            scripts.append(request.url)

    page.on("console", on_console)
    page.on("request", on_request)
    try:
        sign_in(page, local, CUSTOMER.email)
        choose_plaid_bank(page, "Northwind", "Northwind Bank Business")
        page.get_by_role("button", name="Continue with Plaid").click()
        page.frame_locator(LINK_FRAME).get_by_role("link", name="Connect Northwind Bank Business").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Bank connected")
    finally:
        context.close()
    assert refused == []
    assert f"{local.base_url}/sandbox/plaid/link/v2/stable/link-initialize.js" in scripts
    assert all(url.startswith(local.base_url) for url in scripts), scripts


def test_a_plaid_connection_that_needs_the_bank_sign_in_again_is_reauthorised_through_link(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    """The bank asks for the sign-in again (Plaid's ITEM_LOGIN_REQUIRED, fired by the sandbox): the
    connection shows "Reauthorise", which opens Link in update mode for the same Item, then completes."""
    sign_in(page, local, CUSTOMER.email)
    choose_plaid_bank(page, "Northwind", "Northwind Bank")
    page.get_by_role("button", name="Continue with Plaid").click()
    page.frame_locator(LINK_FRAME).get_by_role("link", name="Connect Northwind Bank", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bank connected")

    keys = SECRETS["aggregator"].local_value
    items = http_get(local.port, "/sandbox/plaid/_control/state")[1]["items"]
    [item] = [i for i in items if i["institution_id"] == "ins_900004" and not i["removed"]]
    reset = {
        "client_id": keys["plaid_client_id"],
        "secret": keys["plaid_secret"],
        "access_token": item["access_token"],
    }
    assert http_post(local.port, "/sandbox/plaid/sandbox/item/reset_login", reset)[0] == 200

    # The customer may hold another Northwind connection (through GoCardless): the one to fix has the button.
    northwind = page.get_by_role("listitem").filter(has_text=re.compile(r"^Northwind Bank —"))
    card = northwind.filter(has=page.get_by_role("button", name="Reauthorise"))
    # The sandbox's webhook is handled while the page may already be loading (functions run concurrently,
    # as on Lambda): the customer opens the page again until it shows the connection to fix (bounded).
    for _ in range(20):
        page.goto(app(local, "/me"))
        with contextlib.suppress(AssertionError):
            expect(card).to_have_count(1, timeout=1_000)
            break
    expect(card).to_have_count(1)
    screens.check(page, "my-bank-reauthorise")
    card.get_by_role("button", name="Reauthorise").click()
    link = page.frame_locator(LINK_FRAME)
    expect(link.get_by_role("heading", level=1)).to_have_text("Reconnect your account \u2014 Plaid sandbox")
    link.get_by_role("link", name="Connect Northwind Bank", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bank connected")
    page.goto(app(local, "/me"))
    expect(northwind.first).to_be_visible()
    expect(northwind.filter(has=page.get_by_role("button", name="Reauthorise"))).to_have_count(0)
