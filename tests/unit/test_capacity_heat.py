"""Modeled durations, key kinds, partition heat and the limits report (tools/capacity, issue 20), on
hand-made records whose figures are computed here by hand."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from infra.spec import QUEUES
from shared.adapters.dynamodb import keys
from tools.capacity.durations import Limits, ProviderLimits, load_limits, modeled_ms
from tools.capacity.heat import configured_concurrency, heat, key_kind, limits_report
from tools.capacity.usage import BASE, InvocationRecord, KeyUnits

FIRM = "01JEX6W4Q1ZP8N3M2K7R5T9VBC"  # ULID
OTHER_FIRM = "01JEX6Y0A2B3C4D5E6F7G8H9JK"
STAFF = "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"  # Cognito sub
CUSTOMER = "01JEX70000AAAABBBBCCCCDDDD"
GC_ACCOUNT = "7e944232-bda9-40bc-b784-660c7ab5fe78"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture(scope="module")
def limits() -> Limits:
    """The file's limits with latencies and providers chosen for hand computation."""
    return replace(
        load_limits(),
        latency_p50_ms={"*": 7.0, "dynamodb": 10.0, "dynamodb:TransactWriteItems": 30.0},
        providers={
            "slow": ProviderLimits(requests_per_minute=60, p50_ms=200.0),
            "fast": ProviderLimits(requests_per_minute=6000, p50_ms=50.0),
        },
    )


def record(
    function: str, handler_ms: float, *writes: KeyUnits, activity: str = "data_refresh"
) -> InvocationRecord:
    return InvocationRecord(
        function=function,
        activity=activity,
        handler_ms=handler_ms,
        aws_ms=0,
        provider_ms=0,
        writes=list(writes),
    )


def units(partition_key: str, value: float, index: str = BASE) -> KeyUnits:
    return KeyUnits(table="data", index=index, partition_key=partition_key, units=value)


# ------------------------------------------------------------------ limits.json and durations


def test_every_figure_has_its_source_and_the_day_it_was_read() -> None:
    loaded = load_limits()
    assert loaded.figures
    for path, figure in loaded.figures.items():
        assert figure.source and figure.read_on == "2026-12-06", path
        if not figure.verified:  # an assumption or a figure the corpus did not show says so
            assert figure.note or "assumption" in figure.source or "not found" in figure.source, path
    assert (loaded.partition_wcu, loaded.partition_rcu) == (1000, 3000)
    assert loaded.sqs_in_flight == 120_000 and loaded.account_concurrency == 1000
    assert loaded.call_ms("dynamodb:TransactWriteItems") > loaded.call_ms("dynamodb:PutItem")
    # GoCardless's documented 100 a minute, less the fifth the imports leave to people (the code's pace)
    assert loaded.figures["providers.gocardless.import_requests_per_minute"].value == 100
    assert loaded.providers["gocardless"].requests_per_minute == 80
    assert (
        loaded.providers["plaid"].requests_per_minute
        == loaded.figures["providers.plaid.import_requests_per_minute"].value
    )
    assert loaded.providers["gocardless"].per_account_endpoint_per_day == 4


def test_a_call_takes_its_operations_latency_else_its_services_else_the_default(limits: Limits) -> None:
    assert limits.call_ms("dynamodb:TransactWriteItems") == 30.0
    assert limits.call_ms("dynamodb:GetItem") == 10.0
    assert limits.call_ms("sqs:SendMessage") == 7.0
    assert limits.provider_ms == 200.0  # the slowest provider's: records do not name theirs


def test_modeled_duration_replaces_measured_call_times_and_adds_init_only_when_cold(limits: Limits) -> None:
    done = InvocationRecord(
        function="import_worker",
        activity="daily_import",
        handler_ms=1000,
        aws_ms=700,  # moto's time, not AWS's
        provider_ms=250,  # the local sandbox's
        aws_calls=Counter({"dynamodb:GetItem": 2, "dynamodb:TransactWriteItems": 1, "sqs:SendMessage": 1}),
        provider_requests=3,
    )
    # compute 50 + GetItem 2 x 10 + TransactWriteItems 30 + SendMessage 7 + 3 requests x 200
    assert modeled_ms(done, limits) == pytest.approx(707.0)
    assert modeled_ms(done, limits, init_ms=250) == pytest.approx(707.0)  # warm: no init
    assert modeled_ms(replace(done, cold=True), limits, init_ms=250) == pytest.approx(957.0)


# ------------------------------------------------------------------ key kinds


def test_key_kinds_of_the_real_key_shapes() -> None:
    day = "2026-12-06"
    assert (
        key_kind(keys.refresh_status_gsi2pk(FIRM, STAFF, "queued")) == "FIRM#<id>#STAFF#<id>#REFRESH#queued"
    )
    assert key_kind(keys.refresh_rows_gsi1pk(FIRM, None)) == "FIRM#<id>#REFRESH"
    assert key_kind(keys.refresh_cap_pk(FIRM, CUSTOMER, day)) == "FIRM#<id>#ENGAGEMENT#<id>#REFRESH_DAY#<day>"
    assert key_kind(keys.active_connections_gsi2pk(7)) == "ACTIVE_CONNECTIONS#<n>"
    assert key_kind(keys.audit_lane_pk(FIRM, 3)) == "FIRM#<id>#AUDIT#LANE#<n>"
    assert key_kind(keys.budget_pk(GC_ACCOUNT, day)) == "BUDGET#<id>#<day>"
    assert key_kind(keys.plaid_item_pk("eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6")) == "PLAIDITEM#<id>"
    assert key_kind(keys.invite_token_pk(SHA)) == "INVITE#<id>"
    assert key_kind(keys.limit_pk("send_invitation", SHA, 1764979200)) == "LIMIT#send_invitation#<id>#<n>"
    assert key_kind(keys.consent_expiry_gsi1pk(day)) == "CONSENT_EXPIRY#<day>"
    assert key_kind(keys.firm_staff_gsi1pk(FIRM)) == "FIRM#<id>#STAFF"
    assert key_kind("SEARCH#jane.doe@example.org") == "SEARCH#<email>"
    # A test's readable ids are ids too where keys.py puts an id
    assert key_kind(keys.customer_transactions_pk("firm-1", "cust-2")) == "FIRM#<id>#CUSTOMER#<id>#TX"
    # Constant partitions keep their names
    assert key_kind("INVITATION_DUE") == "INVITATION_DUE"


def test_two_firms_keys_are_one_kind() -> None:
    assert key_kind(keys.refresh_job_pk(FIRM, CUSTOMER)) == key_kind(keys.refresh_job_pk(OTHER_FIRM, FIRM))


# ------------------------------------------------------------------ heat


JOB = keys.refresh_job_pk(FIRM, "01JEX7JOB0000000000000000A")


def shared_and_own_keys() -> list[InvocationRecord]:
    """3 fan-out pages (200 ms) and 4 imports (500 ms) all write the job item; each also writes keys of
    its own. One record of another activity writes the job item too."""
    fanouts = [
        record(
            "refresh_fanout_worker",
            200,
            units(JOB, i + 1),  # 1, 2 and 3 units: a mean of 2
            units(keys.refresh_cap_pk(FIRM, f"c{i}", "2026-12-06"), 1),
        )
        for i in range(3)
    ]
    imports = [
        record(
            "import_worker",
            500,
            units(JOB, 1),
            units(keys.customer_transactions_pk(FIRM, f"c{i}"), 5),
            units(keys.account_transactions_gsi1pk(FIRM, f"a{i}"), 4, index="GSI1"),
        )
        for i in range(4)
    ]
    elsewhere = record("import_worker", 500, units(JOB, 100), activity="daily_import")
    return [*fanouts, *imports, elsewhere]


def test_heat_of_a_key_two_functions_share_and_of_keys_each_invocation_owns(limits: Limits) -> None:
    report = heat(
        shared_and_own_keys(), {"refresh_fanout_worker": 2, "import_worker": 3}, limits, "data_refresh"
    )
    by_kind = {row.name: row for row in report.rows}
    job = by_kind["data/base/FIRM#<id>#REFRESH_JOB#<id>"]
    # fan-out: 2 writers x 6 units / 0.6 busy s = 20; imports: 3 writers x 4 units / 2 busy s = 6
    assert job.units_per_s == pytest.approx(26.0)
    assert job.functions == ("import_worker", "refresh_fanout_worker")
    assert job.shared and job.keys == 1
    cap = by_kind["data/base/FIRM#<id>#ENGAGEMENT#<id>#REFRESH_DAY#<day>"]
    assert cap.units_per_s == pytest.approx(5.0)  # one writer: 1 unit / 0.2 s
    assert (cap.keys, cap.shared) == (3, False)
    assert by_kind["data/base/FIRM#<id>#CUSTOMER#<id>#TX"].units_per_s == pytest.approx(10.0)  # 5 / 0.5 s
    assert by_kind["data/GSI1/FIRM#<id>#ACCOUNT#<id>#TX"].units_per_s == pytest.approx(8.0)  # 4 / 0.5 s
    assert report.worst_write() == job
    assert report.rows[0] == job  # hottest first
    assert "26.0" in report.render() and "REFRESH_JOB" in report.render()


def test_a_shared_key_has_every_allowed_instance_as_writer_however_few_were_simulated(
    limits: Limits,
) -> None:
    records = shared_and_own_keys()
    wide = heat(records, {"refresh_fanout_worker": 10, "import_worker": 10}, limits, "data_refresh")
    job = next(r for r in wide.rows if "REFRESH_JOB" in r.kind)
    # 3 fan-outs and 4 imports were simulated; at scale 10 of each write it: 10 x 10 + 10 x 2 = 120
    assert job.units_per_s == pytest.approx(120.0)
    assert "*" in wide.render()
    # A key written by a single invocation has one writer whatever the concurrency...
    alone = [record("import_worker", 500, units(JOB, 3))]
    assert heat(alone, {"import_worker": 50}, limits, "data_refresh").rows[0].units_per_s == pytest.approx(
        6.0
    )
    # ...unless its kind has fewer keys than the engagements simulated: it serves several of them
    serving = heat(alone, {"import_worker": 50}, limits, "data_refresh", engagements=2).rows[0]
    assert serving.shared and serving.units_per_s == pytest.approx(300.0)
    # a kind with a key per engagement stays one writer a key
    own = [
        record("import_worker", 500, units(keys.customer_transactions_pk(FIRM, f"c{i}"), 3)) for i in range(2)
    ]
    rows = heat(own, {"import_worker": 50}, limits, "data_refresh", engagements=2).rows
    assert [(row.shared, row.units_per_s) for row in rows] == [(False, pytest.approx(6.0))]


def test_heat_uses_the_modeled_duration_not_mocks_time(limits: Limits) -> None:
    slow_moto = InvocationRecord(
        function="import_worker",
        activity="daily_import",
        handler_ms=1000,
        aws_ms=900,
        provider_ms=0,
        aws_calls=Counter({"dynamodb:PutItem": 2}),
        writes=[units(JOB, 1.2)],
    )
    report = heat([slow_moto], {"import_worker": 5}, limits, "daily_import")
    assert report.rows[0].units_per_s == pytest.approx(10.0)  # 1.2 units / (100 + 2 x 10 ms)
    cold = heat(
        [replace(slow_moto, cold=True)], {"import_worker": 5}, limits, "daily_import", {"import_worker": 480}
    )
    assert cold.rows[0].units_per_s == pytest.approx(2.0)  # 1.2 / 0.6 s


def test_reads_are_checked_against_the_read_limit(limits: Limits) -> None:
    rows = keys.refresh_rows_gsi1pk(FIRM, None)
    readers = [
        InvocationRecord(
            function="refresh_fanout_worker",
            activity="data_refresh",
            handler_ms=250,
            aws_ms=0,
            provider_ms=0,
            reads=[KeyUnits("data", "GSI1", rows, 25), KeyUnits("data", "GSI1", rows, 5)],
        )
        for _ in range(4)
    ]
    report = heat(readers, {"refresh_fanout_worker": 10}, limits, "data_refresh")
    (row,) = report.rows
    # read by 4 invocations: shared, so 10 readers x 120 units / 1 busy s
    assert row.op == "read" and row.limit == 3000
    assert row.units_per_s == pytest.approx(1200.0)
    assert report.worst_write() is None and report.worst_read() == row
    assert row.share == pytest.approx(0.4)


def test_the_bar_line(limits: Limits) -> None:
    report = heat(
        shared_and_own_keys(), {"refresh_fanout_worker": 2, "import_worker": 3}, limits, "data_refresh"
    )
    assert report.bar(100_000) == (
        "BAR heat: firm_customers=100000, max_wcu_per_key_s=26.0, "
        "key_kind=data/base/FIRM#<id>#REFRESH_JOB#<id>, limit=1000"
    )
    empty = heat([], {}, limits, "data_refresh")
    assert empty.bar(5) == "BAR heat: firm_customers=5, max_wcu_per_key_s=0.0, key_kind=none, limit=1000"


# ------------------------------------------------------------------ limits report


def test_configured_concurrency_comes_from_the_queues_and_one_per_scheduled_job() -> None:
    concurrency = configured_concurrency()
    assert concurrency["import_worker"] == QUEUES["imports"].max_concurrency
    assert concurrency["refresh_fanout_worker"] == QUEUES["refresh"].max_concurrency
    assert concurrency["reminders_job"] == 1 and concurrency["import_dispatcher"] == 1


def test_limits_report_at_the_configured_concurrency(limits: Limits) -> None:
    imports = [
        replace(record("import_worker", 2000, activity="daily_import"), provider_requests=n) for n in (4, 8)
    ]
    concurrency = {"import_worker": 5, "refresh_fanout_worker": 10, "reminders_job": 1}
    report = limits_report(concurrency, limits, imports)
    checks = {check.name: check for check in report.checks}
    lambda_check = checks["Lambda concurrency of the workers' maxima and the scheduled jobs"]
    assert (lambda_check.used, lambda_check.limit) == (16, 1000)
    assert checks["SQS imports messages in flight (concurrency x batch size)"].used == 50
    # modeled: 2000 + 4 x 200 and 2000 + 8 x 200 ms, mean 3.2 s; 5 workers x 6 requests / 3.2 s
    slow = checks["slow requests of the import workers"]
    assert slow.used == pytest.approx(9.375) and slow.limit == pytest.approx(1.0) and not slow.ok
    assert checks["fast requests of the import workers"].ok
    # the fewest workers that keep each limit busy: ceil(1 req/s x 3.2 s / 6) and ceil(100 x 3.2 / 6)
    assert report.allowed_import_concurrency == {"slow": 1, "fast": 54}
    assert "OVER" in report.render()


def test_a_paced_providers_excess_demand_waits_and_is_not_over_its_limit() -> None:
    imports = [replace(record("import_worker", 2000, activity="daily_import"), provider_requests=8)]
    report = limits_report({"import_worker": 5}, load_limits(), imports)  # the real providers
    gocardless = next(c for c in report.checks if c.name == "gocardless requests of the import workers")
    assert gocardless.used > gocardless.limit and gocardless.paced and gocardless.ok
    assert "paced gocardless requests" in report.render()
