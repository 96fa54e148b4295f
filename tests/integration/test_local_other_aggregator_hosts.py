"""`make run` against another GoCardless host, end to end (issue 13, items 14 and 15).

`python -m local` starts with GOCARDLESS_BASE_URL pointing at a staging double (the GoCardless
sandbox served by this test on its own port, given with `/api/v2/` as GoCardless documents it):
the connection is made there, not at the built-in sandbox, and the bank's redirect ends on the
local front end's landing page with a 200."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from local.http_types import HttpRequest, HttpResponse, json_response
from local.sandbox.gocardless import GoCardlessSandbox
from local.server import LocalHttpServer, dispatcher, mounted
from tests.local_system_support import LocalProcess, http_post, local_token, start_local_process

DOUBLE_MOUNT = "/staging-gocardless"
CUSTOMER = "gina@example.org"
CUSTOMER_PASSWORD = "Customer-Own-Passw0rd"  # a test account's password, on moto
INSTITUTION = "DEMOBANK_DMBKGB2L"


def request(
    port: int, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request; a redirect is returned, not followed (the test is the browser)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def become_a_customer(local: LocalProcess) -> str:
    """The demo admin invites CUSTOMER, who accepts on the local page; returns CUSTOMER's token."""
    invite = {"name": "Gina Customer", "email": CUSTOMER}
    assert request(local.port, "POST", "/customers/invitations", invite, local_token(local.port))[0] == 201
    _, _, outbox = request(local.port, "GET", "/_local/outbox")
    [email] = [e for e in json.loads(outbox)["emails"] if CUSTOMER in e["to"]]
    [link] = [link for link in email["links"] if "token=" in link]
    # No account yet: the accept screen makes it for the invited email with the password chosen there.
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert (
        http_post(local.port, "/invitations/create-account", {"token": token, "password": CUSTOMER_PASSWORD})[
            0
        ]
        == 200
    )
    return local_token(local.port, CUSTOMER, CUSTOMER_PASSWORD)


@pytest.fixture
def gocardless_double() -> Iterator[int]:
    """A GoCardless double on its own 127.0.0.1 port, under a prefix (as a staging host may be)."""
    server = LocalHttpServer("127.0.0.1", 0)
    double = GoCardlessSandbox(public_base_url=f"http://127.0.0.1:{server.port}{DOUBLE_MOUNT}")

    def not_found(_: HttpRequest) -> HttpResponse:
        return json_response(404, {"message": "Not Found"})

    server.app = dispatcher({DOUBLE_MOUNT: mounted(DOUBLE_MOUNT, double)}, default=not_found)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.slow
def test_make_run_connects_through_the_gocardless_host_it_is_given(gocardless_double, tmp_path):
    double = gocardless_double
    base = f"http://127.0.0.1:{double}{DOUBLE_MOUNT}/api/v2/"
    local, _ = start_local_process(tmp_path, {"GOCARDLESS_BASE_URL": base})
    try:
        customer = become_a_customer(local)
        status, _, body = request(
            local.port,
            "POST",
            "/connections",
            {"provider": "gocardless", "institution_id": INSTITUTION},
            customer,
        )
        assert status == 201, body
        consent_url = json.loads(body)["consent_url"]
        assert consent_url.startswith(f"http://127.0.0.1:{double}{DOUBLE_MOUNT}/consent/"), consent_url

        # The person approves at the "bank" (the double) and is sent back to the local API...
        status, headers, _ = request(double, "GET", urlsplit(consent_url).path + "/approve")
        assert status == 302
        back = urlsplit(headers["location"])
        assert (back.port, back.path) == (local.port, "/callbacks/gocardless")
        # ...which reads the requisition at the double and sends the browser to the front end.
        status, headers, body = request(local.port, "GET", f"{back.path}?{back.query}")
        assert status == 302, body
        landing = urlsplit(headers["location"])
        assert (landing.port, landing.path) == (local.port, "/app/connections/complete")
        assert parse_qs(landing.query) == {"outcome": ["linked"]}, local.output()
        status, headers, page = request(local.port, "GET", f"{landing.path}?{landing.query}")
        # The web console's landing screen (its words per outcome: tests/e2e).
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b'<div id="root">' in page

        # The double holds the consent; the built-in sandbox was never asked.
        _, _, state = request(double, "GET", f"{DOUBLE_MOUNT}/_control/state")
        assert [r["status"] for r in json.loads(state)["requisitions"]] == ["LN"]
        _, _, built_in = request(local.port, "GET", "/sandbox/gocardless/_control/state")
        assert json.loads(built_in)["requisitions"] == []
        assert f"Using GOCARDLESS_BASE_URL=http://127.0.0.1:{double}" in local.output()
    finally:
        local.stop()
