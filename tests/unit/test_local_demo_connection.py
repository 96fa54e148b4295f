"""The demo connection's thread ends at once when the system stops, without its remaining requests
(a stop used to wait for one of them: 30 s, past a test's stop timeout)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from local.demo_connection import DemoConnection
from local.http_types import HttpRequest, HttpResponse, json_response
from local.server import LocalHttpServer


@pytest.fixture()
def server() -> Iterator[tuple[LocalHttpServer, list[str]]]:
    seen: list[str] = []

    def app(request: HttpRequest) -> HttpResponse:
        seen.append(f"{request.method} {request.raw_path}")
        return json_response(200, {})

    local = LocalHttpServer("127.0.0.1", 0)
    local.app = app
    thread = threading.Thread(target=local.serve_forever, daemon=True)
    thread.start()
    try:
        yield local, seen
    finally:
        local.shutdown()
        local.server_close()
        thread.join()


def test_a_stop_during_the_connection_leaves_its_remaining_steps_untaken(server):
    local, seen = server
    stop = threading.Event()

    def sign_in() -> str:  # the system is stopped while the customer signs in
        stop.set()
        return "token"

    demo = DemoConnection(local.port, sign_in, stop)
    demo.start()
    demo.join(timeout=5)
    assert not demo.is_alive()
    assert demo.outcome == "stopped before it was made"
    assert seen == ["GET /health"]  # no POST /connections after the stop


def test_without_a_stop_it_goes_on_to_create_the_connection(server):
    local, seen = server
    demo = DemoConnection(local.port, lambda: "token", threading.Event())
    demo.start()
    demo.join(timeout=5)
    assert "POST /connections" in seen and demo.outcome != "stopped before it was made"
