"""`make cost` at small sizes (issue 20): a day of a firm of 1, 2 and 3 customers simulated on the local
system, each in a process of its own, then the bill, the partition heat and the refresh time from
what was recorded. The figures the bill scales by the number of customers must be per-customer
constants: the line through the three sizes passes through each of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools import cost

pytestmark = pytest.mark.slow
# Figures that must be linear in the customers for the bill to scale them. Not in the list: the
# invocations of queue consumers and the SQS requests, which depend on how full each batch is (a few
# customers' jobs arrive one or two a batch; at scale, ten): counted as simulated, they are an upper
# bound (and a small part of the bill).
LINEAR = {
    ("dynamodb", "write_request_units"),
    ("dynamodb", "read_request_units"),
    ("lambda", "gb_seconds"),
    ("apigw", "requests"),
    ("ses", "emails"),
    ("dynamodb", "storage_bytes"),
    ("dynamodb", "daily_growth_bytes"),
}
MOST_OFF_THE_LINE = 0.10  # a measured point's distance to the line, relative to the point


def figures_of(line: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=([^,\s]+)", line.partition(":")[2]))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, object]]:
    directory = tmp_path_factory.mktemp("capacity")
    figures = directory / "figures.json"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cost.main(
            ["--sizes", "1,2,3", "--customers", "10000", "--figures", str(figures), "--table", "1000,100000"]
        )
    return code, out.getvalue(), json.loads(Path(figures).read_text())


def test_the_figures_the_bill_scales_are_per_customer_constants(report) -> None:
    _, _, figures = report
    lines = {tuple(entry["metric"]): entry for entry in figures["lines"]}
    scaled = [entry for metric, entry in lines.items() if metric[:2] in LINEAR and entry["per_customer"] > 0]
    assert len(scaled) >= 8, sorted(lines)  # the simulation recorded what the bill prices
    off = {tuple(entry["metric"]): round(entry["worst_deviation"], 3) for entry in scaled}
    worst = sorted(off.items(), key=lambda item: -item[1])[:3]
    assert max(off.values()) <= MOST_OFF_THE_LINE, worst
    # every customer's day writes to DynamoDB, runs the import worker and stores their transactions
    for metric in (
        ("dynamodb", "write_request_units", "data"),
        ("lambda", "requests", "import_worker"),
        ("dynamodb", "storage_bytes", "data"),
    ):
        assert lines[metric]["per_customer"] > 0, metric


def test_the_bill_the_heat_and_the_refresh_time_come_from_the_recording(report, bar) -> None:
    code, printed, _ = report
    (cost_line,) = [line for line in printed.splitlines() if line.startswith("BAR cost:")]
    (heat_line,) = [line for line in printed.splitlines() if line.startswith("BAR heat:")]
    billed, heat = figures_of(cost_line), figures_of(heat_line)
    assert billed["customers"] == "10000" and float(billed["usd_month"]) > 0
    assert float(billed["usd_per_customer_month"]) == pytest.approx(
        float(billed["usd_month"]) / 10000, abs=1e-4
    )
    assert len(billed["top"].split("|")) == 3
    assert heat["firm_customers"] == "100000" and heat["limit"] == "1000"
    assert 0 < float(heat["max_wcu_per_key_s"]) < 1000, heat_line  # every key under its partition limit
    assert code == 0, printed[-3000:]
    assert "Data Refresh of 10000 engagements" in printed and "| **total** |" in printed
    bar(
        "cost",
        customers=10000,
        usd_month=billed["usd_month"],
        usd_per_customer_month=billed["usd_per_customer_month"],
        top=billed["top"],
    )
    bar(
        "heat",
        firm_customers=100000,
        max_wcu_per_key_s=heat["max_wcu_per_key_s"],
        key_kind=heat["key_kind"],
        limit=1000,
    )
