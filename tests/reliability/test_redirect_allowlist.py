"""Every URL we send a browser to, or fetch, stays on its allow-list, whatever the input (issue 8).

Where input can reach a URL, hostile values are fed in (other hosts, userinfo tricks
`https://app@evil`, `//evil`, `javascript:`, backslashes, CR/LF, IP literals, 169.254.169.254,
dot segments) and every URL that comes out is checked against its list:
- redirects: the GoCardless callback's `Location` (hostile `ref`, `error` and Host / X-Forwarded-*
  / Forwarded headers; the real flow too) must be exactly APP_BASE_URL's origin,
  `/connections/complete`, with only `outcome`;
- links: every `href` of every email (customer invitation, resend, file invitation), with hostile
  names, messages and Host headers, must be APP_BASE_URL's origin and the page the link is for;
- redirect and webhook URLs we hand the aggregators (GoCardless `redirect`, Plaid `webhook` /
  `redirect_uri`), with hostile headers: API_BASE_URL's origin and our own routes only;
- fetches: every request the adapters make (hostile institution ids for both providers, hostile
  Plaid webhook `kid`s that drive the verification-key fetch) goes to the configured provider
  host, under its base path, and an id stays one path segment;
- deployment settings (infra/config.py, the only place APP_BASE_URL and the aggregators' base
  URLs come from in AWS): hostile values are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from functions.access_api import handler as access
from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from infra.config import StageConfig
from shared import bootstrap
from shared.domain.email import EmailMessage
from tests.conftest import FakeLambdaContext, api_event
from tests.integration.aggregator_sandboxes import GOCARDLESS_BASE, PLAID_BASE, sandboxes
from tests.integration.file_access_support import MANAGER, FileWorld, new_file, seed_staff
from tests.integration.onboarding_support import ADMIN, INVITEE, Person, call
from tests.integration.test_connections import GOCARDLESS_BANK, approve_at_gocardless, connect, customer_id
from tests.integration.test_plaid_webhooks_flow import ROUTE as PLAID_WEBHOOK_ROUTE
from tests.integration.test_plaid_webhooks_flow import sync
from tests.unit.test_plaid_webhooks import es256, own_key

__all__ = ["customer_id", "sandboxes"]  # fixtures

APP = "https://app.client-data.example"
API = "https://api.client-data.example"
EVIL = "evil.example"

HOSTILE_URLS = [
    f"https://{EVIL}",
    f"//{EVIL}",
    f"///{EVIL}",
    f"https://app.client-data.example@{EVIL}",
    f"https://app.client-data.example.{EVIL}",
    f"javascript:alert(document.domain)//{APP}",
    f"\\\\{EVIL}",
    f"/\\{EVIL}",
    f"https:\\\\{EVIL}",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://2852039166/",
    "http://127.0.0.1:22/",
    f"\r\nLocation: https://{EVIL}",
    f"%0d%0aLocation:%20https://{EVIL}",
    f"data:text/html,<script>location='https://{EVIL}'</script>",
]
# Any https host, or loopback for dev, is a legitimate choice of front end for an operator: the
# other values are what a deployment setting must refuse.
LEGITIMATE_ORIGINS = {f"https://{EVIL}", f"https://app.client-data.example.{EVIL}", "http://127.0.0.1:22/"}
HOSTILE_HEADERS = [
    {"host": EVIL},
    {"x-forwarded-host": EVIL},
    {"x-forwarded-proto": "http", "x-forwarded-port": "80"},
    {"forwarded": f"host={EVIL};proto=http"},
    {"origin": f"https://{EVIL}"},
    {"referer": f"https://{EVIL}/"},
]


def allowed(url: str, origin: str, paths: tuple[str, ...], query_keys: frozenset[str] | None = None) -> bool:
    """On the allow-list: exactly `origin` (no userinfo), one of `paths`, nothing else smuggled."""
    if any(char in url for char in "\\\r\n\t "):
        return False
    parts = urlsplit(url)
    expected = urlsplit(origin)
    if (parts.scheme, parts.netloc) != (expected.scheme, expected.netloc) or parts.fragment:
        return False
    if parts.path not in paths:
        return False
    return query_keys is None or set(parse_qs(parts.query, keep_blank_values=True)) <= query_keys


@pytest.fixture
def deployed_urls(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings of a stack: our front end and API on their own https origins."""
    monkeypatch.setenv("APP_BASE_URL", APP)
    monkeypatch.setenv("API_BASE_URL", API)
    bootstrap.reset()


@pytest.fixture
def outgoing(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Every request the adapters send (the sandboxes sit behind httpx MockTransports)."""
    sent: list[httpx.Request] = []
    handle = httpx.MockTransport.handle_request

    def record(self: httpx.MockTransport, request: httpx.Request) -> httpx.Response:
        request.read()
        sent.append(request)
        return handle(self, request)

    monkeypatch.setattr(httpx.MockTransport, "handle_request", record)
    return sent


@pytest.fixture
def emails(monkeypatch: pytest.MonkeyPatch) -> list[EmailMessage]:
    """Every email the use cases hand the sender (text and HTML, as rendered)."""
    sender = bootstrap.email_sender()
    sent: list[EmailMessage] = []
    send = sender.send

    def record(message: EmailMessage) -> str:
        sent.append(message)
        return send(message)

    monkeypatch.setattr(sender, "send", record)
    return sent


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend(value or "" for name, value in attrs if name in ("href", "src", "action"))


def hrefs(html: str) -> list[str]:
    parser = _Hrefs()
    parser.feed(html)
    return parser.found


def callback_location(query: dict[str, str], headers: dict[str, str] | None = None) -> str:
    event = api_event("GET", "/callbacks/gocardless", query=query, headers=headers)
    response = connections_api.lambda_handler(event, FakeLambdaContext())
    if response["statusCode"] != 302:
        return ""  # refused before any redirect (e.g. a reference longer than allowed)
    return str(response["headers"]["Location"])


def requests_outside(sent: list[httpx.Request], base: str) -> int:
    """Requests not to the provider's configured host, or out of its base path."""
    expected = urlsplit(base)
    return sum(
        (request.url.scheme, request.url.netloc.decode()) != (expected.scheme, expected.netloc)
        or not request.url.path.startswith(expected.path + "/")
        for request in sent
    )


def id_escapes(sent: list[httpx.Request], hostile_id: str) -> int:
    """GoCardless requests made for a hostile institution id that are not the token calls, the
    institutions list, or that institution with its id as exactly one path segment."""
    prefix = urlsplit(GOCARDLESS_BASE).path + "/api/v2/"
    expected = {f"{prefix}institutions/"} | {  # the API trims surrounding whitespace off an id
        f"{prefix}institutions/{quote(value, safe='')}/" for value in (hostile_id, hostile_id.strip())
    }
    return sum(
        not (path.startswith(f"{prefix}token/") or path in expected)
        for path in (request.url.raw_path.decode().split("?", 1)[0] for request in sent)
    )


def test_redirects_links_and_fetches_stay_on_their_allow_lists(
    deployed_urls, sandboxes, customer_id, outgoing, emails, bar, monkeypatch
):
    outside: dict[str, int] = {}
    tried: dict[str, int] = {}

    def check(kind: str, urls: Iterator[bool] | list[bool]) -> None:
        results = list(urls)
        tried[kind] = tried.get(kind, 0) + len(results)
        outside[kind] = outside.get(kind, 0) + results.count(False)

    complete = ("/connections/complete",)
    outcome_only = frozenset({"outcome"})

    # ---- the callback redirect: hostile refs and errors, hostile headers, and the real flow
    locations = [callback_location({"ref": value}) for value in HOSTILE_URLS]
    locations += [callback_location({"ref": "x", "error": value}) for value in HOSTILE_URLS]
    locations += [callback_location({"ref": "x"}, headers) for headers in HOSTILE_HEADERS]
    started = connect("gocardless", GOCARDLESS_BANK)
    ref = approve_at_gocardless(sandboxes, started["consent_url"])
    locations.append(callback_location({"ref": ref, "error": HOSTILE_URLS[0]}, HOSTILE_HEADERS[0]))
    assert parse_qs(urlsplit(locations[-1]).query)["outcome"] == ["linked"]  # the real flow went through
    check("callback", (allowed(url, APP, complete, outcome_only) for url in locations if url))

    # ---- what we hand the aggregators: our callback and webhook, on our API's origin
    for headers in HOSTILE_HEADERS:
        for provider, institution in (("gocardless", GOCARDLESS_BANK), ("plaid", "ins_900004")):
            event = api_event(
                "POST",
                "/connections",
                user=INVITEE,
                body={"provider": provider, "institution_id": institution},
                headers=headers,
            )
            assert connections_api.lambda_handler(event, FakeLambdaContext())["statusCode"] == 201
    handed: list[bool] = []
    for request in outgoing:
        body = json.loads(request.content) if request.content.startswith(b"{") else {}
        for key, paths in (
            ("redirect", ("/callbacks/gocardless",)),
            ("redirect_uri", ("/callbacks/plaid",)),
            ("webhook", ("/webhooks/plaid",)),
        ):
            if body.get(key) is not None:
                handed.append(allowed(str(body[key]), API, paths, frozenset()))
    assert len(handed) >= 2 * len(HOSTILE_HEADERS)  # a redirect for each GoCardless, a webhook for each Plaid
    check("aggregator_redirects", handed)

    # ---- fetches driven by input: institution ids, for both providers
    hostile_ids = [
        *HOSTILE_URLS,
        "..",
        ".",
        "../..",
        "../requisitions",
        "%2e%2e",
        f"@{EVIL}",
        f"{EVIL}:443",
        "DEMOBANK?x=1#",
    ]
    escapes = 0
    for hostile in hostile_ids:
        for provider in ("gocardless", "plaid"):
            before = len(outgoing)
            event = api_event(
                "POST", "/connections", user=INVITEE, body={"provider": provider, "institution_id": hostile}
            )
            assert connections_api.lambda_handler(event, FakeLambdaContext())["statusCode"] != 201
            sent = outgoing[before:]
            base = GOCARDLESS_BASE if provider == "gocardless" else PLAID_BASE
            check("institution_fetches", [requests_outside([request], base) == 0 for request in sent])
            if provider == "gocardless":
                escapes += id_escapes(sent, hostile)

    # ---- the Plaid verification-key fetch, driven by a webhook's `kid`
    private, _ = own_key()
    raw = json.dumps(sync("item-x")).encode()
    hostile_kids = [*HOSTILE_URLS, "169.254.169.254", "..", f"a@{EVIL}", "x" * 200]
    before = len(outgoing)
    for kid in hostile_kids:
        token = es256(private, kid, {"iat": int(sandboxes.now.timestamp()), "request_body_sha256": "0" * 64})
        status, _ = call(
            connections_api,
            "POST",
            PLAID_WEBHOOK_ROUTE,
            None,
            body=raw.decode(),
            headers={"plaid-verification": token},
        )
        assert status == 401
    key_fetches = outgoing[before:]
    check("key_fetches", [requests_outside([request], PLAID_BASE) == 0 for request in key_fetches])
    check(
        "key_fetches",
        [request.url.path == "/sandbox/plaid/webhook_verification_key/get" for request in key_fetches],
    )

    # ---- links in emails: hostile names, messages and headers
    seed_staff()
    world: FileWorld = new_file("hostile.holder@example.org", "Hostile Holder")
    for n, hostile in enumerate(HOSTILE_URLS):
        text = f'<a href="{hostile}">{hostile}</a> [click]({hostile})'
        status, created = call(
            invitations,
            "POST",
            "/customers/invitations",
            ADMIN,
            # a name refuses line breaks (shared/domain/input_rules.py); the message keeps them
            body={
                "name": text[:100].replace("\r\n", " "),
                "email": f"hostile.{n}@example.org",
                "message": text,
            },
            headers=HOSTILE_HEADERS[n % len(HOSTILE_HEADERS)],
        )
        assert status == 201, created
        status, _ = call(
            invitations,
            "POST",
            "/customers/{customer_id}/invitation/resend",
            ADMIN,
            path_parameters={"customer_id": created["customer_id"]},
            headers=HOSTILE_HEADERS[(n + 1) % len(HOSTILE_HEADERS)],
        )
        assert status == 200
    for n, hostile in enumerate(HOSTILE_URLS[:6]):
        name = f"Kin {n} {hostile}"[:100]
        world.add_member(name, "child")
        grantee = Person(f"hostile-kin-{n}", f"kin.{n}@example.org")
        status, granted = call(
            access,
            "PUT",
            "/files/{file_id}/members/{member_id}/access",
            MANAGER,
            path_parameters={**world.ids, "member_id": world.members[name]},
            body={"email": grantee.email, "phone": "+33612345678", "level": "read_only"},
            headers=HOSTILE_HEADERS[n % len(HOSTILE_HEADERS)],
        )
        assert status == 200, granted
    pages = ("/invitations/accept", "/file-invitations/accept")
    links = [href for message in emails for href in hrefs(message.html)]
    assert len(links) >= 2 * len(HOSTILE_URLS) + 6
    check("email_links", (allowed(href, APP, pages, frozenset({"token"})) for href in links))

    # ---- deployment settings: the only source of APP_BASE_URL and the aggregators' URLs
    settings_refused = 0
    for key, values in (
        ("app_base_url", [*(set(HOSTILE_URLS) - LEGITIMATE_ORIGINS), "http://localhost.evil.example", "http://127.0.0.1.evil.example",
                          f"http://localhost@{EVIL}", f"https://{EVIL}/path?next=x#y", "http://app.example", "https://169.254.169.254",
                          "https://[::1]", "https://0xA9FEA9FE"]),
        ("api_base_url", [*(set(HOSTILE_URLS) - LEGITIMATE_ORIGINS), f"http://localhost@{EVIL}",
                          "http://api.example", "https://169.254.169.254"]),
        ("gocardless_base_url", [*HOSTILE_URLS, "http://bankaccountdata.gocardless.com",
                                 f"https://bankaccountdata.gocardless.com@{EVIL}", f"https://{EVIL}"]),
        ("plaid_base_url", [*HOSTILE_URLS, "http://sandbox.plaid.com", f"https://sandbox.plaid.com.{EVIL}",
                            f"https://{EVIL}", "development"]),
    ):  # fmt: skip
        for value in values:
            tried["settings"] = tried.get("settings", 0) + 1
            try:
                stage_config({key: value})
            except ValueError:
                settings_refused += 1
            else:
                outside["settings"] = outside.get("settings", 0) + 1
    # the documented values still pass
    for good in (
        {},
        {"app_base_url": "http://localhost:3000"},
        {"app_base_url": "http://127.0.0.1:3000"},
        {"api_base_url": "https://api.client-data.example"},
        {"plaid_base_url": "production"},
        {"plaid_base_url": "https://production.plaid.com", "gocardless_base_url": "https://bankaccountdata.gocardless.com"},
    ):  # fmt: skip
        stage_config(good)
    # GoCardless documents its base both as the host and as <host>/api/v2/: the adapter gets the host
    for documented in (
        "https://bankaccountdata.gocardless.com/api/v2/",
        "https://bankaccountdata.gocardless.com/api/v2",
    ):
        assert (
            stage_config({"gocardless_base_url": documented}).gocardless_base_url
            == "https://bankaccountdata.gocardless.com"
        )

    total_outside = sum(outside.values())
    bar(
        "redirect allow-list",
        tried=sum(tried.values()),
        **{f"{kind}_tried": count for kind, count in tried.items()},
        id_escapes=escapes,
        accepted_outside=total_outside,
        **{f"{kind}_outside": count for kind, count in outside.items() if count},
    )
    assert total_outside == 0, outside
    assert escapes == 0


def stage_config(context: dict[str, str]) -> StageConfig:
    values = {"email_sender": "no-reply@client-data.example", "app_base_url": APP, **context}

    class Node:
        def try_get_context(self, key: str) -> Any:
            return values.get(key)

    return StageConfig.from_context(Node())  # type: ignore[arg-type]
