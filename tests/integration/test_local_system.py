"""The local system over real HTTP on 127.0.0.1: the socket server in-process, and
`python -m local` end to end as a subprocess (slow)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.demo_data import DEFAULT_TOKEN_USER
from local.http_types import HttpRequest, HttpResponse, json_response
from local.server import LocalHttpServer

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def http_get(port: int, path: str, token: str | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


class LocalProcess:
    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.env = {**os.environ, "PORT": str(self.port)}
        # Only what a fresh shell has: nothing the test suite set may hide a missing local setting.
        for name in [n for n in self.env if n.startswith(("AWS_", "POWERTOOLS_"))] + [
            "DATA_TABLE_NAME",
            "IDEMPOTENCY_TABLE_NAME",
        ]:
            self.env.pop(name, None)
        self.log_path = tmp_path / "local.log"
        self._log = self.log_path.open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole in the end
        )

    def wait_until_healthy(self) -> float:
        deadline = self.started + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"python -m local exited with {self.process.returncode}:\n{self.output()}")
            try:
                if http_get(self.port, "/health")[0] == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"no /health 200 within {STARTUP_TIMEOUT_SECONDS} s:\n{self.output()}")

    def token(self, *email: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "local.token", *email],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def stop(self) -> int:
        """SIGTERM stops it as Ctrl-C does; the process group is killed whatever happens."""
        try:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


def http_call(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


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
    status, page = http_call(local.port, "GET", path)
    assert status == 200 and b"Demo Advisory LLP" in page
    token = path.split("token=", 1)[1]
    form = f"token={token}&email=jane%40example.org".encode()
    status, page = http_call(
        local.port,
        "POST",
        "/app/invitations/accept",
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and b"Invitation accepted" in page
    status, me = http_get(local.port, "/me", local.token("jane@example.org").stdout.strip())
    assert status == 200 and [c["firm_name"] for c in me["customer_of"]] == ["Demo Advisory LLP"]
    assert http_call(local.port, "GET", path)[0] == 404  # the link is single-use


@pytest.mark.slow
def test_python_m_local_serves_the_api_with_local_tokens(tmp_path):
    local = LocalProcess(tmp_path)
    try:
        startup_seconds = local.wait_until_healthy()
        print(f"python -m local: first /health 200 after {startup_seconds:.1f} s")

        issued = local.token()
        assert issued.returncode == 0, issued.stderr
        token = issued.stdout.strip()
        assert token.count(".") == 2 and "\n" not in token

        status, me = http_get(local.port, "/me", token)
        assert status == 200 and me["email"] == DEFAULT_TOKEN_USER

        assert http_get(local.port, "/me") == (401, {"message": "Unauthorized"})
        assert http_get(local.port, "/me", token + "x") == (401, {"message": "Unauthorized"})
        assert http_get(local.port, "/no-such-route") == (404, {"message": "Not Found"})

        status, schedules = http_get(local.port, "/_local/schedules")
        assert status == 200 and all(s["next_fire_time"] for s in schedules["schedules"])
        assert http_get(local.port, "/_local/outbox")[0] == 200

        invitation_link_works_end_to_end(local, token)
    finally:
        stopped_at = time.monotonic()
        exit_code = local.stop()
        print(f"python -m local: stopped in {time.monotonic() - stopped_at:.1f} s")
    assert exit_code == 0, local.output()
    with pytest.raises(ProcessLookupError):
        os.killpg(local.process.pid, 0)  # nothing left in its process group
