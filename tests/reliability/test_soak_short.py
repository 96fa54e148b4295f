"""The soak's short profile (issue 19), in `make test`: `python -m tools.soak` for one minute at
concurrency 20 over 2,000 seeded customers (`make soak` runs ten minutes over 10,000). It runs as its
own process, as `make soak` does: the tool points its AWS SDK at the system's moto, which must not leak
into the test run. Every target is asserted through the tool's exit status; its BAR line is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bars import BarRecorder

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ["--minutes", "1", "--concurrency", "20", "--customers", "2000"]
pytestmark = pytest.mark.soak  # `make test` runs it alone, after the rest (its p99 ratio is a measurement)
TIMEOUT_SECONDS = 900  # start, seed, a minute of load and the checks, on a busy 2-core machine


def test_a_minute_of_load_meets_every_soak_target(tmp_path: Path, bar: BarRecorder) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tools.soak", *PROFILE, "--log-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("BAR soak: ")]
    if not lines:
        pytest.fail(f"no BAR soak line (exit {run.returncode}):\n{run.stdout}{run.stderr[-4000:]}")
    bar("soak", **dict(pair.split("=", 1) for pair in lines[0].removeprefix("BAR soak: ").split(", ")))
    assert run.returncode == 0, run.stdout + run.stderr[-4000:]
