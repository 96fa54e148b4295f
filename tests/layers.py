"""`BAR test layers`: how many tests run at each layer, and their time (issue 14).

- unit: pure tests (tests/unit) of the domain, adapters on scripted HTTP, handlers' shapes;
- on_fakes: service rules on the in-memory ports of tests/fakes.py (marked `fakes`);
- moto: anything using the `aws` fixture (adapters, handlers and journeys on moto);
- other: the CDK template, the local system's processes, the rest.
Seconds are the tests' own call time, summed over workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.bars import SUM_KEY

LAYERS = ("unit", "on_fakes", "moto", "other")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fakes: a service rule tested on the in-memory ports (tests/fakes.py)")


def layer_of(item: pytest.Item) -> str:
    if item.get_closest_marker("fakes"):
        return "on_fakes"
    if "aws" in getattr(item, "fixturenames", ()):
        return "moto"
    if "tests/unit/" in item.nodeid:
        return "unit"
    return "other"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    outcome = yield
    report = outcome.get_result()
    if call.when == "call":
        layer = layer_of(item)
        figures: dict[str, float] = {name: int(name == layer) for name in LAYERS}
        figures |= {f"seconds_{name}": round(report.duration, 3) if name == layer else 0 for name in LAYERS}
        report.user_properties.append((SUM_KEY, ["test layers", figures]))
