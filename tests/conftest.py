from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.bars", "tests.log_hygiene", "tests.calendar_matrix", "tests.layers"]

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

# Fake, local-only AWS settings: set before anything builds a client.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ClientDataSharingTest",
        "POWERTOOLS_SERVICE_NAME": "test",
        "DATA_TABLE_NAME": "data",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "AUDIT_TABLE_NAME": "audit",
        "EXPORT_BUCKET_NAME": "export-files",  # the spec's key: the local bucket's name
        "CREDENTIAL_KEY_ID": "alias/credentials",  # the local KMS key's alias (local/provision.py)
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

# moto's DynamoDB as the local system runs it (local/moto_patches.py): atomic requests, transactions
# with an item-level undo log, Queries that read their partition.
from local import moto_patches  # noqa: E402

moto_patches.install()


# Business time in tests (issue 12): every test starts with the clock at one instant, ticking from there:
# CLOCK_AT when it is set (`CLOCK_AT=2027-03-28T00:30:00Z make test`), otherwise a fixed ordinary
# instant, so no test depends on the day or the hour the suite runs. The calendar matrix (the
# `calendar` marker, tests/calendar_matrix.py) runs its tests again at each of the calendar's hard days.
DEFAULT_INSTANT = "2026-06-17T09:30:00Z"  # a Wednesday in June: no DST change, month end or holiday near


def suite_instant() -> Any:
    from local.clock import ENVIRONMENT_VARIABLE, parse_instant

    return parse_instant(os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_INSTANT)


_started_at: list[Any] = []


def clock_start() -> Any:
    """The instant the running test's clock was set to (the suite's or the calendar moment's)."""
    return _started_at[-1]


@pytest.fixture(autouse=True)
def business_clock(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The one clock (shared/clock.py), set for this test: at the suite's instant, or at the calendar
    matrix's moment (with the firm in its time zone). A test moves it with `CLOCK.set`/`CLOCK.advance`."""
    from shared.clock import CLOCK
    from tests import calendar_matrix

    moment = getattr(request, "param", None)
    # Its own MonkeyPatch, undone last: the test's `monkeypatch` must be undone before `aws` resets bootstrap.
    with pytest.MonkeyPatch.context() as patch:
        if isinstance(moment, calendar_matrix.Moment):
            calendar_matrix.apply(moment, request, patch)
        instant = moment.instant if isinstance(moment, calendar_matrix.Moment) else suite_instant()
        CLOCK.set(instant)
        _started_at[:] = [instant]
        yield CLOCK
        CLOCK.reset()


def load_event(relative_path: str) -> dict[str, Any]:
    return json.loads((EVENTS / relative_path).read_text(encoding="utf-8"))


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:test-function"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/22/[$LATEST]0000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto for every AWS call, with the tables, buckets and KMS keys created from infra/spec.py."""
    from moto import mock_aws

    from infra.spec import TABLES
    from local.provision import create_buckets, create_keys, create_tables
    from shared import bootstrap

    with mock_aws():
        bootstrap.reset()
        create_tables({key: os.environ[spec.env] for key, spec in TABLES.items()})
        create_buckets()
        create_keys()
        yield
    bootstrap.reset()


@pytest.fixture
def user_pool(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The spec's user pool and app client on moto, its id in USER_POOL_ID as the functions get it
    (`shared.settings.user_pool_id`; bootstrap builds its directory from it)."""
    from local.provision import create_user_pool
    from shared import bootstrap

    pool = create_user_pool()
    monkeypatch.setenv("USER_POOL_ID", pool.user_pool_id)
    bootstrap.reset()  # settings are read again (moto and its tables stay)
    return pool


def api_event(
    method: str,
    route: str,
    *,
    user: Any = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload v2) event built on the events/ template, for any route of infra/spec.py.

    `user` is anything with `.sub` and `.email` (the JWT authorizer's claims) or None (no token).
    """
    from urllib.parse import urlencode

    event = load_event("api/get_me.json")
    path = route
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    event.update(
        routeKey=f"{method} {route}",
        rawPath=path,
        rawQueryString=urlencode(query or {}),
        queryStringParameters=query or None,
        pathParameters=path_parameters or None,
        body=body if body is None or isinstance(body, str) else json.dumps(body),
    )
    event["headers"].update(headers or {})
    event["requestContext"]["http"].update(method=method, path=path)
    event["requestContext"]["routeKey"] = f"{method} {route}"
    if user is None:
        event["requestContext"].pop("authorizer", None)
        event["headers"].pop("authorization", None)
    else:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = {"sub": user.sub, "email": user.email}
    return event


@pytest.fixture
def atomic_aws_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each moto request runs alone, as each real AWS request is atomic (moto's in-memory
    backends are not thread-safe). Concurrency between requests, the part that is ours, stays."""
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    handle = BotocoreStubber.__call__

    def one_at_a_time(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return handle(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", one_at_a_time)


@contextmanager
def counting_aws_calls(*services: str) -> Iterator[Counter[str]]:
    """Count the AWS API calls our code makes, by operation name ("BatchWriteItem"), through
    botocore's `before-call` event on the shared clients; a call short-circuited by moto counts too."""
    from shared.adapters.aws_clients import aws_client

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    for service in services:
        aws_client(service).meta.events.register(f"before-call.{service}", count)
    try:
        yield calls
    finally:
        for service in services:
            aws_client(service).meta.events.unregister(f"before-call.{service}", count)
