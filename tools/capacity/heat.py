"""Partition heat: the write (and read) units per second one partition key takes during an activity, at
the configured worker concurrency, against DynamoDB's per-partition limits (issue 20).

The model, from a simulated day's `InvocationRecord`s of one activity (the daily import, a Data Refresh):

    u_fk       the write units f's invocations put on key k (base table or a GSI: a key is (table,
               index, partition key value))
    b_fk       the modeled seconds of f's invocations that wrote k (durations.modeled_ms): u_fk / b_fk
               is what one busy instance of f puts on k a second
    writers_fk C_f when k is shared (written by several invocations of f, or its kind has fewer keys than
               the engagements simulated: one key serves several engagements, so at scale every
               concurrent instance of f writes it), else 1
    rate_k     sum over f of writers_fk x u_fk / b_fk     write units per second on k

and the same for reads against the read limit. Keys are grouped by kind (table, index, `key_kind` of the
value, which replaces ids, days and numbers with placeholders); a row is its kind's hottest key, the
functions that write it and how many keys of that kind the day touched.

Conservative on purpose: every allowed instance of f is busy (C_f = the SQS event source's maximum
concurrency, 1 for a scheduled job) and each writes its share of k at its mean pace, for as long as
there is work queued. That is the steady state of a large firm's import or refresh, not a burst.

Why N (the firm's customers) does not change a shared key's rate once there are more engagements than
concurrent instances: at most C_f invocations of f run at once whatever the backlog, so a key every
invocation writes (a firm-scope counter, dashboard partition or job item) is written by C_f writers at
once, with N = 1,000 as with N = 100,000. What N changes: how long that rate lasts (the backlog drains at
C_f busy instances), how many per-engagement keys there are (each written by one invocation, so its
rate does not grow either) and the totals that the bill counts. So a small simulated firm gives the
large firm's rate: a shared key is counted with C_f writers however few invocations wrote it here.

`limits_report` checks the other ceilings at the configured concurrency: the Lambda concurrency the
workers' maxima and the scheduled jobs take of the account's, each queue's messages in flight against
SQS's limit, and the provider requests a second the import workers send against each provider's limit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from infra.spec import QUEUES, SCHEDULES
from tools.capacity.durations import PACED_PROVIDERS, Limits, mean_modeled_ms, modeled_ms
from tools.capacity.refresh_time import IMPORT, provider_allowed_concurrency
from tools.capacity.usage import InvocationRecord, KeyUnits

Key = tuple[str, str, str]  # (table, index, partition key value)

# Entity prefixes of keys.py whose next part is an id, whatever its shape (a test's "firm-1" as well).
_ID_AFTER = frozenset(
    {
        "ACCOUNT",
        "ACCOUNT_EMAIL",
        "BUDGET",
        "CONNECTION",
        "CONSENTREF",
        "CUSTOMER",
        "ENGAGEMENT",
        "EXPORT",
        "FILE_INVITE",
        "FIRM",
        "INVITE",
        "PLAIDITEM",
        "REFRESH_JOB",
        "STAFF",
        "STAFF_TOKEN",
        "USER",
    }
)
_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<day>"),
    (re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "<email>"),
    (re.compile(r"\d+"), "<n>"),  # shards, lanes, epoch seconds, long digit runs
    (re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"), "<id>"),  # UUIDs (Cognito subs)
    (re.compile(r"[0-9a-fA-F]{16,}"), "<id>"),  # SHA-256 fingerprints and other hex
    (re.compile(r"(?=[^#]*\d)(?=[^#]*[A-Za-z])[A-Za-z0-9_-]{20,}"), "<id>"),  # ULIDs, Plaid item ids
)


def key_kind(partition_key: str) -> str:
    """The partition key's kind: each "#"-separated part that is an id, a day, a time, an email or a
    number replaced by a placeholder, e.g. FIRM#01J...#STAFF#5f0c...#REFRESH#queued ->
    FIRM#<id>#STAFF#<id>#REFRESH#queued."""
    parts = partition_key.split("#")
    kinds: list[str] = []
    for position, part in enumerate(parts):
        placeholder = next((p for pattern, p in _PLACEHOLDERS if pattern.fullmatch(part)), None)
        if placeholder is None and position and parts[position - 1] in _ID_AFTER and part:
            placeholder = "<id>"
        kinds.append(placeholder or part)
    return "#".join(kinds)


@dataclass(frozen=True)
class HeatRow:
    """The hottest key of one kind."""

    table: str
    index: str
    kind: str
    op: str  # "write" or "read"
    units_per_s: float
    limit: float
    functions: tuple[str, ...]  # those that write (read) the hottest key
    keys: int  # keys of this kind the records touched
    shared: bool  # the hottest key serves several engagements: every allowed instance writes it
    example: str  # the hottest key's value

    @property
    def name(self) -> str:
        return f"{self.table}/{self.index}/{self.kind}"

    @property
    def share(self) -> float:
        return self.units_per_s / self.limit


@dataclass(frozen=True)
class HeatReport:
    activity: str
    rows: tuple[HeatRow, ...]  # hottest first (share of the limit)
    write_limit: float

    def _worst(self, op: str) -> HeatRow | None:
        return max((r for r in self.rows if r.op == op), key=lambda r: r.units_per_s, default=None)

    def worst_write(self) -> HeatRow | None:
        return self._worst("write")

    def worst_read(self) -> HeatRow | None:
        return self._worst("read")

    def render(self) -> str:
        lines = [
            f"Partition heat during {self.activity} (units/s on the hottest key of each kind, every "
            "allowed instance busy; * = a key shared by the engagements: written by each instance)",
            f"{'op':<6}{'units/s':>10}{'limit':>7}{'share':>8}  {'keys':>5}  key kind (functions)",
        ]
        for row in self.rows:
            mark = "*" if row.shared else ""
            lines.append(
                f"{row.op:<6}{row.units_per_s:>10.1f}{row.limit:>7.0f}{row.share:>8.1%}  {row.keys:>5}  "
                f"{row.name}{mark} ({', '.join(row.functions)})"
            )
        return "\n".join(lines)

    def bar(self, firm_customers: int) -> str:
        worst = self.worst_write()
        rate, kind = (worst.units_per_s, worst.name) if worst else (0.0, "none")
        limit = worst.limit if worst else self.write_limit
        return (
            f"BAR heat: firm_customers={firm_customers}, max_wcu_per_key_s={rate:.1f}, "
            f"key_kind={kind}, limit={limit:.0f}"
        )


def _units_by_key(spent: Iterable[KeyUnits]) -> dict[Key, float]:
    units: dict[Key, float] = defaultdict(float)
    for ku in spent:
        units[(ku.table, ku.index, ku.partition_key)] += ku.units
    return units


def _rows(
    records: Sequence[InvocationRecord],
    op: str,
    limit: float,
    concurrency: Mapping[str, int],
    default_concurrency: int,
    seconds: Mapping[int, float],
    engagements: int | None,
) -> list[HeatRow]:
    units: dict[tuple[str, Key], float] = defaultdict(float)
    busy: dict[tuple[str, Key], float] = defaultdict(float)
    invocations: dict[tuple[str, Key], int] = defaultdict(int)
    for record in records:
        for key, spent in _units_by_key(record.writes if op == "write" else record.reads).items():
            if spent > 0:
                units[(record.function, key)] += spent
                busy[(record.function, key)] += seconds[id(record)]
                invocations[(record.function, key)] += 1
    kinds: dict[Key, set[Key]] = defaultdict(set)
    for _, key in units:
        kinds[(key[0], key[1], key_kind(key[2]))].add(key)
    kind_of = {key: kind for kind, keys in kinds.items() for key in keys}

    def shared(function: str, key: Key) -> bool:
        """Written for more than one engagement: by several invocations of one function (the fan-out
        and the import of one engagement are not two engagements), or its kind has fewer keys than
        the engagements simulated (one key serves several of them)."""
        fewer = engagements is not None and len(kinds[kind_of[key]]) < engagements
        return invocations[(function, key)] > 1 or fewer

    rate: dict[Key, float] = defaultdict(float)
    functions: dict[Key, set[str]] = defaultdict(set)
    shared_keys: dict[Key, bool] = {}
    for (function, key), spent in units.items():
        is_shared = shared(function, key)
        writers = concurrency.get(function, default_concurrency) if is_shared else 1
        rate[key] += writers * spent / max(busy[(function, key)], 0.001)
        functions[key].add(function)
        shared_keys[key] = shared_keys.get(key, False) or is_shared
    rows = []
    for (table, index, kind), keys in kinds.items():
        hottest = max(keys, key=lambda k: (rate[k], k))
        rows.append(
            HeatRow(
                table=table,
                index=index,
                kind=kind,
                op=op,
                units_per_s=rate[hottest],
                limit=limit,
                functions=tuple(sorted(functions[hottest])),
                keys=len(keys),
                shared=shared_keys[hottest],
                example=hottest[2],
            )
        )
    return rows


def heat(
    records: Sequence[InvocationRecord],
    concurrency: Mapping[str, int],
    limits: Limits,
    activity: str,
    init_ms: Mapping[str, float] | None = None,
    engagements: int | None = None,
) -> HeatReport:
    """The activity's partition heat (module docstring). A function missing from `concurrency` (an API
    function) may use the account's whole concurrency. `engagements`: how many the simulated activity
    worked on (a key kind with fewer keys is shared by several)."""
    chosen = [r for r in records if r.activity == activity]
    inits = init_ms or {}
    seconds = {id(r): max(modeled_ms(r, limits, inits.get(r.function, 0.0)), 1.0) / 1000 for r in chosen}
    fixed = (concurrency, limits.account_concurrency, seconds, engagements)
    rows = [
        *_rows(chosen, "write", limits.partition_wcu, *fixed),
        *_rows(chosen, "read", limits.partition_rcu, *fixed),
    ]
    rows.sort(key=lambda r: (-r.share, r.op, r.name))
    return HeatReport(activity=activity, rows=tuple(rows), write_limit=limits.partition_wcu)


def configured_concurrency() -> dict[str, int]:
    """Each worker's SQS maximum concurrency (infra/spec.py QUEUES) and 1 for each scheduled job."""
    concurrency = {queue.consumer: queue.max_concurrency for queue in QUEUES.values()}
    for schedule in SCHEDULES.values():
        concurrency.setdefault(schedule.target, 1)
    return concurrency


@dataclass(frozen=True)
class LimitCheck:
    name: str
    used: float
    limit: float
    unit: str
    paced: bool = False  # the demand may exceed the limit: the code holds it to the limit

    @property
    def ok(self) -> bool:
        return self.used <= self.limit or self.paced


@dataclass(frozen=True)
class LimitsReport:
    checks: tuple[LimitCheck, ...]
    allowed_import_concurrency: Mapping[str, int | None]  # per provider: the fewest workers its limit binds

    def render(self) -> str:
        lines = ["Limits at the configured concurrency"]
        for check in self.checks:
            verdict = "OVER" if not check.ok else "paced" if check.used > check.limit else "ok"
            lines.append(
                f"  {verdict:<4} {check.name}: {check.used:,.2f} of {check.limit:,.2f} {check.unit} "
                f"({check.used / check.limit:.1%})"
            )
        for provider, allowed in self.allowed_import_concurrency.items():
            shown = "unbounded (no provider requests recorded)" if allowed is None else str(allowed)
            lines.append(f"  import_worker concurrency from which {provider}'s limit binds: {shown}")
        return "\n".join(lines)


def limits_report(
    concurrency: Mapping[str, int],
    limits: Limits,
    records: Sequence[InvocationRecord],
    init_ms: Mapping[str, float] | None = None,
) -> LimitsReport:
    """Lambda concurrency, SQS in-flight messages and provider request rates at `concurrency` (e.g.
    `configured_concurrency()`); the provider rates come from the recorded `import_worker` invocations:
    their mean provider requests over their mean modeled duration, times the import concurrency."""
    checks = [
        LimitCheck(
            "Lambda concurrency of the workers' maxima and the scheduled jobs",
            sum(concurrency.values()),
            limits.account_concurrency,
            "concurrent executions (account default)",
        )
    ]
    for queue_name, queue in QUEUES.items():
        checks.append(
            LimitCheck(
                f"SQS {queue_name} messages in flight (concurrency x batch size)",
                concurrency.get(queue.consumer, queue.max_concurrency) * queue.batch_size,
                limits.sqs_in_flight,
                "messages",
            )
        )
    imports = [r for r in records if r.function == IMPORT]
    requests = sum(r.provider_requests for r in imports) / len(imports) if imports else 0.0
    duration_ms = mean_modeled_ms(imports, limits, init_ms)
    sent = concurrency.get(IMPORT, 0) * requests / (duration_ms / 1000) if requests else 0.0
    allowed: dict[str, int | None] = {}
    for provider, provider_limits in limits.providers.items():
        checks.append(
            LimitCheck(
                f"{provider} requests of the import workers",
                sent,
                provider_limits.requests_per_second,
                "requests/s (client-wide)",
                paced=provider in PACED_PROVIDERS,
            )
        )
        allowed[provider] = provider_allowed_concurrency(
            provider_limits.requests_per_second, duration_ms, requests
        )
    return LimitsReport(checks=tuple(checks), allowed_import_concurrency=allowed)
