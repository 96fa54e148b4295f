"""An admin's and an adviser's journeys in the browser: sign in through the hosted pages (with the
authenticator's code), the customers' sections, an invitation by keyboard only, a customer's page,
sign out."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from local.demo_data import DEMO_CUSTOMER_ID, DEMO_USERS
from local.user_pool import totp_code
from tests.e2e.browser_support import Screens
from tests.e2e.staff_support import app, emailed_link, sign_in, tab_to
from tests.local_system_support import LocalProcess, http_call, local_token

pytestmark = pytest.mark.e2e

ADMIN, ADVISER, CUSTOMER = (
    next(u for u in DEMO_USERS if u.role == role) for role in ("admin", "adviser", "customer")
)


def test_an_admin_signs_in_with_the_second_factor_and_signs_out(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, ADMIN.email, staff=True)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {ADMIN.name}")
    expect(page.get_by_text("Demo Advisory LLP", exact=True)).to_be_visible()
    screens.check(page, "home-admin")
    page.goto(app(local, "/customers"))
    page.get_by_role("tab", name="Ended").click()  # admins keep ended relationships for retention
    expect(page.get_by_role("tab", name="Ended")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("No relationship has ended.")).to_be_visible()
    screens.check(page, "customers-ended")
    with page.expect_request(lambda request: "/logout?" in request.url) as logout:
        page.get_by_role("button", name="Sign out").click()
    assert "id_token_hint" not in logout.value.url and "token" not in logout.value.url  # no token in a URL
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('oidc.user'))") == []
    screens.check(page, "signed-out")


def test_the_customers_sections_and_an_invitation_made_by_keyboard_only(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, ADVISER.email, staff=True)
    page.goto(app(local, "/customers"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    expect(page.get_by_role("tab", name="Invited")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name="Ended")).to_have_count(0)  # advisers do not see ended ones
    screens.check(page, "customers-invited")

    tab_to(page, "Invite a customer")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Kim Keyboard")
    page.keyboard.press("Tab")
    page.keyboard.type("kim.keyboard@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("Bonjour Kim")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("status").filter(has_text="Invitation sent to kim.keyboard@example.org")
    ).to_be_visible()
    row = page.get_by_role("row").filter(has_text="kim.keyboard@example.org")
    expect(row).to_be_visible()
    screens.check(page, "customers-invited-after-invite")

    row.get_by_role("button", name="Resend the invitation to Kim Keyboard").click()
    expect(page.get_by_role("status").filter(has_text="was sent to Kim Keyboard again")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Withdraw the invitation of Kim Keyboard").click()
    expect(page.get_by_role("status").filter(has_text="was withdrawn")).to_be_visible()

    page.get_by_role("tab", name="Customers").click()
    expect(page.get_by_role("tab", name="Customers")).to_have_attribute("aria-selected", "true")
    screens.check(page, "customers-customers")
    page.get_by_role("tab", name="Pending").press("ArrowRight")  # the tabs move with the arrow keys
    page.get_by_role("tab", name="Pending").click()
    screens.check(page, "customers-pending")


def test_a_customers_page_shows_accounts_connections_transactions_and_for_admins_the_audit(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, ADMIN.email, staff=True)
    page.goto(app(local, f"/customers/{DEMO_CUSTOMER_ID}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(CUSTOMER.name)
    for section in ("Shared accounts", "Bank connections", "Transactions", "Audit trail"):
        expect(page.get_by_role("heading", level=2, name=section)).to_be_visible()
    page.get_by_role("button", name="Import transactions").click()
    expect(page.get_by_role("status").filter(has_text="queued")).to_be_visible()
    screens.check(page, "customer")


def test_an_adviser_does_not_see_the_audit_and_another_firms_customer_is_not_found(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, ADVISER.email, staff=True)
    page.goto(app(local, f"/customers/{DEMO_CUSTOMER_ID}"))  # the adviser owns the demo customer
    expect(page.get_by_role("heading", level=2, name="Transactions")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Audit trail")).to_have_count(0)
    expect(page.get_by_role("heading", level=2, name="Team on this customer")).to_have_count(0)
    page.goto(app(local, "/customers/01JNOSUCHCUSTOMER0000000000"))
    expect(page.get_by_role("alert")).to_contain_text(
        "This item does not exist, or you do not have access to it."
    )
    screens.check(page, "customer-not-found")


def test_a_new_staff_member_accepts_enrols_an_authenticator_in_the_console_and_reaches_the_firm(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    email, password = "sam.staff@example.org", "Sam-Passw0rd!x"
    body = json.dumps({"name": "Sam Staff", "email": email, "role": "adviser"}).encode()
    headers = {
        "Authorization": f"Bearer {local_token(local.port, ADMIN.email)}",
        "Content-Type": "application/json",
    }
    assert http_call(local.port, "POST", "/staff/invitations", body, headers)[0] == 201
    page.goto(emailed_link(local, email, "/app/staff-invitations/accept?token="))
    expect(page.get_by_text("Demo Advisory LLP invites you to join its team as adviser.")).to_be_visible()
    screens.check(page, "invitation-staff")
    page.get_by_label("Choose a password").fill(password)
    page.get_by_role("button", name="Create my account and accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation accepted")

    sign_in(page, local, email, password)  # no authenticator yet: the password alone
    expect(page.get_by_role("heading", level=2, name="Set up your authenticator app")).to_be_visible()
    page.goto(app(local, "/customers"))
    expect(page.get_by_role("alert")).to_contain_text("Set up your authenticator app")  # 403 mfa_required
    page.goto(app(local))
    page.get_by_role("button", name="Set up my authenticator app").click()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("6-digit code").fill("000000" if totp_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    screens.check(page, "mfa-setup")
    page.get_by_label("6-digit code").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=2, name="Set up your authenticator app")).to_have_count(0)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, local, email, password, staff=True)  # from now on the pool asks for the code
