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
import pickle  # nosec B403 # the simulation's own output, written by this tool's child process
import subprocess  # nosec B404 # our own interpreter, our own module, no shell
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from tools.capacity.bill import Bill
from tools.capacity.durations import Limits, modeled_ms
from tools.capacity.simulate import Simulated
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


def simulated_day(customers: int, kept: Path, reuse: bool) -> Simulated:
    """A day of a firm of `customers` customers, simulated in a process of its own and kept in `kept`
    (with `reuse`, the day an earlier run kept there)."""
    out = kept / f"day-{customers}.pickle"
    if not (reuse and out.exists()):
        print(f"simulating a day of a firm of {customers} customers…", file=sys.stderr, flush=True)
        kept.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "tools.capacity.simulate",
            "--customers",
            str(customers),
            "--out",
            str(out),
        ]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"the simulation of {customers} customers failed:\n{done.stderr[-4000:]}")
    return pickle.loads(out.read_bytes())  # type: ignore[no-any-return]  # noqa: S301 # nosec B301 # our own file


def per_engagement(
    runs: Sequence[Simulated], function: str, limits: Limits, inits: Mapping[str, float]
) -> float:
    """The modeled milliseconds `function` spends in a Data Refresh for one more engagement: the slope
    between the smallest and the largest simulated firm (an invocation's fixed part and cold start
    are not an engagement's)."""

    def spent(run: Simulated) -> float:
        refresh = [
            r for r in run.recording.records if r.activity == "data_refresh" and r.function == function
        ]
        return sum(modeled_ms(r, limits, inits.get(r.function, 0.0)) for r in refresh)

    smallest, largest = runs[0], runs[-1]
    return (spent(largest) - spent(smallest)) / (largest.customers - smallest.customers)


LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # a synchronous invocation's request and response, each


def payloads(records: Sequence[InvocationRecord]) -> str:
    """The largest event and response the simulated day passed, against Lambda's payload limit."""
    day = [r for r in records if r.activity != "setup"]
    if not day:
        return "Payloads: no invocation recorded"
    event = max(day, key=lambda r: r.event_bytes)
    response = max(day, key=lambda r: r.response_bytes)
    return (
        f"Payloads: largest event {event.event_bytes / 1024:,.1f} KB ({event.function}), largest "
        f"response {response.response_bytes / 1024:,.1f} KB ({response.function}), "
        f"of {LAMBDA_PAYLOAD_BYTES // 1024:,} KB"
    )


def markdown_table(sizes: Sequence[int], bills: Sequence[Bill]) -> str:
    """The monthly bill by service at each firm size, as docs/deploy.md shows it."""
    services = sorted(
        {service for bill in bills for service in bill.by_service()},
        key=lambda s: -bills[-1].by_service().get(s, 0.0),
    )
    lines = [
        "| USD a month | " + " | ".join(f"{n:,} customers" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for service in services:
        lines.append(
            f"| {service} | "
            + " | ".join(f"{bill.by_service().get(service, 0.0):,.2f}" for bill in bills)
            + " |"
        )
    lines.append("| **total** | " + " | ".join(f"**{bill.total_usd:,.2f}**" for bill in bills) + " |")
    lines.append("| per customer | " + " | ".join(f"{bill.per_customer_usd:.4f}" for bill in bills) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--sizes", default="2,4,6", help="firm sizes simulated (customers), comma-separated")
    parser.add_argument("--heat-customers", type=int, default=100_000)
    parser.add_argument("--refresh-engagements", type=int, default=10_000)
    parser.add_argument("--figures", type=Path, default=DEFAULT_FIGURES)
    parser.add_argument("--table", default="", help="also the bill at these sizes as a markdown table")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the days simulated last time (beside --figures)"
    )
    args = parser.parse_args(argv)

    from infra.spec import FUNCTIONS
    from tools.capacity.bill import load_prices, price
    from tools.capacity.durations import load_limits
    from tools.capacity.figures import day_figures, fit, monthly_usage
    from tools.capacity.heat import configured_concurrency, heat, limits_report
    from tools.capacity.refresh_time import FANOUT_PAGE, refresh_time
    from tools.capacity.simulate import CONNECTIONS_PER_CUSTOMER, Mix

    sizes = sorted({int(size) for size in args.sizes.split(",")})
    mix, limits = Mix(), load_limits()
    runs = [simulated_day(size, args.figures.parent, args.reuse) for size in sizes]
    functions = sorted({record.function for run in runs for record in run.recording.records})
    inits = init_ms(functions)
    figures = fit([day_figures(run, mix, limits, inits) for run in runs], mix.customer_visit)
    figures.save(args.figures)

    bill = price(monthly_usage(figures, args.customers), load_prices(), args.customers)
    print(bill.render())
    print(bill.bar())
    if args.table:
        sizes_shown = [int(size) for size in args.table.split(",")]
        bills = [price(monthly_usage(figures, n), load_prices(), n) for n in sizes_shown]
        print(markdown_table(sizes_shown, bills))

    largest = runs[-1]
    records, engagements = largest.recording.records, largest.customers
    # The workers at their configured maxima; an API function in these activities is one person's
    # request (the refresh's trigger), not the account's whole concurrency.
    concurrency = {name: 1 for name in FUNCTIONS} | configured_concurrency()
    reports = [heat(records, concurrency, limits, a, inits, engagements) for a in HEAT_ACTIVITIES]
    for report in reports:
        print(report.render())
    print(limits_report(configured_concurrency(), limits, records, inits).render())
    print(payloads(records))
    # The latencies are assumptions: the same day with every AWS call twice as fast (more writes a second).
    faster = replace(limits, latency_p50_ms={call: ms / 2 for call, ms in limits.latency_p50_ms.items()})
    for activity in HEAT_ACTIVITIES:
        row = heat(records, concurrency, faster, activity, inits, engagements).worst_write()
        if row is not None:
            print(f"{activity} with AWS calls twice as fast: {row.units_per_s:.1f} units/s on {row.name}")
    worst = max(reports, key=lambda report: getattr(report.worst_write(), "units_per_s", 0.0))
    print(worst.bar(args.heat_customers))

    imports = [r for r in records if r.activity == "data_refresh" and r.function == "import_worker"]
    timing = refresh_time(
        args.refresh_engagements,
        fanout_page_ms=FANOUT_PAGE * per_engagement(runs, "refresh_fanout_worker", limits, inits),
        import_ms=per_engagement(runs, "import_worker", limits, inits),
        connections_per_engagement=CONNECTIONS_PER_CUSTOMER,
        concurrency=concurrency,
        limits=limits,
        provider_requests_per_import=sum(r.provider_requests for r in imports) / max(engagements, 1),
    )
    print(timing.render())
    over = any(row.units_per_s > row.limit for report in reports for row in report.rows)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
