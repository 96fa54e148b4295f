"""`python -m local` as a subprocess for tests: on free 127.0.0.1 ports, waited for until /health
answers, stopped with its whole process group.

Nothing clashes with a developer's `make run` or with another xdist worker: the API's PORT is a free
port picked here (retried if another process takes it first), moto's port is always "any free port"
(MOTO_PORT=0, whatever the shell says), and all state is in the process's memory, its user pool too:
`local_token(port, email)` signs in through the pool of the system on that port, as `make token` does.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.demo_data import DEFAULT_TOKEN_USER
from local.user_pool import DEMO_PASSWORD, running_pool
from shared.adapters.cognito import email_filter, normalised
from shared.clock import CLOCK

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15
START_ATTEMPTS = 3  # a free port can be taken by someone else between probing and binding


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_token(port: int, email: str = DEFAULT_TOKEN_USER, password: str = DEMO_PASSWORD) -> str:
    """The token `make token USER=<email>` prints: a sign-in through the pool of the system on `port`."""
    return running_pool(port).sign_in(email, password)


def pool_users(port: int, email: str) -> list[dict[str, Any]]:
    """The users of the pool of the system on `port` with this email (`ListUsers` on its moto server,
    as an operator would look; `Username` is the user's sub, `Enabled` whether they may sign in)."""
    pool = running_pool(port)
    cognito = boto3.session.Session().client(
        "cognito-idp",
        endpoint_url=pool.aws_endpoint_url,
        region_name=pool.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's fake credentials
    )
    found = cognito.list_users(UserPoolId=pool.user_pool_id, Filter=email_filter(normalised(email)))
    return list(found["Users"])


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


def http_get(port: int, path: str, token: str | None = None) -> tuple[int, dict]:
    status, body = http_call(port, "GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    return status, json.loads(body)


def http_post(port: int, path: str, payload: Any, token: str | None = None) -> tuple[int, dict]:
    """A JSON POST to the local API (as the web console makes it): status and JSON answer."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    status, body = http_call(port, "POST", path, json.dumps(payload).encode(), headers)
    return status, json.loads(body or b"{}")


class LocalProcess:
    def __init__(self, log_dir: Path, environment: dict[str, str] | None = None):
        # a test that restarts a system on its port names it (PORT); otherwise any free port
        self.port = int((environment or {}).get("PORT") or free_port())
        # On the test's business clock (the suite's pinned instant, or the calendar matrix's moment).
        at = CLOCK.now().isoformat().replace("+00:00", "Z")
        self.env = {**os.environ, "PORT": str(self.port), "MOTO_PORT": "0", "CLOCK_AT": at}
        # Only what a fresh shell has: nothing the test suite set may hide a missing local setting.
        for name in [n for n in self.env if n.startswith(("AWS_", "POWERTOOLS_"))] + [
            "GOCARDLESS_BASE_URL",  # a developer's own provider hosts must not reach the tests' system
            "PLAID_BASE_URL",
            "DATA_TABLE_NAME",
            "IDEMPOTENCY_TABLE_NAME",
            "AUDIT_TABLE_NAME",
            "LOCAL_STATE",  # a developer's kept `make run` state is never a test's
            "FRESH",
        ]:
            self.env.pop(name, None)
        self.env.update(environment or {})  # what this test sets on purpose
        self.log_path = log_dir / f"local-{self.port}.log"
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

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    def lost_its_port(self) -> bool:
        """It exited at startup because the port was taken after we probed it."""
        return self.process.poll() is not None and "Cannot start the local system on port" in self.output()

    def token(self, *email: str) -> subprocess.CompletedProcess[str]:
        """`python -m local.token [email]` run as `make token` runs it."""
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
        if not self._log.closed:  # closed once stopped: the file holds everything
            self._log.flush()
        return self.log_path.read_text(errors="replace")


def start_local_process(
    log_dir: Path, environment: dict[str, str] | None = None
) -> tuple[LocalProcess, float]:
    """A healthy `python -m local` and its startup time; retried on a free port lost to a race."""
    for _ in range(START_ATTEMPTS - 1):
        local = LocalProcess(log_dir, environment)
        try:
            return local, local.wait_until_healthy()
        except pytest.fail.Exception:
            local.stop()
            if not local.lost_its_port():
                raise
    local = LocalProcess(log_dir, environment)
    try:
        return local, local.wait_until_healthy()
    except BaseException:
        local.stop()
        raise


@contextlib.contextmanager
def running_local_system(log_dir: Path) -> Iterator[LocalProcess]:
    """The whole local system for the duration of the block (a module-scoped fixture wraps this)."""
    local, _ = start_local_process(log_dir)
    try:
        yield local
    finally:
        # A clean stop is test_local_system's to check; here the process group is killed in any case.
        with contextlib.suppress(subprocess.TimeoutExpired):
            local.stop()
