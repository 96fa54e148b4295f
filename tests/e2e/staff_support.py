"""Signing in through the hosted sign-in pages in the browser, and moving by keyboard only."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from local.user_pool import DEMO_PASSWORD, running_pool, totp_code
from tests.local_system_support import LocalProcess, http_get

MAX_TABS = 60  # a bounded walk through the page's focusable elements


def app(local: LocalProcess, path: str = "/") -> str:
    return f"{local.base_url}/app{path}"


def sign_in(
    page: Page, local: LocalProcess, email: str, password: str = DEMO_PASSWORD, staff: bool = False
) -> None:
    """From the console's home: the hosted pages' form, the authenticator's code for staff, and back."""
    page.goto(app(local))
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if staff:
        code = totp_code(running_pool(local.port).totp_secret)
        page.get_by_label("6-digit code from your authenticator app").fill(code)
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome,")


def tab_to(page: Page, name: str) -> None:
    """Press Tab until the focused element's accessible name starts with `name` (bounded)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; if (!e) return '';"
            " const label = e.labels && e.labels[0] ? e.labels[0].innerText : '';"
            " return (e.getAttribute('aria-label') || label || e.innerText || '').trim(); }"
        )
        if focused.startswith(name):
            return
    raise AssertionError(f"no focusable element named {name!r} within {MAX_TABS} tabs")


def emailed_link(local: LocalProcess, to: str, path: str, wait_seconds: float = 20) -> str:
    """The last link to `path` emailed to `to`, from the local outbox (an email sent by a worker
    arrives a moment later: waited for, bounded)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        emails = http_get(local.port, "/_local/outbox")[1]["emails"]
        links = [link for e in emails if to in e["to"] for link in e["links"] if path in link]
        if links:
            return str(links[-1])
        assert time.monotonic() < deadline, f"no {path} link emailed to {to} within {wait_seconds} s"
        time.sleep(0.2)
