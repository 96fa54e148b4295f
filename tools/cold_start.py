"""Handler init as Lambda runs it: a fresh interpreter, the function's environment, one import.

Used by `make bench` (B1 cold start, B2 deployed artifact). A sample is the CPU time (and wall time)
of the import alone, measured inside the fresh process: interpreter start-up is the same for
every process and is not ours, and CPU time is what a loaded machine disturbs least.

`python -m tools.cold_start` prints the median init of every handler here, against the floor.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.spec import BUCKETS, COMMON_ENV, FUNCTIONS, KEYS, QUEUES, SECRETS, TABLES, function_environment
from infra.spec_user_pool import USER_POOL_KEY

ROOT = Path(__file__).resolve().parent.parent
# What every function needs at init anyway: the runtime's SDK and Powertools' logger, tracer,
# metrics and a validating HTTP resolver.
FLOOR = """\
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
Logger()
Tracer()
Metrics()
APIGatewayHttpResolver(enable_validation=True)
"""
_CHILD = """\
import time
cpu, wall = time.process_time(), time.perf_counter()
exec(compile({code!r}, "<init>", "exec"), {{"__name__": "__main__"}})
print(time.process_time() - cpu, time.perf_counter() - wall)
"""


@dataclass(frozen=True)
class Sample:
    cpu: float
    wall: float


def handler_module(name: str) -> str:
    return FUNCTIONS[name].handler.rsplit(".", 1)[0]


def import_code(name: str) -> str:
    return f"import {handler_module(name)}\n"


def lambda_environment(name: str, task_root: Path, python_path: Sequence[Path] = ()) -> dict[str, str]:
    """The environment Lambda gives function `name` (resource names made up), tracing active as deployed."""
    resources = {
        key: f"{key}-resource" for key in (*TABLES, *QUEUES, *SECRETS, *BUCKETS, *KEYS, USER_POOL_KEY)
    }
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(FUNCTIONS[name].memory_mb),
        "AWS_REGION": "eu-west-2",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "POWERTOOLS_METRICS_NAMESPACE": "ClientDataSharing",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        **{key: f"{key.lower()}-value" for key in COMMON_ENV},
        "GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE": "100",  # a number, as the stack sets it
        "APP_BASE_URL": "https://app.example.com",
        "API_BASE_URL": "https://api.example.com",
        "DEFAULT_FIRM_TIMEZONE": "Europe/London",
        **function_environment(name, resources),
    }
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(str(path) for path in python_path)
    return env


def measure(python: str, code: str, env: Mapping[str, str], cwd: Path) -> Sample:
    """One fresh process (`-P`: the working directory is not put on sys.path; `-s`: no user site)."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and code, no shell
        [python, "-P", "-s", "-c", _CHILD.format(code=code)],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"init failed ({python}):\n{result.stderr[-3000:]}")
    cpu, wall = result.stdout.split()[-2:]
    return Sample(float(cpu), float(wall))


def median_cpu(samples: Sequence[Sample]) -> float:
    return statistics.median(sample.cpu for sample in samples)


def main() -> None:
    runs = 7
    for name in FUNCTIONS:
        env = lambda_environment(name, ROOT, [ROOT])
        handler: list[Sample] = []
        floor: list[Sample] = []
        for _ in range(runs):  # interleaved, so that machine load touches both alike
            handler.append(measure(sys.executable, import_code(name), env, ROOT))
            floor.append(measure(sys.executable, FLOOR, env, ROOT))
        init, base = median_cpu(handler), median_cpu(floor)
        print(f"{name:24} {init * 1000:7.1f} ms  floor {base * 1000:7.1f} ms  {init / base:.3f}")


if __name__ == "__main__":
    main()
