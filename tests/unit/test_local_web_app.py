"""The web console on the local system (local/web_app.py): built files, the single-page app's
fallback, the runtime configuration, the security headers, and nothing outside web/dist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.http_types import HttpRequest, HttpResponse
from local.web_app import CONFIG, PREFIX, WebApp

CONFIG_VALUES = {"apiBaseUrl": "http://127.0.0.1:3000"}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    built = tmp_path / "dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_text("<!doctype html><div id=root></div>")
    (built / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside the build")
    return built


def get(app: WebApp, path: str, method: str = "GET") -> HttpResponse:
    return app.handle(HttpRequest(method, path))


def header(response: HttpResponse, name: str) -> str:
    return dict(response.headers)[name]


def test_a_screen_path_answers_the_app_and_a_hashed_asset_is_cached_for_good(dist):
    app = WebApp(lambda: CONFIG_VALUES, dist)
    for screen in (f"{PREFIX}/", f"{PREFIX}/invitations/accept?token=x", f"{PREFIX}/connections/complete"):
        response = get(app, screen)
        assert response.status == 200 and b"id=root" in response.body, screen
        assert header(response, "cache-control") == "no-cache"
    asset = get(app, f"{PREFIX}/assets/index-abc123.js")
    assert asset.status == 200 and asset.body == b"console.log(1)"
    assert header(asset, "content-type").startswith(("text/javascript", "application/javascript"))
    assert "immutable" in header(asset, "cache-control")


def test_config_json_is_the_runtime_configuration(dist):
    response = get(WebApp(lambda: CONFIG_VALUES, dist), CONFIG)
    assert response.status == 200 and json.loads(response.body) == CONFIG_VALUES
    assert header(response, "cache-control") == "no-cache"


@pytest.mark.parametrize(
    "path",
    [f"{PREFIX}/../secret.txt", f"{PREFIX}/%2e%2e/secret.txt", f"{PREFIX}/assets/%2e%2e/%2e%2e/secret.txt"],
)
def test_no_path_leaves_the_build(dist, path):
    response = get(WebApp(lambda: CONFIG_VALUES, dist), path)
    assert b"outside the build" not in response.body
    assert response.status == 404


def test_a_missing_file_is_a_404_not_the_app(dist):
    assert get(WebApp(lambda: CONFIG_VALUES, dist), f"{PREFIX}/assets/gone-123.js").status == 404


def test_every_answer_carries_the_security_headers_and_only_reads_are_allowed(dist):
    app = WebApp(lambda: CONFIG_VALUES, dist)
    for response in (
        get(app, f"{PREFIX}/"),
        get(app, CONFIG),
        get(app, f"{PREFIX}/x.js"),
        get(app, PREFIX, "POST"),
    ):
        policy = header(response, "content-security-policy")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        # Plaid Link is the sandbox's stand-in on this origin: nothing of Plaid's, no frame-src of its own
        assert "plaid" not in policy and "frame-src" not in policy
        assert header(response, "x-content-type-options") == "nosniff"
    assert get(app, f"{PREFIX}/", "POST").status == 405
    head = get(app, f"{PREFIX}/", "HEAD")
    assert head.status == 200 and head.body == b""


def test_an_unbuilt_console_says_how_to_build_it(tmp_path):
    response = get(WebApp(lambda: CONFIG_VALUES, tmp_path / "nothing"), f"{PREFIX}/")
    assert response.status == 503 and b"make web" in response.body
