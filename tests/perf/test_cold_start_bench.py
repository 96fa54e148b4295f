"""B1 cold start (issue 8): each handler's init against the floor every function pays anyway.

Each handler module is imported in a fresh interpreter with the environment Lambda gives it
(LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, its resources, tracing active), and so is the floor: a
process that only imports boto3 and Powertools' Logger, Tracer, Metrics and a validating HTTP resolver
(tools/cold_start.py). Handler and floor runs are interleaved so that machine load touches both
alike; a figure is the median CPU time of the import over RUNS processes, after one warm-up each.
"""

from __future__ import annotations

import sys

from infra.spec import FUNCTIONS
from tests.conftest import ROOT
from tools.cold_start import FLOOR, Sample, import_code, lambda_environment, measure, median_cpu

RUNS = 7
TARGET = 1.15


def test_b1_every_handler_inits_within_the_floor_margin(bar) -> None:
    ratios: dict[str, float] = {}
    floors: list[float] = []
    for name in FUNCTIONS:
        env = lambda_environment(name, ROOT, (ROOT,))
        measure(sys.executable, import_code(name), env, ROOT)  # warm-up: bytecode and page cache
        measure(sys.executable, FLOOR, env, ROOT)
        handler: list[Sample] = []
        floor: list[Sample] = []
        for _ in range(RUNS):
            handler.append(measure(sys.executable, import_code(name), env, ROOT))
            floor.append(measure(sys.executable, FLOOR, env, ROOT))
        ratios[name] = median_cpu(handler) / median_cpu(floor)
        floors.append(median_cpu(floor))

    worst = max(ratios, key=ratios.__getitem__)
    over = sorted(name for name, ratio in ratios.items() if ratio > TARGET)
    line = bar(
        "B1 cold start",
        python=".".join(map(str, sys.version_info[:3])),
        runs=RUNS,
        **{name: ratio for name, ratio in ratios.items()},
        worst=worst,
        worst_ratio=ratios[worst],
        target=TARGET,
        over_target=len(over),
        floor_ms=sorted(floors)[len(floors) // 2] * 1000,
    )
    assert not over, line
