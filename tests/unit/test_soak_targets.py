"""`make soak`'s verdict (tools/soak.py): the figures of its BAR line and every target it misses."""

from __future__ import annotations

from tools.soak import SoakResult, result_of
from tools.soak_checks import Findings
from tools.soak_load import Sample

DURATION = 100.0


def run(ms_first: float = 50, ms_last: float = 50, status: int = 200) -> list[Sample]:
    """A request a second: the first tenth at `ms_first`, the last at `ms_last`, the rest at 50 ms."""
    return [
        Sample("GET /me", t, ms_first if t < 10 else ms_last if t >= 90 else 50, status if t == 42 else 200)
        for t in range(100)
    ]


def judged(samples: list[Sample], rss: tuple[float, float] = (200, 400), **findings: int) -> SoakResult:
    return result_of(samples, DURATION, DURATION, *rss, Findings(**findings), schedule_5xx=0)


def test_a_steady_run_misses_nothing_and_prints_every_figure():
    result = judged(run())

    assert result.missed == []
    assert result.bar == (
        "BAR soak: requests=100, rps=1, p50_ms=50, p99_ms=50, p99_last_tenth/p99_first_tenth=1, "
        "rss_start_mb=200, rss_end_mb=400, 5xx=0, lost=0, duplicated=0, counter_drift=0"
    )


def test_each_missed_target_is_named():
    assert [m.split(":")[0] for m in judged(run(ms_last=101)).missed] == ["p99_last_tenth/p99_first_tenth"]
    assert [m.split(":")[0] for m in judged(run(status=500)).missed] == ["5xx"]
    assert [m.split(":")[0] for m in judged(run(status=0)).missed] == ["5xx"]  # no answer in time: a 504
    assert [m.split(":")[0] for m in judged(run(), rss=(200, 601)).missed] == ["rss_end/rss_start"]
    assert [m.split(":")[0] for m in judged(run(), rss=(600, 1537)).missed] == ["rss_end_mb"]
    missed = judged(run(), lost=1, duplicated=2, counter_drift=3).missed
    assert [m.split(":")[0] for m in missed] == ["lost", "duplicated", "counter_drift"]
    assert [m.split(":")[0] for m in judged(run(), unchecked="moto did not answer").missed] == ["checks"]


def test_a_run_with_no_request_in_its_first_tenth_is_a_miss():
    samples = [sample for sample in run() if sample.started >= 10]

    assert "p99_last_tenth/p99_first_tenth" in judged(samples).missed[0]


def test_a_run_whose_writes_were_refused_checked_nothing_and_is_a_miss():
    refused = [Sample("POST /customers/invitations", t, 50, 401) for t in range(0, 100, 10)]
    missed = [m.split(":")[0] for m in judged(run() + refused).missed]
    assert missed == ["401/403", "writes without a 2xx"]
    answered = [Sample("POST /customers/invitations", 5, 50, 201)]
    assert judged(run() + answered).missed == []


def test_a_refusal_is_shown_with_when_what_who_and_why():
    refused = Sample("GET /data-refresh/engagements", 1.25, 40, 403, "adviser mfa_required")
    missed = judged([*run(), refused]).missed
    assert missed == ["401/403: 1 (1.2 s GET /data-refresh/engagements: adviser mfa_required) (target 0)"]


def test_an_answer_for_another_request_is_a_miss():
    crossed = ["GET /me answered for another (3.0 s)"]
    result = result_of(run(), DURATION, DURATION, 200, 400, Findings(), schedule_5xx=0, crossed=crossed)
    assert result.missed == [
        "answers for another request: 1 (GET /me answered for another (3.0 s)) (target 0)"
    ]
