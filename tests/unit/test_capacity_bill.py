"""The bill (tools/capacity/bill.py) on hand-computed usages, and the prices file itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tools.capacity.bill import PricesError, UnpricedUsage, load_prices, price
from tools.capacity.usage import UsageLine

# Every (service, metric) the recorded usage contains (issue 20): each must be priced.
METRICS = [
    ("lambda", "requests"),
    ("lambda", "gb_seconds"),
    ("apigw", "requests"),
    ("dynamodb", "read_request_units"),
    ("dynamodb", "write_request_units"),
    ("dynamodb", "storage_gb_month"),
    ("dynamodb", "pitr_gb_month"),
    ("sqs", "requests"),
    ("scheduler", "invocations"),
    ("cognito", "mau"),
    ("ses", "emails"),
    ("logs", "ingested_gb"),
    ("logs", "stored_gb_month"),
    ("secretsmanager", "secrets"),
    ("secretsmanager", "api_calls"),
    ("kms", "keys"),
    ("kms", "requests"),
    ("xray", "traces_recorded"),
    ("cloudwatch", "alarms"),
    ("cloudwatch", "custom_metrics"),
    ("s3", "put_requests"),
    ("s3", "get_requests"),
    ("s3", "storage_gb_month"),
]


def entry(service: str, metric: str, usd: Any, free: float = 0, **extra: Any) -> dict[str, Any]:
    return {
        "service": service,
        "metric": metric,
        "unit": "unit",
        "usd": usd,
        "free_per_month": free,
        "source": "hand-written",
        "read_on": "2026-12-06",
        "verified": extra.pop("verified", True),
        **extra,
    }


def write_prices(tmp_path: Path, *entries: dict[str, Any], plans: dict[str, str] | None = None) -> Path:
    path = tmp_path / "prices.json"
    doc = {
        "region": "eu-west-2",
        "read_on": "2026-12-06",
        "chosen_plans": plans or {},
        "prices": list(entries),
    }
    path.write_text(json.dumps(doc))
    return path


TIERED = [{"up_to": 100, "usd": 1.0}, {"up_to": None, "usd": 0.5}]


@pytest.fixture
def prices(tmp_path: Path) -> Any:
    return load_prices(
        write_prices(
            tmp_path,
            entry("dynamodb", "write_request_units", TIERED, free=40),
            entry("lambda", "gb_seconds", 0.01, verified=False),
            entry("cognito", "mau", 0.02, plan="plus"),
            entry("cognito", "mau", 0.015, free=10_000, plan="essentials"),
            entry(
                "cognito",
                "mau",
                [{"up_to": 100_000, "usd": 0.0055}, {"up_to": None, "usd": 0.0046}],
                plan="lite",
            ),
            plans={"cognito": "plus"},
        )
    )


def usd_of(bill: Any, qualifier: str) -> float:
    return next(line.usd for line in bill.lines if line.qualifier == qualifier)


def test_a_tier_is_crossed_on_the_months_total_and_shared_out_pro_rata(prices: Any) -> None:
    # 100 + 50 = 150 units: 100 at $1 and 50 at $0.50 = $125, shared 2:1 (tiers on each alone: 100 + 50 = 150)
    lines = [
        UsageLine("dynamodb", "write_request_units", "data", 100),
        UsageLine("dynamodb", "write_request_units", "data:GSI1", 50),
    ]
    bill = price(lines, prices, customers=10)
    assert bill.total_usd == pytest.approx(125.0)
    assert usd_of(bill, "data") == pytest.approx(125.0 * 100 / 150)
    assert usd_of(bill, "data:GSI1") == pytest.approx(125.0 * 50 / 150)
    assert bill.per_customer_usd == pytest.approx(12.5)


def test_the_free_tier_is_subtracted_only_when_asked(prices: Any) -> None:
    lines = [UsageLine("dynamodb", "write_request_units", "data", 150)]
    assert price(lines, prices, 1).total_usd == pytest.approx(125.0)
    # the 40 free units are the first 40 (all in the $1 tier): 125 - 40
    assert price(lines, prices, 1, free_tier=True).total_usd == pytest.approx(85.0)
    # below the free quantity nothing is billed
    small = [UsageLine("dynamodb", "write_request_units", "data", 30)]
    assert price(small, prices, 1, free_tier=True).total_usd == 0.0


def test_a_metric_without_a_price_is_refused(prices: Any) -> None:
    with pytest.raises(UnpricedUsage, match="sqs requests"):
        price([UsageLine("sqs", "requests", "imports", 10)], prices, 1)


def test_customers_must_be_positive(prices: Any) -> None:
    with pytest.raises(ValueError, match="customers"):
        price([], prices, 0)


def test_by_service_top_three_and_their_order(prices: Any) -> None:
    lines = [
        UsageLine("dynamodb", "write_request_units", "data", 20),  # $20 (one tier)
        UsageLine("dynamodb", "write_request_units", "audit:GSI1", 60),  # $60
        UsageLine("lambda", "gb_seconds", "import_worker", 9000),  # $90
        UsageLine("lambda", "gb_seconds", "platform_api", 1000),  # $10
        UsageLine("cognito", "mau", "", 1000),  # $20 on Plus
    ]
    bill = price(lines, prices, customers=100)
    assert bill.total_usd == pytest.approx(200.0)
    assert list(bill.by_service().items()) == [
        ("lambda", pytest.approx(100.0)),
        ("dynamodb", pytest.approx(80.0)),
        ("cognito", pytest.approx(20.0)),
    ]
    top = bill.top()
    assert [item.slug for item in top] == ["lambda_gb_seconds", "dynamodb_write_request_units", "cognito_mau"]
    assert top[0].share == pytest.approx(0.5)
    assert top[0].qualifiers == (("import_worker", pytest.approx(0.9)), ("platform_api", pytest.approx(0.1)))
    assert top[1].qualifiers[0] == ("audit:GSI1", pytest.approx(0.75))
    assert len(bill.top(1)) == 1


def test_cognito_cut_computes_what_essentials_and_lite_save(prices: Any) -> None:
    # 20,000 MAU: Plus $400, Essentials $300 (free tier off), Lite $110 -> saves $100 and $290
    bill = price([UsageLine("cognito", "mau", "", 20_000)], prices, customers=20_000)
    cut = bill.top()[0].cut
    assert "saves $100.00 a month at 20,000 MAU" in cut
    assert "Lite saves $290.00" in cut
    # with the free tier, Essentials' 10,000 free MAU count: $150 -> saves $250
    assert "saves $250.00" in price(bill_lines(20_000), prices, 1, free_tier=True).top()[0].cut


def bill_lines(mau: float) -> list[UsageLine]:
    return [UsageLine("cognito", "mau", "", mau)]


def test_write_cut_names_the_gsi_share_and_the_leading_index(prices: Any) -> None:
    lines = [
        UsageLine("dynamodb", "write_request_units", "data", 20),
        UsageLine("dynamodb", "write_request_units", "data:GSI1", 50),
        UsageLine("dynamodb", "write_request_units", "audit:GSI2", 30),
    ]
    # 100 units = $100, so data:GSI1 costs $50
    cut = price(lines, prices, 1).top()[0].cut
    assert cut.startswith("GSI writes are 80% of write units; data:GSI1 leads (50%, $50.00 a month)")


def test_lambda_cut_names_the_leading_function_and_its_memory(prices: Any) -> None:
    lines = [
        UsageLine("lambda", "gb_seconds", "import_worker", 3000),
        UsageLine("lambda", "gb_seconds", "x", 1000),
    ]
    cut = price(lines, prices, 1).top()[0].cut
    assert cut.startswith(
        "import_worker leads (75%) at 1024 MB, arm64 already: halving its memory saves up to $15.00"
    )


def test_the_log_storage_cut_names_the_retention_the_stored_volume_is_priced_at(tmp_path: Path) -> None:
    from tools.capacity.figures import LOG_RETENTION_DAYS

    prices = load_prices(write_prices(tmp_path, entry("logs", "stored_gb_month", 0.03)))
    cut = price([UsageLine("logs", "stored_gb_month", "import_worker", 9)], prices, 1).top()[0].cut
    assert f"{LOG_RETENTION_DAYS} days" in cut and "30 days" not in cut


def test_an_item_without_a_cut_of_its_own_gets_the_generic_one(tmp_path: Path) -> None:
    prices = load_prices(write_prices(tmp_path, entry("scheduler", "invocations", 1e-6)))
    bill = price([UsageLine("scheduler", "invocations", "daily-import", 30)], prices, 1)
    assert bill.top()[0].cut == "no specific cut recorded; daily-import is 100% of it"


def test_bar_line(prices: Any) -> None:
    lines = [
        UsageLine("lambda", "gb_seconds", "import_worker", 12346),  # $123.46
        UsageLine("dynamodb", "write_request_units", "data", 10),  # $10
        UsageLine("cognito", "mau", "", 50),  # $1
    ]
    bar = price(lines, prices, customers=1000).bar()
    assert re.fullmatch(
        r"BAR cost: customers=\d+, usd_month=\d+\.\d{2}, usd_per_customer_month=\d+\.\d{4}, "
        r"top=\w+\|\w+\|\w+",
        bar,
    )
    assert bar == (
        "BAR cost: customers=1000, usd_month=134.46, usd_per_customer_month=0.1345, "
        "top=lambda_gb_seconds|dynamodb_write_request_units|cognito_mau"
    )


def test_render_has_the_rows_total_per_customer_top_and_footer(prices: Any) -> None:
    lines = [UsageLine("lambda", "gb_seconds", "import_worker", 3000), UsageLine("cognito", "mau", "", 500)]
    text = price(lines, prices, customers=40).render()
    assert re.search(r"^lambda\s+30\.00\s+75\.0%$", text, re.MULTILINE)
    assert re.search(r"^cognito\s+10\.00\s+25\.0%$", text, re.MULTILINE)
    assert re.search(r"^total\s+40\.00$", text, re.MULTILINE)
    assert "per customer per month: $1.0000" in text
    assert "1. lambda gb_seconds: $30.00 (75.0%); import_worker 100%" in text
    assert "2. cognito mau: $10.00 (25.0%)" in text
    assert text.count("   cut: ") == 2
    assert text.endswith(
        "Prices: eu-west-2, read 2026-12-06; free tier not subtracted (an account that already uses its "
        "free tier elsewhere); 1 of 5 prices unverified for the region."
    )
    assert "free tier subtracted;" in price(lines, prices, 40, free_tier=True).render()


def test_a_duplicate_price_is_refused(tmp_path: Path) -> None:
    path = write_prices(tmp_path, entry("ses", "emails", 1e-4), entry("ses", "emails", 2e-4))
    with pytest.raises(PricesError, match="duplicate price for ses emails"):
        load_prices(path)


def test_a_price_without_its_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PricesError, match="lacks source"):
        load_prices(write_prices(tmp_path, entry("ses", "emails", 1e-4, source="")))


def test_tiers_must_rise_and_end_open(tmp_path: Path) -> None:
    closed = [{"up_to": 100, "usd": 1.0}, {"up_to": 200, "usd": 0.5}]
    with pytest.raises(PricesError, match="tiers"):
        load_prices(write_prices(tmp_path, entry("sqs", "requests", closed)))


def test_a_service_with_plans_must_name_the_one_it_uses(tmp_path: Path) -> None:
    path = write_prices(
        tmp_path, entry("cognito", "mau", 0.02, plan="plus"), entry("cognito", "mau", 0.015, plan="lite")
    )
    with pytest.raises(UnpricedUsage, match="cognito mau"):
        load_prices(path)


def test_the_prices_file_prices_every_recorded_metric_for_london() -> None:
    prices = load_prices()
    assert prices.region == "eu-west-2"
    for service, metric in METRICS:
        assert prices.of(service, metric).tiers, (service, metric)
    assert set(prices.plans("cognito", "mau")) == {"plus", "essentials", "lite"}
    assert prices.of("cognito", "mau").plan == "plus"
    assert all(p.source and p.read_on == "2026-12-06" for p in prices.entries)
    assert 0 < prices.unverified < len(prices.entries)
    # arm64 London figures read in the corpus: $0.20 a million requests, $0.0000133334 a GB-second
    assert prices.of("lambda", "requests").cost(1e6) == pytest.approx(0.20)
    assert prices.of("lambda", "gb_seconds").cost(1e6) == pytest.approx(13.3334)
