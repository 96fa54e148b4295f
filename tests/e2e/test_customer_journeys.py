"""A customer's, a family member's and an external adviser's journeys in the browser: their bank
data, linking a bank through the GoCardless sandbox (search, consent, the bank, the return page),
the EULA, notifications; a client file's access rights granted on screen and accepted from the
emailed link."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from local.demo_data import DEMO_CUSTOMER_ID, DEMO_USERS
from tests.e2e.browser_support import Screens
from tests.e2e.staff_support import app, emailed_link, sign_in
from tests.local_system_support import LocalProcess

pytestmark = pytest.mark.e2e

ADMIN, ADVISER, CUSTOMER = (
    next(u for u in DEMO_USERS if u.role == role) for role in ("admin", "adviser", "customer")
)
GRANTEE_PASSWORD = "Fam-Passw0rd!x"


def test_a_customer_links_a_bank_through_the_sandbox_and_lands_on_the_outcome(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, CUSTOMER.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bank data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My bank data")
    expect(page.get_by_role("heading", level=2, name="My bank connections")).to_be_visible()
    screens.check(page, "my-bank-data")

    page.get_by_role("link", name="Link a bank account").click()
    page.get_by_label("Bank name").fill("Northwind")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("button", name="Choose Northwind Bank Business")).to_be_visible()
    screens.check(page, "connect-search")
    page.get_by_role("button", name="Choose Northwind Bank", exact=True).click()
    continue_button = page.get_by_role("button", name="Continue to Northwind Bank")
    expect(continue_button).to_be_disabled()  # no consent, no connection
    page.get_by_label("I agree to share this data with my firm.").check()
    screens.check(page, "connect-consent")
    continue_button.click()

    page.get_by_role("link", name="Approve").click()  # at the sandbox bank
    expect(page.get_by_role("heading", level=1)).to_have_text("Bank connected")
    assert page.url.startswith(app(local, "/connections/complete?outcome=linked"))
    screens.check(page, "connect-linked")
    page.get_by_role("link", name="See my bank connections").click()
    page.goto(app(local, "/me"))
    expect(page.get_by_text("Northwind Bank", exact=True)).to_be_visible()


def test_a_customer_reads_and_accepts_the_eula_and_sees_notifications(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, CUSTOMER.email)
    page.goto(app(local, "/me/eula"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Terms of use")
    screens.check(page, "eula")
    accept = page.get_by_role("button", name="I accept these terms")
    if accept.count():
        accept.click()
    expect(page.get_by_role("status").filter(has_text="You have accepted these terms.")).to_be_visible()
    page.goto(app(local, "/notifications"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    screens.check(page, "notifications")


def test_the_file_manager_grants_a_family_member_who_accepts_from_the_email_and_reads_the_file(
    local: LocalProcess, page: Page, browser, screens: Screens
) -> None:
    sign_in(page, local, ADVISER.email, staff=True)  # the demo customer's owner manages their file
    page.goto(app(local, f"/files/{DEMO_CUSTOMER_ID}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Client file")
    page.get_by_role("button", name="Add a family member").click()
    page.get_by_label("Name").fill("Léa Famille")
    page.get_by_label("Relation").select_option("child")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Léa Famille")).to_be_visible()
    screens.check(page, "file")

    page.get_by_role("tab", name="Access rights").click()
    row = page.get_by_role("row").filter(has_text="Léa Famille")
    row.get_by_role("button", name="Give access to Léa Famille").click()
    grant = page.get_by_role("form", name="Give access to Léa Famille")
    grant.get_by_label("Email").fill("lea.famille@example.org")
    grant.get_by_label("Phone").fill("+33612345678")
    grant.get_by_label("Access", exact=True).select_option("read_only")
    grant.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("invitation sent")
    screens.check(page, "file-access-rights")
    page.get_by_role("tab", name="Access log").click()
    expect(page.get_by_role("heading", level=2, name="Access log")).to_be_visible()
    screens.check(page, "file-access-log")

    member = browser.new_context(locale="fr-FR").new_page()
    member.goto(emailed_link(local, "lea.famille@example.org", "/app/file-invitations/accept?token="))
    expect(member.get_by_role("heading", level=1)).to_have_text("Votre accès à un dossier client")
    screens.check(member, "file-invitation-fr")
    member.get_by_label("Choisissez un mot de passe").fill(GRANTEE_PASSWORD)
    member.get_by_role("button", name="Créer mon compte et accepter").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Invitation acceptée")
    member.context.close()


def test_an_external_adviser_is_registered_then_granted(
    local: LocalProcess, page: Page, screens: Screens
) -> None:
    sign_in(page, local, ADVISER.email, staff=True)
    page.goto(app(local, f"/files/{DEMO_CUSTOMER_ID}"))
    page.get_by_role("tab", name="Access rights").click()
    page.get_by_role("button", name="Register an external adviser").click()
    form = page.get_by_role("form", name="Register an external adviser")
    form.get_by_label("Name").fill("Maître Notaire")
    form.get_by_label("Profession").select_option("notary")
    form.get_by_label("Email").fill("notaire@example.org")
    form.get_by_label("Phone").fill("+33100000000")
    form.get_by_role("button", name="Save").click()
    card = page.get_by_role("listitem").filter(has_text="Maître Notaire")
    expect(card).to_contain_text("no access")
    card.get_by_role("button", name="Give access to Maître Notaire").click()
    page.get_by_role("button", name="Save").click()
    expect(card).to_contain_text("read-only")
    link = emailed_link(local, "notaire@example.org", "/app/file-invitations/accept?token=")
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your access to a client file")
    screens.check(page, "file-invitation-adviser")
