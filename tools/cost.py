"""`make cost CUSTOMERS=10000`: what a firm pays on AWS a month, and where it would throttle first
(issue 20), from a day simulated on the local system at small sizes (tools/capacity/).

    python -m tools.cost --customers 10000 [--sizes 2,4,6] [--heat-customers 100000]
                         [--refresh-engagements 10000] [--figures .capacity/figures.json]

Simulates a day at each size (a fresh local system each, every invocation recorded), fits each
metric's line through the sizes, prices the month at `--customers` (tools/capacity/prices.json),
then reports the partition heat of the daily import and of a Data Refresh (tools/capacity/heat.py),
the limits at the configured concurrency, and the time a Data Refresh of `--refresh-engagements`
engagements takes (tools/capacity/refresh_time.py). Prints `BAR cost` and `BAR heat` lines; exits 1
when a partition key's rate is over its limit. The fit is saved to `--figures` (JSON).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.capacity.usage import InvocationRecord

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIGURES = ROOT / ".capacity" / "figures.json"
HEAT_ACTIVITIES = ("daily_import", "data_refresh")


def init_ms(functions: Sequence[str]) -> dict[str, float]:
    """Each function's init as B1 measures it (one fresh interpreter, the import alone, CPU time)."""
    from tools.cold_start import import_code, lambda_environment, measure

    return {
        name: measure(sys.executable, import_code(name), lambda_environment(name, ROOT, [ROOT]), ROOT).cpu
        * 1000
        for name in functions
    }


def per_engagement(records: Sequence[InvocationRecord], engagements: int, function: str, limits: object,
                   inits: Mapping[str, float]) -> float:
    """The modeled milliseconds `function` spent in the data refresh for each engagement."""
    from tools.capacity.durations import modeled_ms

    spent = [r for r in records if r.activity == "data_refresh" and r.function == function]
    return sum(modeled_ms(r, limits, inits.get(r.function, 0.0)) for r in spent) / max(engagements, 1)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--sizes", default="2,4,6", help="firm sizes simulated (customers), comma-separated")
    parser.add_argument("--heat-customers", type=int, default=100_000)
    parser.add_argument("--refresh-engagements", type=int, default=10_000)
    parser.add_argument("--figures", type=Path, default=DEFAULT_FIGURES)
    args = parser.parse_args(argv)

    from tools.capacity.bill import load_prices, price
    from tools.capacity.durations import load_limits
    from tools.capacity.figures import day_figures, fit, monthly_usage
    from tools.capacity.heat import configured_concurrency, heat, limits_report
    from tools.capacity.refresh_time import refresh_time
    from tools.capacity.simulate import Mix, simulate

    sizes = sorted({int(size) for size in args.sizes.split(",")})
    mix, limits = Mix(), load_limits()
    runs = []
    for size in sizes:
        print(f"simulating a day of a firm of {size} customers…", file=sys.stderr, flush=True)
        runs.append(simulate(size))
    functions = sorted({record.function for run in runs for record in run.recording.records})
    inits = init_ms(functions)
    figures = fit([day_figures(run, mix, limits, inits) for run in runs], mix.customer_visit)
    figures.save(args.figures)

    bill = price(monthly_usage(figures, args.customers), load_prices(), args.customers)
    print(bill.render())
    print(bill.bar())

    largest = runs[-1]
    records = largest.recording.records
    concurrency = configured_concurrency()
    over = False
    worst = None
    for activity in HEAT_ACTIVITIES:
        report = heat(records, concurrency, limits, activity, inits)
        print(report.render())
        row = report.worst_write()
        if row is not None and (worst is None or row.rate > worst[1].rate):
            worst = (report, row)
        over = over or any(r.rate > r.limit for r in report.rows)
    print(limits_report(concurrency, limits, records, inits).render())
    if worst is not None:
        print(worst[0].bar(args.heat_customers))

    engagements = largest.customers
    connections = sum(
        1 for r in records if r.activity == "data_refresh" and r.function == "import_worker"
    )
    imports = [r for r in records if r.activity == "data_refresh" and r.function == "import_worker"]
    jobs = max(sum(1 for _ in imports), 1)
    timing = refresh_time(
        args.refresh_engagements,
        fanout_page_ms=100 * per_engagement(records, engagements, "refresh_fanout_worker", limits, inits),
        import_ms=per_engagement(records, engagements, "import_worker", limits, inits),
        connections_per_engagement=1.0,
        concurrency=concurrency,
        limits=limits,
        provider_requests_per_import=sum(r.provider_requests for r in imports) / max(engagements, 1),
    )
    del connections, jobs
    print(timing.render())
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
