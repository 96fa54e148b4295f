"""GoCardless's company-wide pace (issue 20): the rule (`PaceWindow`), held by the in-memory fake and
the DynamoDB adapter alike (one contract, run on both), and the adapter on moto: one conditional
update per request, exactly the limit admitted however many threads ask at once, the item's TTL."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client
from shared.adapters.dynamodb.request_pace import DynamoRequestPace
from shared.domain.aggregator import (
    AggregatorRateLimited,
    PaceWindow,
    RequestsPaced,
    RequestsSpent,
    calls_kept_for_people,
)
from tests.fakes import FakePace

MINUTE = datetime(2026, 12, 6, 10, 15, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _fake(clock: Clock, limit: int) -> FakePace:
    return FakePace(clock, limit=limit)


def _dynamodb(clock: Clock, limit: int) -> DynamoRequestPace:
    return DynamoRequestPace("data", limit=limit, clock=clock)


PACES: dict[str, Callable[[Clock, int], Any]] = {"fake": _fake, "dynamodb": _dynamodb}


@pytest.fixture(params=list(PACES))
def make_pace(request: pytest.FixtureRequest) -> Callable[[Clock, int], Any]:
    if request.param == "dynamodb":
        request.getfixturevalue("aws")
    return PACES[request.param]


def admitted(pace: Any, times: int) -> int:
    count = 0
    for _ in range(times):
        try:
            pace.admit()
            count += 1
        except RequestsPaced:
            pass
    return count


def test_the_window_is_the_utc_minute_and_resets_at_the_next():
    window = PaceWindow.of(datetime(2026, 12, 6, 11, 15, 42, 500_000, tzinfo=UTC) + timedelta(hours=-1))
    assert (window.start, window.label, window.reset_at) == (
        MINUTE,
        "2026-12-06T10:15",
        datetime(2026, 12, 6, 10, 16, tzinfo=UTC),
    )


def test_exactly_the_limit_is_admitted_in_a_minute_and_the_next_minute_admits_again(make_pace):
    clock = Clock(MINUTE + timedelta(seconds=5))
    pace = make_pace(clock, 7)

    assert admitted(pace, 10) == 7
    clock.at = MINUTE + timedelta(seconds=59, microseconds=999_999)
    assert admitted(pace, 1) == 0
    assert pace.calls_this_minute() == 7  # a refusal spends nothing
    clock.at = MINUTE + timedelta(minutes=1)
    assert admitted(pace, 10) == 7
    assert pace.calls_this_minute() == 7


def test_the_refusal_is_a_wait_until_the_next_minute_not_a_spent_day(make_pace):
    clock = Clock(MINUTE + timedelta(seconds=17, milliseconds=300))
    pace = make_pace(clock, 1)
    pace.admit()

    with pytest.raises(RequestsPaced) as refused:
        pace.admit()

    assert isinstance(refused.value, AggregatorRateLimited) and not isinstance(refused.value, RequestsSpent)
    assert refused.value.reset_at == MINUTE + timedelta(minutes=1)
    assert refused.value.retry_after_seconds == 43  # 42.7 s left, rounded up
    assert (refused.value.status, refused.value.code) == (429, "aggregator_rate_limited")


def test_the_refused_come_back_at_their_turn_spread_over_the_next_minutes(make_pace):
    """A backlog does not come back all at the next minute's start to be refused again: the n-th
    refusal of a minute waits one more minute for every `limit` refused before it, 14 at most."""
    clock = Clock(MINUTE + timedelta(seconds=5))
    pace = make_pace(clock, 10)
    assert admitted(pace, 10) == 10
    resets = []
    for _ in range(160):
        with pytest.raises(RequestsPaced) as refused:
            pace.admit()
        resets.append(refused.value.reset_at)
    turns = [int((reset - MINUTE) / timedelta(minutes=1)) for reset in resets]
    assert turns[:10] == [1] * 10 and turns[10:20] == [2] * 10 and turns[20:30] == [3] * 10
    assert max(turns) == 15 and turns.count(15) == 160 - 140  # 14 minutes ahead at most (SQS: 15)
    clock.at = MINUTE + timedelta(minutes=1)  # a new minute admits, and counts its refusals afresh
    assert admitted(pace, 10) == 10
    with pytest.raises(RequestsPaced) as first:
        pace.admit()
    assert first.value.reset_at == MINUTE + timedelta(minutes=2)


def _pair(kind: str, clock: Clock, limit: int) -> tuple[Any, Any]:
    """The imports' pace and the pace of requests people wait for, on one minute's count (each
    counting its own refusals)."""
    kept = calls_kept_for_people(limit)
    if kind == "fake":
        people = FakePace(clock, limit=limit)
        return FakePace(clock, limit, people.calls, kept_for_people=kept), people
    return (
        DynamoRequestPace("data", limit=limit, clock=clock, kept_for_people=kept),
        DynamoRequestPace("data", limit=limit, clock=clock),
    )


@pytest.mark.parametrize("kind", list(PACES))
def test_the_imports_leave_a_fifth_of_the_minute_to_the_requests_people_wait_for(
    kind: str, request: pytest.FixtureRequest
):
    """A Data Refresh keeps the imports at the pace for hours: a customer back from their bank
    still has their accounts read, from the fifth of each minute the imports leave, and a refused
    person's turn is not pushed back by the imports' refusals."""
    if kind == "dynamodb":
        request.getfixturevalue("aws")
    clock = Clock(MINUTE + timedelta(seconds=5))
    imports, people = _pair(kind, clock, 100)

    assert admitted(imports, 300) == 80
    with pytest.raises(RequestsPaced) as refused:  # 220 refused before it: two minutes of 80 later
        imports.admit()
    assert refused.value.reset_at == MINUTE + timedelta(minutes=3)  # turns counted at the imports' 80
    assert admitted(people, 20) == 20  # the fifth left: then the provider's limit, for everyone
    assert people.calls_this_minute() == 100
    with pytest.raises(RequestsPaced) as refused:  # the first person refused: the next minute
        people.admit()
    assert refused.value.reset_at == MINUTE + timedelta(minutes=1)
    clock.at = MINUTE + timedelta(minutes=1)
    assert admitted(people, 5) == 5 and admitted(imports, 100) == 75  # people's calls count for all


def test_the_share_kept_for_people_is_a_fifth_rounded_down():
    assert [calls_kept_for_people(limit) for limit in (1, 4, 5, 100, 250)] == [0, 0, 1, 20, 50]


def test_150_concurrent_admits_in_one_minute_admit_exactly_100(aws):
    clock = Clock(MINUTE + timedelta(seconds=1))
    pace = DynamoRequestPace("data", clock=clock)  # the documented default: 100 a minute

    def one(_: int) -> bool:
        try:
            pace.admit()
        except RequestsPaced:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(150)))

    assert (results.count(True), results.count(False)) == (100, 50)
    assert pace.calls_this_minute() == 100


def test_the_minutes_item_is_keyed_by_provider_and_minute_and_expires_minutes_later(aws):
    clock = Clock(MINUTE + timedelta(seconds=30))
    DynamoRequestPace("data", clock=clock).admit()

    item = dynamodb_client().get_item(
        TableName="data",
        Key={"PK": {"S": "RATE#gocardless#accounts"}, "SK": {"S": "2026-12-06T10:15"}},
        ConsistentRead=True,
    )["Item"]

    assert keys.pace_pk("gocardless", "accounts") == item["PK"]["S"]
    assert item["calls"] == {"N": "1"}
    assert int(item["expires_at"]["N"]) == math.ceil((MINUTE + timedelta(minutes=5)).timestamp())


def test_a_limit_of_zero_admits_nothing(make_pace):
    """The fake and the table agree at the edge: no first request of the minute slips through."""
    pace = make_pace(Clock(MINUTE + timedelta(seconds=5)), 0)

    assert admitted(pace, 3) == 0
    assert pace.calls_this_minute() == 0
