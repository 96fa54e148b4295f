"""The demo customer's bank connection, made once the local system serves, the way the customer makes
one: signed in through the pool, `POST /connections` at the GoCardless sandbox's Demo Bank, the consent
approved at the bank's page, the bank's redirect followed to `/callbacks/gocardless`. The connection is
then linked and its accounts offered to the firm, through the functions' own code (an import job
follows, as after any consent).

Only with the built-in sandbox: a GoCardless host named in the environment is left alone.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("local.demo_connection")

DEMO_INSTITUTION = "DEMOBANK_DMBKGB2L"  # the GoCardless sandbox's Demo Bank
STARTUP_SECONDS = 30


class _Stopping(Exception):
    """The system stops: the demo connection's remaining steps are not taken."""


class DemoConnection(threading.Thread):
    def __init__(self, port: int, sign_in: Callable[[], str], stop: threading.Event):
        super().__init__(name="demo-connection", daemon=True)
        self._port = port
        self._sign_in = sign_in  # the demo customer's ID token
        self._stop_signal = stop
        self.outcome = ""  # the callback's outcome ("linked"), or why there is none

    def run(self) -> None:
        try:
            if self._serving():
                self.outcome = self.connect()
                log.info("the demo customer's connection at Demo Bank: %s", self.outcome)
        except _Stopping:
            self.outcome = "stopped before it was made"
        except Exception:  # the demo data's extra: the system runs without it
            log.exception("the demo customer's connection could not be made")
            self.outcome = "error"

    def _serving(self) -> bool:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._stop_signal.is_set() and time.monotonic() < deadline:
            try:
                if self._request("GET", "/health")[0] == 200:
                    return True
            except OSError:
                pass
            self._stop_signal.wait(0.1)
        return False

    def connect(self) -> str:
        token = self._sign_in()
        body = {"provider": "gocardless", "institution_id": DEMO_INSTITUTION}
        status, _, answer = self._request("POST", "/connections", body, token)
        if status != 201:
            return f"refused ({status})"
        consent = urlsplit(json.loads(answer)["consent_url"])
        _, headers, _ = self._request("GET", consent.path + "/approve")  # the customer at the bank
        back = urlsplit(headers.get("location", ""))
        _, headers, _ = self._request("GET", f"{back.path}?{back.query}")  # the bank's redirect to the API
        landing = urlsplit(headers.get("location", ""))
        return landing.query.removeprefix("outcome=") or "no outcome"

    def _request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the local system; a redirect is returned, not followed (this is the browser).
        Raises _Stopping once the system is stopping: the connection is left unmade."""
        if self._stop_signal.is_set():
            raise _Stopping
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=30)
        try:
            connection.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()
