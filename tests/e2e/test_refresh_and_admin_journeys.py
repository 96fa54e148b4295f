"""Data Refresh in the browser (seed 002): the dashboard's filters, selecting by keyboard only,
"Refresh data", the job's progress updating by itself until it is done, the history; and the firm
admin's screens."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from local.demo_data import DEMO_USERS
from tests.e2e.browser_support import Screens
from tests.e2e.staff_support import app, sign_in, tab_to
from tests.local_system_support import LocalProcess, http_get, http_post, local_token

pytestmark = pytest.mark.e2e

ADMIN, ADVISER, CUSTOMER = (
    next(u for u in DEMO_USERS if u.role == role) for role in ("admin", "adviser", "customer")
)


def test_a_refresh_chosen_by_keyboard_only_runs_and_its_progress_updates_by_itself(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    # The demo customer accepts the terms (R-REF-5: no refresh without them), as on their EULA screen.
    customer = local_token(local.port, CUSTOMER.email)
    version = http_get(local.port, "/eula", customer)[1]["version"]
    assert http_post(local.port, "/me/eula", {"version": version}, customer)[0] in (200, 409)
    sign_in(page, local, ADVISER.email, staff=True)
    page.goto(app(local, "/data-refresh"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Data Refresh")
    row = page.get_by_role("row").filter(has_text=CUSTOMER.name)
    expect(row).to_be_visible()
    screens.check(page, "refresh-dashboard")

    page.get_by_label("Status").select_option("failed")  # a filter that matches nothing here
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.get_by_text("No engagement matches these filters.")).to_be_visible()
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(row).to_be_visible()

    checkbox = row.get_by_role("checkbox")
    expect(checkbox).to_be_enabled()
    tab_to(page, f"Select {CUSTOMER.name}")
    page.keyboard.press("Space")
    expect(checkbox).to_be_checked()
    expect(page.get_by_text("1 selected")).to_be_visible()
    tab_to(page, "Refresh data")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Refresh of")
    expect(page.get_by_role("status").filter(has_text="Finished.")).to_be_visible(timeout=60_000)
    expect(page.locator("progress")).to_have_attribute("value", "1")
    screens.check(page, "refresh-job")
    page.get_by_role("link", name="Refresh history").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Refresh history")
    expect(page.get_by_role("row").nth(1)).to_contain_text("of 1")
    screens.check(page, "refresh-history")


def test_the_admin_screens_team_rules_chart_of_accounts_and_retention(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, ADMIN.email, staff=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Firm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Firm administration")
    expect(page.get_by_role("cell", name=ADVISER.email)).to_be_visible()

    ledger = page.get_by_role("form", name="Add a ledger account")
    ledger.get_by_label("Code").fill("512100")
    ledger.get_by_label("Name").fill("Banque principale")
    ledger.get_by_label("Kind").select_option("bank")
    ledger.get_by_role("button", name="Add a ledger account").click()
    expect(page.get_by_role("cell", name="512100")).to_be_visible()

    rule = page.get_by_role("form", name="Add a rule")
    rule.get_by_label("Name").fill("Rent")
    rule.get_by_label("Description contains").fill("RENT")
    rule.get_by_label("Direction").select_option("out")
    rule.get_by_label("Ledger account").fill("512100")
    rule.get_by_role("button", name="Add a rule").click()
    expect(page.get_by_role("cell", name="Rent", exact=True)).to_be_visible()

    staff = page.get_by_role("form", name="Invite to the team")
    staff.get_by_label("Name").fill("Nina New")
    staff.get_by_label("Email").fill("nina.new@example.org")
    staff.get_by_role("button", name="Invite to the team").click()
    expect(page.get_by_text("nina.new@example.org")).to_be_visible()
    screens.check(page, "admin")
