"""`make soak` (issue 19): a bounded load against the whole local system, then checks that nothing was
lost, duplicated or miscounted, and one `BAR soak:` line.

`python -m tools.soak --minutes 10 --concurrency 20 --customers 10000` starts `python -m local` as a
subprocess on free 127.0.0.1 ports (as the tests do: tests/local_system_support.py), waits for the demo
customer's bank connection, signs the demo admin, adviser and customer in through the user pool (the
staff with their authenticator code), seeds the demo firm with N invited customers owned by the two staff
through the local console (`POST /_local/seed/customers`, local/bulk_seed.py), then runs
`--concurrency` workers (asyncio, httpx) for `--minutes`: staff and customer reads and writes over the
API the web console uses (soak_load.py), and the daily import and invitation reminders run through the
local console at a third and two thirds of the run. Afterwards (tools/soak_checks.py) it reads the firm
back from the system's moto and prints

    BAR soak: requests=…, rps=…, p50_ms=…, p99_ms=…, p99_last_tenth/p99_first_tenth=…,
    rss_start_mb=…, rss_end_mb=…, 5xx=…, lost=…, duplicated=…, counter_drift=…

RSS is the system process's resident memory (/proc/<pid>/status) once seeded and when the load ends.
The exit status is 1 when a target (below) is missed, each missed one printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from local.demo_data import DEMO_USERS
from local.fake_aws import FAKE_CREDENTIALS
from local.user_pool import running_pool
from tests.bars import bar_line
from tests.local_system_support import LocalProcess, start_local_process
from tools.soak_checks import Findings, check_firm, counter_drift
from tools.soak_load import Actor, Load, Sample

# Targets (issue 19)
WRITE_METHODS = ("POST", "PUT", "DELETE")  # a request kind's first word
MAX_RSS_END_MB = 1536  # 1.5 GB at the end of the load
MAX_RSS_GROWTH = 3.0  # and at most 3x the resident memory at its start
MAX_P99_DEGRADATION = 2.0  # p99 of the last tenth of the run at most 2x the first tenth's
# 5xx, lost, duplicated and counter drift: none.

MAX_MINUTES = 50  # the pool's ID tokens live an hour: signed in once, before the load
DEMO_CONNECTION_SECONDS = 60  # the demo customer's connection is made in the first seconds
SEED_CHUNK = 500  # customers a seeding request
SEED_ATTEMPTS = 3  # seeding requests answered 5xx sent again (moto too slow for the functions' timeouts)
SEED_TIMEOUT_SECONDS = 600  # 500 customers: about 4 s on this machine's moto
CHECK_READ_TIMEOUT_SECONDS = 600  # each moto call of the checks (tried twice)
LOG_DIR = Path(".build/soak")


@dataclass(frozen=True)
class Profile:
    minutes: float
    concurrency: int
    customers: int
    seed: int = 19  # the load's random choices


@dataclass(frozen=True)
class SoakResult:
    figures: dict[str, float | int | str]
    missed: list[str]
    summary: list[str]  # one line per kind of request: count, statuses, p50 and p99

    @property
    def bar(self) -> str:
        return bar_line("soak", **self.figures)


def run_soak(profile: Profile, log_dir: Path = LOG_DIR) -> SoakResult:
    """The whole soak against a local system of its own, stopped in the end whatever happens."""
    log_dir.mkdir(parents=True, exist_ok=True)
    local, _ = start_local_process(log_dir)
    try:
        return asyncio.run(_soak(local, profile))
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):  # a busy system is killed whole instead
            local.stop()


async def _soak(local: LocalProcess, profile: Profile) -> SoakResult:
    _wait_for_demo_connection(local)
    async with httpx.AsyncClient(
        base_url=local.base_url,
        timeout=httpx.Timeout(SEED_TIMEOUT_SECONDS),
        limits=httpx.Limits(max_connections=profile.concurrency + 2),
    ) as client:
        actors = await _sign_in(client, local.port)
        seeded = await _seed(client, profile.customers, [actors["admin"].user_id, actors["adviser"].user_id])
        print("reading the counters back once seeded", flush=True)
        seeded_drift = (await asyncio.to_thread(counter_drift, actors)).counter_drift
        rss_start = resident_mb(local.process.pid)
        load = Load(client, actors, seeded, profile.concurrency, profile.minutes * 60, profile.seed)
        print(f"load: {profile.minutes} min at concurrency {profile.concurrency}", flush=True)
        samples = await load.run()
        rss_end = resident_mb(local.process.pid)
        print(f"load done ({len(samples)} requests): checking", flush=True)
        try:
            findings = await asyncio.to_thread(check_firm, actors, load.ledger)
        except (BotoCoreError, ClientError) as failed:
            findings = Findings(unchecked=f"moto did not answer: {failed}")
    findings.notes.append(f"  counter drift once seeded, before the load: {seeded_drift}")
    findings.notes.append(
        f"  business time moved on {load.clock_moves} times past an invitation limit's window"
    )
    return result_of(
        samples, load.duration, load.ran_for, rss_start, rss_end, findings, load.schedule_5xx, load.crossed
    )


async def _seed(client: httpx.AsyncClient, count: int, owner_ids: list[str]) -> list[dict[str, Any]]:
    """`count` customers in the demo firm, SEED_CHUNK a request (each a short request, its progress shown)."""
    seeded: list[dict[str, Any]] = []
    failures = 0
    while len(seeded) < count:
        chunk = min(SEED_CHUNK, count - len(seeded))
        answer = await client.post("/_local/seed/customers", json={"count": chunk, "owner_ids": owner_ids})
        if answer.status_code >= 500 and failures < SEED_ATTEMPTS:
            # Its writes may be half done: the counter drift measured once seeded shows it.
            failures += 1
            print(f"seeding answered {answer.status_code}: sent again ({failures})", flush=True)
            continue
        answer.raise_for_status()
        seeded += answer.json()["customers"]
        print(f"seeded {len(seeded)} of {count} customers", flush=True)
    return seeded


def _wait_for_demo_connection(local: LocalProcess) -> None:
    """The load starts on the system as a person finds it: the demo customer's bank connected."""
    deadline = time.monotonic() + DEMO_CONNECTION_SECONDS
    while "the demo customer's connection" not in local.output():
        if time.monotonic() > deadline:
            sys.exit(f"the demo customer's connection was not made within {DEMO_CONNECTION_SECONDS} s")
        time.sleep(0.2)


async def _sign_in(client: httpx.AsyncClient, port: int) -> dict[str, Actor]:
    """The demo admin, adviser and customer, signed in through the pool (staff answer its TOTP
    challenge: tests/integration/test_local_system.py), with their user ids from `GET /me`."""
    pool = await asyncio.to_thread(running_pool, port)
    # The checks read moto directly: this process's AWS SDK goes there, with moto's fake credentials.
    os.environ.update({**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": pool.aws_endpoint_url})
    # A Query of a large table on a moto still busy with the load's backlog takes minutes.
    os.environ["AWS_CALL_TIMEOUT_SECONDS"] = str(CHECK_READ_TIMEOUT_SECONDS)
    actors = {}
    for user in DEMO_USERS:
        token = await asyncio.to_thread(pool.sign_in, user.email)
        me = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
        me.raise_for_status()
        actors[user.role] = Actor(user.role, me.json()["user_id"], token)
    return actors


def resident_mb(pid: int) -> float:
    """VmRSS of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")


def result_of(
    samples: Sequence[Sample],
    duration: float,
    ran_for: float,
    rss_start: float,
    rss_end: float,
    findings: Findings,
    schedule_5xx: int,
    crossed: Sequence[str] = (),
) -> SoakResult:
    tenth = duration / 10  # of the time requests were started in
    first = [s.ms for s in samples if s.started < tenth]
    last = [s.ms for s in samples if s.started >= duration - tenth]
    ratio = p99(last) / p99(first) if first and last and p99(first) else float("inf")
    server_errors = sum(1 for s in samples if s.server_error) + schedule_5xx
    # a run whose writes were all refused would check nothing: its tokens or roles broke
    refused = sum(1 for s in samples if s.status in (401, 403))
    writes = {s.kind for s in samples if s.kind.split(" ", 1)[0] in WRITE_METHODS}
    unanswered_writes = sorted(
        k for k in writes if not any(s.kind == k and 200 <= s.status < 300 for s in samples)
    )
    figures: dict[str, float | int | str] = {
        "requests": len(samples),
        "rps": len(samples) / ran_for,
        "p50_ms": statistics.median(s.ms for s in samples) if samples else 0.0,
        "p99_ms": p99([s.ms for s in samples]),
        "p99_last_tenth/p99_first_tenth": ratio,
        "rss_start_mb": round(rss_start),
        "rss_end_mb": round(rss_end),
        "5xx": server_errors,
        "lost": findings.lost,
        "duplicated": findings.duplicated,
        "counter_drift": findings.counter_drift,
    }
    missed = [
        f"{name}: {shown} (target {target})"
        for name, failed, shown, target in (
            ("rss_end_mb", rss_end > MAX_RSS_END_MB, round(rss_end), f"<= {MAX_RSS_END_MB}"),
            (
                "rss_end/rss_start",
                rss_end > MAX_RSS_GROWTH * rss_start,
                f"{rss_end / rss_start:.2f}",
                f"<= {MAX_RSS_GROWTH}",
            ),
            (
                "p99_last_tenth/p99_first_tenth",
                not ratio <= MAX_P99_DEGRADATION,
                f"{ratio:.2f}",
                f"<= {MAX_P99_DEGRADATION}",
            ),
            ("5xx", server_errors > 0, server_errors, "0"),
            ("lost", findings.lost > 0, findings.lost, "0"),
            ("duplicated", findings.duplicated > 0, findings.duplicated, "0"),
            ("counter_drift", findings.counter_drift > 0, findings.counter_drift, "0"),
            ("checks", bool(findings.unchecked), findings.unchecked, "read back in full"),
            ("401/403", refused > 0, f"{refused} ({_refusals(samples)})", "0"),
            ("answers for another request", bool(crossed), f"{len(crossed)} ({'; '.join(crossed[:5])})", "0"),
            ("writes without a 2xx", bool(unanswered_writes), ", ".join(unanswered_writes), "none"),
        )
        if failed
    ]
    return SoakResult(figures, missed, [*_by_kind(samples), *findings.notes])


def p99(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _refusals(samples: Sequence[Sample]) -> str:
    """Each refused request: when, what, who and why ("12.3 s GET /me: adviser mfa_required"), the first 5."""
    refused = [s for s in samples if s.status in (401, 403)]
    shown = [f"{s.started:.1f} s {s.kind}: {s.refusal}" for s in refused[:5]]
    return "; ".join(shown + ([f"and {len(refused) - 5} more"] if len(refused) > 5 else []))


def _by_kind(samples: Sequence[Sample]) -> list[str]:
    kinds = sorted({s.kind for s in samples})
    lines = []
    for kind in kinds:
        of_kind = [s for s in samples if s.kind == kind]
        statuses: dict[str, int] = {}
        for sample in of_kind:
            label = str(sample.status) if sample.status else "timeout"
            statuses[label] = statuses.get(label, 0) + 1
        shown = " ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
        latencies = [s.ms for s in of_kind]
        median = statistics.median(latencies)
        lines.append(
            f"  {kind:<24} {len(of_kind):>6}  p50 {median:>7.0f} ms  p99 {p99(latencies):>7.0f} ms  {shown}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight (default 20)")
    parser.add_argument(
        "--customers", type=int, default=10_000, help="customers seeded first (default 10,000)"
    )
    parser.add_argument("--seed", type=int, default=19, help="the load's random seed")
    parser.add_argument("--log-dir", type=Path, default=LOG_DIR, help=f"the system's log (default {LOG_DIR})")
    options = parser.parse_args(argv)
    if not 0 < options.minutes <= MAX_MINUTES or not 0 < options.concurrency <= 200 or options.customers < 1:
        parser.error(f"--minutes in (0, {MAX_MINUTES}], --concurrency in 1..200, --customers >= 1")
    profile = Profile(options.minutes, options.concurrency, options.customers, options.seed)
    print(f"soak: {profile}; the local system's log in {options.log_dir}/", flush=True)
    result = run_soak(profile, options.log_dir)
    print("\n".join(result.summary))
    print(result.bar)
    for missed in result.missed:
        print(f"MISSED {missed}")
    return 1 if result.missed else 0


if __name__ == "__main__":
    sys.exit(main())
