"""B7 API latency (issue 8): p50/p99 of the main routes over HTTP on the local system, against a
trivial route on the same gateway, measured interleaved in one run.

`python -m local` runs as a subprocess (tests/local_system_support.py). One keep-alive connection
sends, round after round, GET /health (public: the gateway, a Lambda invocation and nothing else) and
then each main route, authenticated with a token minted as `make token` mints it. A route's p50 over
/health's p50 is the overhead that is ours: the JWT check, our handler, its DynamoDB calls (on moto).
Interleaving means every route sees the same machine load; figures are printed, not targets (the issue
sets none), and only sanity is asserted: every measured response is a 2xx.

Absolute times are this machine's under moto; only the ratios are meant to be compared.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from local.demo_data import DEMO_USERS
from tests.local_system_support import LocalProcess, local_token, running_local_system
from tools.soak import p99

ROUNDS = int(os.environ.get("B7_ROUNDS", "150"))
WARM_UP_ROUNDS = 5  # every function's cold start, and the first Queries of each table, stay out
TRIVIAL = "health"


@dataclass
class Route:
    name: str
    method: str
    path: str
    body: Callable[[], dict] | None = None  # a fresh body for each request
    headers: Callable[[], dict[str, str]] = dict
    authenticated: bool = True
    timings_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


class Client:
    """One keep-alive HTTP/1.1 connection, as a browser or an SDK keeps one."""

    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def send(self, route: Route) -> tuple[int, bytes, float]:
        headers = {"Accept": "application/json"}
        if route.authenticated:
            headers["Authorization"] = f"Bearer {self.token}"
        headers |= route.headers()  # a route may speak for another person of the firm
        body = None
        if route.body is not None:
            body = json.dumps(route.body()).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.connection.request(route.method, route.path, body=body, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert not response.will_close, f"{route.name}: the server closed the keep-alive connection"
        return response.status, payload, elapsed_ms

    def close(self) -> None:
        self.connection.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    with running_local_system(tmp_path_factory.mktemp("api-latency")) as running:
        yield running


def invite(client: Client, email: str) -> dict:
    route = Route(
        "invite",
        "POST",
        "/customers/invitations",
        body=lambda: {"name": "Bench Customer", "email": email},
        headers=lambda: {"Idempotency-Key": str(uuid.uuid4())},
    )
    status, payload, _ = client.send(route)
    assert status == 201, payload
    return json.loads(payload)


def main_routes(customer_id: str, senders: list[str]) -> list[Route]:
    """About six representative routes: reads of each kind of page, and one write. The invitations go
    out from each of `senders` (tokens of staff of the firm) in turn: one person may send 100 emails an
    hour (the abuse limits, shared/domain/limits.py), and the bench sends about 155."""
    turn = itertools.cycle(senders)

    def invitation() -> dict:
        return {"name": "Bench Invitee", "email": f"bench-{uuid.uuid4().hex[:12]}@example.org"}

    def sender() -> dict[str, str]:
        return {"Idempotency-Key": str(uuid.uuid4()), "Authorization": f"Bearer {next(turn)}"}

    return [
        Route("me", "GET", "/me"),
        Route("customer list", "GET", "/customers?section=invited&limit=25"),
        Route("refresh engagements", "GET", "/data-refresh/engagements"),
        Route("customer accounts", "GET", f"/customers/{customer_id}/accounts"),
        Route(
            "invitation create",
            "POST",
            "/customers/invitations",
            body=invitation,
            headers=sender,
        ),
        Route("audit", "GET", f"/audit?customer_id={customer_id}"),
    ]


def test_b7_api_latency_against_the_trivial_route(local, bar):
    client = Client(local.port, local_token(local.port))  # the demo firm's admin, as `make token` prints it
    adviser = next(user.email for user in DEMO_USERS if user.role == "adviser")
    try:
        customer = invite(client, "bench-customer@example.org")
        trivial = Route(TRIVIAL, "GET", "/health", authenticated=False)
        routes = main_routes(customer["customer_id"], [client.token, local_token(local.port, adviser)])
        for round_number in range(WARM_UP_ROUNDS + ROUNDS):
            for route in (trivial, *routes):
                status, payload, elapsed_ms = client.send(route)
                if round_number >= WARM_UP_ROUNDS:
                    route.statuses.append(status)
                    route.timings_ms.append(elapsed_ms)
                elif not 200 <= status < 300:
                    pytest.fail(f"{route.name}: {status} {payload[:300]!r}")
    finally:
        client.close()

    base_p50 = statistics.median(trivial.timings_ms)
    figures: dict[str, float | int] = {
        "rounds": ROUNDS,
        f"{TRIVIAL}_p50_ms": base_p50,
        f"{TRIVIAL}_p99_ms": p99(trivial.timings_ms),
    }
    for route in routes:
        key = route.name.replace(" ", "_")
        route_p50 = statistics.median(route.timings_ms)
        figures[f"{key}_p50_ms"] = route_p50
        figures[f"{key}_p99_ms"] = p99(route.timings_ms)
        figures[f"{key}_ratio"] = route_p50 / base_p50
    non_2xx = {
        route.name: sorted({s for s in route.statuses if not 200 <= s < 300})
        for route in (trivial, *routes)
        if any(not 200 <= s < 300 for s in route.statuses)
    }
    figures["non_2xx"] = sum(1 for route in (trivial, *routes) for s in route.statuses if not 200 <= s < 300)
    bar("B7 API latency", **figures)

    assert non_2xx == {}, non_2xx
    assert all(len(route.timings_ms) == ROUNDS for route in (trivial, *routes))
