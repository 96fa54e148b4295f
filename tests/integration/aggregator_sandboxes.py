"""Both sandboxes behind httpx transports, and the real adapters talking to them: the
integration tests' aggregator, with no network. `install` points bootstrap at them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from infra.spec import SECRETS
from local.sandbox.gocardless import GoCardlessSandbox
from local.sandbox.plaid import PlaidSandbox
from shared import bootstrap
from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.gocardless import GoCardlessAdapter
from shared.adapters.aggregator.plaid import PlaidAdapter
from shared.adapters.aggregator.plaid_webhooks import (
    PlaidWebhookReader,
    PlaidWebhookVerifier,
    plaid_key_fetcher,
)
from shared.adapters.dynamodb.request_pace import DynamoRequestPace
from shared.clock import CLOCK
from shared.domain.aggregator import AggregatorProvider, calls_kept_for_people

GOCARDLESS_BASE = "http://sandbox.test/sandbox/gocardless"
PLAID_BASE = "http://sandbox.test/sandbox/plaid"


def _transport(prefix: str, sandbox: GoCardlessSandbox | PlaidSandbox) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        relative = request.url.path.removeprefix(urlsplit(prefix).path) or "/"
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        status, headers, body = sandbox.handle(
            request.method, relative, query, dict(request.headers), request.content
        )
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(handle)


@dataclass
class Sandboxes:
    """On the one business clock, like the code under test: `sandboxes.now += timedelta(days=2)`
    moves the banks, the adapters and the services together."""

    webhooks: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return CLOCK.now()

    @now.setter
    def now(self, instant: datetime) -> None:
        CLOCK.set(instant)

    def __post_init__(self) -> None:
        keys = SECRETS["aggregator"].local_value
        self.gocardless = GoCardlessSandbox(clock=self.clock, public_base_url=GOCARDLESS_BASE)
        self.plaid = PlaidSandbox(
            clock=self.clock,
            deliver_webhook=lambda url, headers, body: self.webhooks.append((url, headers, body)),
            public_base_url=PLAID_BASE,
            client_id=keys["plaid_client_id"],
            secret=keys["plaid_secret"],
        )
        self.browser = httpx.Client(
            transport=httpx.MockTransport(self._route), follow_redirects=False
        )  # the person's browser at the bank's pages
        credentials = static_source(keys)

        def gocardless(pace: DynamoRequestPace) -> GoCardlessAdapter:
            return GoCardlessAdapter(
                GOCARDLESS_BASE,
                credentials,
                transport=_transport(GOCARDLESS_BASE, self.gocardless),
                clock=self.clock,
                sleep=lambda _: None,
                gate=bootstrap.request_gate(),
                pace=pace,
            )

        self.adapters: dict[str, AggregatorProvider] = {
            "gocardless": gocardless(bootstrap.request_pace()),
            "plaid": PlaidAdapter(
                PLAID_BASE,
                credentials,
                transport=_transport(PLAID_BASE, self.plaid),
                clock=self.clock,
                sleep=lambda _: None,
            ),
        }
        # The import workers' GoCardless adapter, as aggregator.background_provider builds it: its pace
        # leaves a share of each minute to the requests people wait for (Plaid has no pace: one adapter).
        people_pace = bootstrap.request_pace()
        imports_pace = replace(people_pace, kept_for_people=calls_kept_for_people(people_pace.limit))
        self.background_adapters: dict[str, AggregatorProvider] = {"gocardless": gocardless(imports_pace)}

    def clock(self) -> datetime:
        return CLOCK.now()

    def provider(self, name: str) -> AggregatorProvider:
        return self.adapters[name]

    def background_provider(self, name: str) -> AggregatorProvider:
        return self.background_adapters.get(name) or self.adapters[name]

    def _route(self, request: httpx.Request) -> httpx.Response:
        for prefix, sandbox in ((GOCARDLESS_BASE, self.gocardless), (PLAID_BASE, self.plaid)):
            if str(request.url).startswith(prefix):
                return _transport(prefix, sandbox).handle_request(request)
        return httpx.Response(404)


@pytest.fixture
def sandboxes(aws, monkeypatch: pytest.MonkeyPatch) -> Sandboxes:
    """The sandboxes, with bootstrap's connection ports using them (and an import queue)."""
    from local.provision import create_queues

    boxes = Sandboxes()
    queues = create_queues()  # as the stack has them: each with its DLQ and redrive policy
    monkeypatch.setenv("IMPORT_QUEUE_URL", queues["imports"].url)
    monkeypatch.setenv("REFRESH_QUEUE_URL", queues["refresh"].url)
    monkeypatch.setenv("EXPORT_QUEUE_URL", queues["exports"].url)
    monkeypatch.setenv("ERASURE_QUEUE_URL", queues["erasures"].url)
    bootstrap.reset()
    ports = replace(bootstrap.connections(), providers=boxes.provider, clock=boxes.clock)
    monkeypatch.setattr(bootstrap, "connections", lambda: ports)
    verifier = PlaidWebhookVerifier(
        plaid_key_fetcher(boxes.adapters["plaid"]),  # type: ignore[arg-type]
        holds_item=bootstrap.holds_plaid_item,
        clock=boxes.clock,
    )
    reader = PlaidWebhookReader(verifier)
    monkeypatch.setattr(bootstrap, "plaid_webhook_reader", lambda: reader)
    imports = replace(bootstrap.imports(), providers=boxes.background_provider, clock=boxes.clock)
    monkeypatch.setattr(bootstrap, "imports", lambda: imports)
    return boxes
