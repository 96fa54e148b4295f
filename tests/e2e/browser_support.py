"""A real browser for the end-to-end journeys (issue 18): headless Chromium driven by Playwright.

The browser is the machine's (Debian's `chromium`, which `.ci/run` installs), or the one `$CHROMIUM`
names; Playwright never downloads one. Every screen a journey reaches is checked with axe-core (the
copy the web app's own packages install: web/node_modules/axe-core) and photographed into
`$E2E_SCREENSHOTS` (default .build/e2e-screenshots)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.bars import SUM_KEY

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS", ROOT / ".build" / "e2e-screenshots"))
# Chromium in this sandbox: no GPU, no sandbox as root, and none of its own calls to the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
BLOCKING = ("serious", "critical")  # the axe impacts a screen may not have


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("No Chromium: install Debian's `chromium` package (as .ci/run does) or set $CHROMIUM.")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Screens:
    """Each screen a journey reached: its accessibility findings and its screenshot."""

    request: pytest.FixtureRequest
    seen: list[str] = field(default_factory=list)

    def check(self, page: Page, name: str) -> list[dict[str, Any]]:
        """axe-core on the page as it is now (a serious or critical finding fails the test), then a
        screenshot named `name`."""
        page.wait_for_load_state("networkidle")
        page.evaluate(
            AXE.read_text(encoding="utf-8")
        )  # through the debugger protocol: the page's CSP still holds
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING]
        counts = {impact: sum(v.get("impact") == impact for v in blocking) for impact in BLOCKING}
        self.request.node.user_properties.append((SUM_KEY, ["a11y", {"screens": 1, **counts}]))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        self.seen.append(name)
        assert not blocking, f"{name}: " + json.dumps(
            [
                {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
                for v in blocking
            ]
        )
        return list(result["violations"])


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # The app's Content-Security-Policy applies, as in a person's browser (axe-core is evaluated through
    # the debugger protocol, not added as a script).
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
