"""The Data Refresh time model (tools/capacity/refresh_time.py): small cases computed by hand, each
constraint binding in turn."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tools.capacity.durations import Limits, ProviderLimits, load_limits
from tools.capacity.refresh_time import refresh_time


@pytest.fixture(scope="module")
def limits() -> Limits:
    return replace(
        load_limits(),
        providers={
            "ten": ProviderLimits(requests_per_minute=600, p50_ms=100.0),  # 10 requests/s
            "hundred": ProviderLimits(requests_per_minute=6000, p50_ms=100.0),
        },
    )


def concurrency(fanout: int, imports: int) -> dict[str, int]:
    return {"refresh_fanout_worker": fanout, "import_worker": imports}


def test_import_concurrency_binds(limits: Limits) -> None:
    time = refresh_time(200, 1000, 2000, 1, concurrency(10, 5), limits, provider_requests_per_import=1)
    assert (time.pages, time.import_jobs) == (2, 200)
    assert time.fanout_s == pytest.approx(1.0)  # one wave of 2 pages
    assert time.import_lambda_s == pytest.approx(80.0)  # ceil(200 / 5) waves x 2 s
    assert time.import_provider_s == pytest.approx(20.0)  # 200 requests / 10 per s (the lower limit)
    assert time.provider == "ten"
    assert time.total_s == pytest.approx(81.0)  # the first page, then the imports
    assert time.binding == "import_concurrency"
    assert time.allowed_import_concurrency == 20  # floor(10 req/s x 2 s / 1)
    assert time.total_at_allowed_s == pytest.approx(21.0)  # ceil(200 / 20) x 2 s = 20 s after the first page
    assert "bound by import_concurrency" in time.render()


def test_the_providers_rate_binds(limits: Limits) -> None:
    time = refresh_time(200, 1000, 2000, 1, concurrency(10, 5), limits, provider_requests_per_import=5)
    assert time.import_provider_s == pytest.approx(100.0)  # 1,000 requests / 10 per s
    assert time.import_s == pytest.approx(100.0)
    assert time.total_s == pytest.approx(101.0)
    assert time.binding == "provider_rate"
    assert time.allowed_import_concurrency == 4  # floor(10 x 2 / 5)
    assert time.total_at_allowed_s == pytest.approx(101.0)  # 50 waves x 2 s = the provider's 100 s
    named = refresh_time(200, 1000, 2000, 1, concurrency(10, 5), limits, 5, provider="hundred")
    assert named.import_provider_s == pytest.approx(10.0) and named.binding == "import_concurrency"


def test_the_fan_out_binds(limits: Limits) -> None:
    time = refresh_time(1000, 30_000, 100, 1, concurrency(2, 50), limits, provider_requests_per_import=0)
    assert time.pages == 10
    assert time.fanout_s == pytest.approx(150.0)  # ceil(10 / 2) waves x 30 s
    assert time.import_lambda_s == pytest.approx(2.0)  # ceil(1000 / 50) x 0.1 s
    assert time.total_s == pytest.approx(150.1)  # the last page, then its last import
    assert time.binding == "fanout"
    assert time.allowed_import_concurrency is None and time.total_at_allowed_s is None


def test_connections_per_engagement_multiply_the_import_jobs(limits: Limits) -> None:
    time = refresh_time(4, 500, 1000, 2.5, concurrency(10, 4), limits, provider_requests_per_import=1)
    assert (time.pages, time.import_jobs) == (1, 10)
    assert time.import_lambda_s == pytest.approx(3.0)  # ceil(10 / 4) waves x 1 s: the last wave is partial
    assert time.total_s == pytest.approx(3.5)
    nothing = refresh_time(0, 500, 1000, 2.5, concurrency(10, 5), limits, provider_requests_per_import=1)
    assert (nothing.pages, nothing.total_s) == (0, 0.0)
