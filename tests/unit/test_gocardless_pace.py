"""The GoCardless adapter keeps to the company-wide pace (issue 20): every request to an account
endpoint, each attempt, passes the pace before it is sent (and before the account's daily budget);
a refusal sends nothing and spends none of the day's requests. The limit comes from settings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.adapters.aggregator.credentials import static_source
from shared.adapters.aggregator.gocardless import GoCardlessAdapter
from shared.adapters.aggregator.http_client import RetryPolicy
from shared.domain.aggregator import DateWindow, RequestsPaced
from shared.settings import get_settings
from tests.fakes import FakePace
from tests.fixtures.aggregator import documented as doc
from tests.fixtures.aggregator.fake_api import FakeApi, reply

BASE = "https://bankaccountdata.gocardless.com"
NOW = datetime(2026, 12, 6, 10, 15, 20, tzinfo=UTC)
ACCOUNT = f"/api/v2/accounts/{doc.ACCOUNT_ID}/"
REQUISITION = f"/api/v2/requisitions/{doc.REQUISITION_ID}/"
AGREEMENT = f"/api/v2/agreements/enduser/{doc.AGREEMENT_ID}/"


class Gate:
    """The per-account daily gate, recording into the log it shares with the pace."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def admit(self, scope: str, endpoint: str) -> None:
        self.log.append(f"gate {endpoint}")

    def hold(self, scope: str, endpoint: str, until: datetime) -> None:
        self.log.append(f"hold {endpoint}")


class Pace(FakePace):
    log: list[str]

    def admit(self) -> None:
        super().admit()
        self.log.append("pace")


def adapter(api: FakeApi, limit: int = 100) -> tuple[GoCardlessAdapter, list[str], Pace]:
    log: list[str] = []
    pace = Pace(lambda: NOW, limit=limit)
    pace.log = log
    built = GoCardlessAdapter(
        BASE,
        static_source({"gocardless_secret_id": "id", "gocardless_secret_key": "key"}),
        transport=api.transport(),
        clock=lambda: NOW,
        sleep=lambda _: None,
        retry=RetryPolicy(attempts=3, base_delay=0.5, max_delay=8.0),
        gate=Gate(log),
        pace=pace,
    )
    return built, log, pace


def test_every_account_endpoint_passes_the_pace_first_and_nothing_else_does():
    api = FakeApi().on("POST", "/api/v2/token/new/", reply(200, doc.gc_token()))
    api.on("GET", REQUISITION, reply(200, doc.gc_requisition("LN", [doc.ACCOUNT_ID])))
    api.on("GET", AGREEMENT, reply(200, doc.gc_agreement(accepted="2026-12-06T09:31:00Z")))
    api.on("GET", ACCOUNT, reply(200, doc.GC_ACCOUNT))
    api.on("GET", ACCOUNT + "details/", reply(200, doc.GC_DETAILS))
    api.on("GET", ACCOUNT + "balances/", reply(200, doc.GC_BALANCES))
    gocardless, log, pace = adapter(api)

    gocardless.list_accounts(doc.REQUISITION_ID)

    # accounts/{id}/ has no daily budget but counts towards the company's 100 a minute
    assert log == ["pace", "pace", "gate details", "pace", "gate balances"]
    assert (
        pace.calls_this_minute()
        == 3
        == sum(api.calls("GET", path) for path in (ACCOUNT, ACCOUNT + "details/", ACCOUNT + "balances/"))
    )


def test_each_retry_passes_the_pace_again():
    api = FakeApi().on("POST", "/api/v2/token/new/", reply(200, doc.gc_token()))
    api.on(
        "GET",
        ACCOUNT + "transactions/",
        reply(500, doc.gc_error(500, "Internal error", "Try again")),
        reply(200, doc.GC_TRANSACTIONS),
    )
    gocardless, log, pace = adapter(api)

    gocardless.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 12, 1)))

    assert log == ["pace", "gate transactions"] * 2
    assert pace.calls_this_minute() == 2 == api.calls("GET", ACCOUNT + "transactions/")


def test_a_refusal_sends_nothing_and_spends_none_of_the_accounts_daily_requests():
    api = FakeApi().on("POST", "/api/v2/token/new/", reply(200, doc.gc_token()))
    api.on("GET", ACCOUNT + "transactions/", reply(200, doc.GC_TRANSACTIONS))
    gocardless, log, _ = adapter(api, limit=0)

    with pytest.raises(RequestsPaced) as refused:
        gocardless.fetch_transactions(doc.REQUISITION_ID, doc.ACCOUNT_ID, DateWindow(date(2026, 12, 1)))

    assert api.calls("GET", ACCOUNT + "transactions/") == 0
    assert log == []  # neither a daily request spent nor a hold written
    assert refused.value.reset_at == datetime(2026, 12, 6, 10, 16, tzinfo=UTC)
    assert refused.value.retry_after_seconds == 40


def test_the_limit_is_the_documented_100_unless_the_environment_says_more(monkeypatch):
    monkeypatch.delenv("GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE", raising=False)
    get_settings.cache_clear()
    assert get_settings().gocardless_account_calls_per_minute == 100
    monkeypatch.setenv("GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE", "250")
    get_settings.cache_clear()
    assert get_settings().gocardless_account_calls_per_minute == 250
    get_settings.cache_clear()


def test_the_composition_root_paces_gocardless_at_the_configured_limit(monkeypatch):
    from shared.adapters import aggregator

    monkeypatch.setenv("GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE", "180")
    get_settings.cache_clear()
    aggregator.reset()
    try:
        built = aggregator.provider("gocardless")
        pace = built._session._pace  # type: ignore[attr-defined]
        assert (type(pace).__name__, pace.limit, pace.provider, pace.resource) == (
            "DynamoRequestPace",
            180,
            "gocardless",
            "accounts",
        )
    finally:
        aggregator.reset()
        get_settings.cache_clear()
