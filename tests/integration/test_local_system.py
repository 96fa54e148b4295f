"""The local system over real HTTP on 127.0.0.1: the socket server in-process, and
`python -m local` end to end as a subprocess (slow)."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from local.demo_data import DEFAULT_TOKEN_USER
from local.http_types import HttpRequest, HttpResponse, json_response
from local.server import LocalHttpServer
from local.user_pool import SignInRefused, running_pool
from tests.local_system_support import (
    LocalProcess,
    http_call,
    http_get,
    http_post,
    local_token,
    start_local_process,
)

JANE_PASSWORD = "Janes-Own-Passw0rd"  # a test account's password, on moto


@pytest.fixture
def echo_server() -> Iterator[int]:
    def echo(request: HttpRequest) -> HttpResponse:
        return json_response(
            200,
            {
                "method": request.method,
                "target": request.target,
                "headers": dict(request.headers),
                "body": request.body.decode(),
                "source_ip": request.source_ip,
            },
            [("x-one", "1")],
        )

    server = LocalHttpServer("127.0.0.1", 0)
    server.app = echo
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_server_passes_the_request_as_sent(echo_server):
    connection = http.client.HTTPConnection("127.0.0.1", echo_server, timeout=5)
    connection.putrequest("POST", "/a/b%20c?x=1&x=2")
    for name, value in (("X-Multi", "one"), ("X-Multi", "two"), ("Content-Length", "7")):
        connection.putheader(name, value)
    connection.endheaders(b"payload")
    response = connection.getresponse()
    echoed = json.loads(response.read())
    assert response.status == 200 and response.getheader("x-one") == "1"
    assert (echoed["method"], echoed["target"], echoed["body"]) == ("POST", "/a/b%20c?x=1&x=2", "payload")
    assert echoed["headers"]["x-multi"] == "one,two" and echoed["source_ip"] == "127.0.0.1"
    connection.request("HEAD", "/")  # same connection: keep-alive
    head = connection.getresponse()
    assert head.status == 200 and head.read() == b""


def test_a_chunked_body_is_read_whole(echo_server):
    connection = http.client.HTTPConnection("127.0.0.1", echo_server, timeout=5)
    connection.request("POST", "/", body=iter([b"first,", b"second"]), encode_chunked=True)
    assert json.loads(connection.getresponse().read())["body"] == "first,second"


def invitation_link_works_end_to_end(local: LocalProcess, admin_token: str) -> None:
    """Invite over HTTP, find the email in the outbox, follow its link, accept as the invitee."""
    invite = json.dumps({"name": "Jane Doe", "email": "jane@example.org"}).encode()
    status, _ = http_call(
        local.port,
        "POST",
        "/customers/invitations",
        invite,
        {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
    )
    assert status == 201
    _, outbox = http_get(local.port, "/_local/outbox")
    [email] = [e for e in outbox["emails"] if "jane@example.org" in e["to"]]
    [link] = [link for link in email["links"] if "token=" in link]
    assert link.startswith(f"http://127.0.0.1:{local.port}/app/invitations/accept?token=")
    path = link.removeprefix(f"http://127.0.0.1:{local.port}")
    status, page = http_call(local.port, "GET", path)  # the web console's accept screen (tests/e2e)
    assert status == 200 and b'<div id="root">' in page
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert http_post(local.port, "/invitations/verify", {"token": token}) == (
        200,
        {"firm_name": "Demo Advisory LLP"},
    )
    # No account yet: the screen's first form makes it for the invited email with the chosen password.
    chosen = {"token": token, "password": JANE_PASSWORD}
    assert http_post(local.port, "/invitations/create-account", chosen)[0] == 200
    assert local.token("jane@example.org").returncode == 1  # not with the demo password
    status, me = http_get(local.port, "/me", local_token(local.port, "jane@example.org", JANE_PASSWORD))
    assert status == 200 and [c["firm_name"] for c in me["customer_of"]] == ["Demo Advisory LLP"]
    assert http_post(local.port, "/invitations/verify", {"token": token})[0] == 404  # single-use


def moving_the_clock_fires_the_reminder_that_fell_due(local: LocalProcess, admin_token: str) -> None:
    """The local system runs on the test's instant (CLOCK_AT); a week later by `POST /_local/clock`,
    the scheduler fires the reminders schedule once and the 7-day reminder is in the outbox."""
    status, clock = http_get(local.port, "/_local/clock")
    started = datetime.fromisoformat(local.env["CLOCK_AT"])
    assert status == 200 and timedelta(0) <= datetime.fromisoformat(clock["now"]) - started < timedelta(
        minutes=2
    )
    invite = json.dumps({"name": "Rémi Later", "email": "remi@example.org"}).encode()
    headers = {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"}
    assert http_call(local.port, "POST", "/customers/invitations", invite, headers)[0] == 201

    assert http_call(local.port, "POST", "/_local/clock", b'{"advance": "-P1D"}')[0] == 400  # never back
    assert http_call(local.port, "POST", "/_local/clock", b'{"advance": "soon"}')[0] == 400
    assert http_call(local.port, "POST", "/_local/clock", b"not json")[0] == 400
    status, body = http_call(local.port, "POST", "/_local/clock", b'{"advance": "P7DT1H"}')
    moved = datetime.fromisoformat(json.loads(body)["now"])
    assert status == 200 and moved - datetime.fromisoformat(clock["now"]) >= timedelta(days=7, hours=1)

    deadline = time.monotonic() + 20
    reminders: list[dict] = []
    while not reminders and time.monotonic() < deadline:
        time.sleep(0.2)
        emails = http_get(local.port, "/_local/outbox")[1]["emails"]
        reminders = [
            e for e in emails if "remi@example.org" in e["to"] and e["subject"].startswith("Reminder")
        ]
    assert len(reminders) == 1, local.output()


def staff_sign_in_asks_for_the_authenticator_code(local: LocalProcess, pool: dict, token: str) -> None:
    """R-ID-4 on `make run`: the demo staff enrolled TOTP in the pool (moto checks the codes) and in our
    records; a password alone, or a wrong code, signs nobody in; the customer needs no app."""
    assert pool["totp_secret"]
    status, me = http_get(local.port, "/me", token)
    assert status == 200 and (me["mfa_required"], me["mfa_enrolled"]) == (True, True), me
    assert http_get(local.port, "/staff", token)[0] == 200
    known = running_pool(local.port)
    with pytest.raises(SignInRefused, match="SOFTWARE_TOKEN_MFA"):
        replace(known, totp_secret="").sign_in(DEFAULT_TOKEN_USER)
    with pytest.raises(SignInRefused):
        replace(known, totp_secret="JBSWY3DPEHPK3PXP").sign_in(DEFAULT_TOKEN_USER)  # another app's codes
    assert replace(known, totp_secret="").sign_in("customer@example.com").count(".") == 2


def signing_in_goes_through_the_pool(local: LocalProcess, token: str) -> None:
    """`make token` printed an ID token of the local pool for its app client; the demo customer has a
    customer record (so can connect a bank); nobody else has a user until an invitation is accepted."""
    _, pool = http_get(local.port, "/_local/user-pool")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == f"https://cognito-idp.eu-west-2.amazonaws.com/{pool['user_pool_id']}"
    assert (claims["aud"], claims["token_use"], claims["email"]) == (
        pool["client_id"],
        "id",
        DEFAULT_TOKEN_USER,
    )
    assert (
        http_get(local.port, "/_local/.well-known/jwks.json")[1]["keys"][0]["kid"]
        == jwt.get_unverified_header(token)["kid"]
    )

    staff_sign_in_asks_for_the_authenticator_code(local, pool, token)
    refused = local.token("nobody@example.org")
    assert refused.returncode == 1 and refused.stdout == "" and "nobody@example.org" in refused.stderr
    assert local.token().returncode == 0 and local.token("customer@example.com").returncode == 0
    customer = local.token("customer@example.com").stdout.strip()
    status, me = http_get(local.port, "/me", customer)
    assert status == 200 and [c["firm_name"] for c in me["customer_of"]] == ["Demo Advisory LLP"], me
    # The demo customer's bank was connected at start-up, through the API and the sandbox's bank page.
    deadline = time.monotonic() + 20
    linked: list[dict] = []
    while not linked and time.monotonic() < deadline:
        status, connections = http_get(local.port, "/connections", customer)
        linked = [c for c in connections if c["status"] == "linked"] if status == 200 else []
        time.sleep(0.2)
    assert [c["institution_name"] for c in linked] == ["Demo Bank"], local.output()


@pytest.mark.slow
def test_python_m_local_serves_the_api_with_tokens_of_its_user_pool(tmp_path):
    local, startup_seconds = start_local_process(tmp_path)
    try:
        print(f"python -m local: first /health 200 after {startup_seconds:.1f} s")

        issued = local.token()
        assert issued.returncode == 0, issued.stderr
        token = issued.stdout.strip()
        assert token.count(".") == 2 and "\n" not in token

        status, me = http_get(local.port, "/me", token)
        assert status == 200 and me["email"] == DEFAULT_TOKEN_USER
        signing_in_goes_through_the_pool(local, token)

        assert http_get(local.port, "/me") == (401, {"message": "Unauthorized"})
        assert http_get(local.port, "/me", token + "x") == (401, {"message": "Unauthorized"})
        assert http_get(local.port, "/no-such-route") == (404, {"message": "Not Found"})

        status, schedules = http_get(local.port, "/_local/schedules")
        assert status == 200 and all(s["next_fire_time"] for s in schedules["schedules"])
        assert http_get(local.port, "/_local/outbox")[0] == 200

        invitation_link_works_end_to_end(local, token)
        moving_the_clock_fires_the_reminder_that_fell_due(local, token)
    finally:
        stopped_at = time.monotonic()
        exit_code = local.stop()
        print(f"python -m local: stopped in {time.monotonic() - stopped_at:.1f} s")
    assert exit_code == 0, local.output()
    with pytest.raises(ProcessLookupError):
        os.killpg(local.process.pid, 0)  # nothing left in its process group
