"""A month's usage priced: the bill by service, per customer, its three largest items and what would cut them.

`price(lines, load_prices(), customers)` applies prices.json (one region, every price with its source and
the date it was read) to the `UsageLine`s of usage.py. A tiered price is applied to the month's total of its
(service, metric) over every qualifier, as AWS does, then shared out to the qualifiers pro rata. The
always-free quantity is subtracted only with `free_tier=True`: by default the bill is that of an account
whose free tier is already spent elsewhere. A line whose (service, metric) has no price raises
`UnpricedUsage`: a new metric is never silently free.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from infra.spec import FUNCTIONS
from tools.capacity.figures import LOG_RETENTION_DAYS
from tools.capacity.usage import UsageLine

K = TypeVar("K")
T = TypeVar("T")

PRICES_FILE = Path(__file__).with_name("prices.json")
_REQUIRED = ("service", "metric", "unit", "usd", "free_per_month", "source", "read_on", "verified")


class PricesError(ValueError):
    """The prices file is malformed: a field missing or empty, a bad tier list, a duplicate entry."""


class UnpricedUsage(LookupError):
    """A usage line's (service, metric) has no price in the prices file."""


@dataclass(frozen=True)
class Tier:
    up_to: float | None  # the month's total quantity at which this tier ends; None: no end
    usd: float  # per unit


@dataclass(frozen=True)
class Price:
    service: str
    metric: str
    plan: str  # "" unless the service sells plans (Cognito's Plus, Essentials, Lite)
    unit: str
    tiers: tuple[Tier, ...]
    free_per_month: float
    source: str
    read_on: str
    verified: bool

    def cost(self, quantity: float, free_tier: bool = False) -> float:
        """USD for a month's total `quantity`; the free quantity, when subtracted, is the first units."""
        free = min(self.free_per_month, quantity) if free_tier else 0.0
        return self._tiered(quantity) - self._tiered(free)

    def _tiered(self, quantity: float) -> float:
        usd, start = 0.0, 0.0
        for tier in self.tiers:
            end = quantity if tier.up_to is None else min(tier.up_to, quantity)
            if end > start:
                usd += (end - start) * tier.usd
            if tier.up_to is None or tier.up_to >= quantity:
                break
            start = tier.up_to
        return usd


@dataclass(frozen=True)
class Prices:
    region: str
    read_on: str
    entries: tuple[Price, ...]
    chosen_plans: Mapping[str, str]  # service -> the plan the stack uses

    def plans(self, service: str, metric: str) -> dict[str, Price]:
        return {p.plan: p for p in self.entries if (p.service, p.metric) == (service, metric)}

    def of(self, service: str, metric: str) -> Price:
        """The price the stack pays for (service, metric): the chosen plan's where the service has plans."""
        plans = self.plans(service, metric)
        chosen = plans.get(self.chosen_plans.get(service, ""))
        if chosen is None:
            raise UnpricedUsage(f"no price for {service} {metric} in {PRICES_FILE.name}")
        return chosen

    @property
    def unverified(self) -> int:
        return sum(not p.verified for p in self.entries)


def load_prices(path: Path = PRICES_FILE) -> Prices:
    doc = json.loads(path.read_text(encoding="utf-8"))
    entries = tuple(_entry(raw, n) for n, raw in enumerate(doc["prices"]))
    seen: set[tuple[str, str, str]] = set()
    for p in entries:
        key = (p.service, p.metric, p.plan)
        if key in seen:
            raise PricesError(f"duplicate price for {' '.join(filter(None, key))}")
        seen.add(key)
    prices = Prices(str(doc["region"]), str(doc["read_on"]), entries, dict(doc.get("chosen_plans", {})))
    for p in entries:
        prices.of(p.service, p.metric)  # a service with plans names the one it uses
    return prices


def _entry(raw: dict[str, Any], n: int) -> Price:
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise PricesError(f"price #{n} ({raw.get('service')} {raw.get('metric')}) lacks {', '.join(missing)}")
    usd = raw["usd"]
    tiers = (
        (Tier(None, float(usd)),)
        if isinstance(usd, int | float)
        else tuple(Tier(None if t["up_to"] is None else float(t["up_to"]), float(t["usd"])) for t in usd)
    )
    ends = [t.up_to for t in tiers[:-1] if t.up_to is not None]
    if tiers[-1].up_to is not None or len(ends) != len(tiers) - 1 or ends != sorted(ends):
        raise PricesError(f"price #{n}: tiers must rise and the last must have up_to null")
    return Price(
        service=str(raw["service"]),
        metric=str(raw["metric"]),
        plan=str(raw.get("plan", "")),
        unit=str(raw["unit"]),
        tiers=tiers,
        free_per_month=float(raw["free_per_month"]),
        source=str(raw["source"]),
        read_on=str(raw["read_on"]),
        verified=raw["verified"] is True,
    )


@dataclass(frozen=True)
class BillLine:
    service: str
    metric: str
    qualifier: str
    quantity: float
    unit: str
    usd: float


@dataclass(frozen=True)
class TopItem:
    """One (service, metric) summed over its qualifiers."""

    service: str
    metric: str
    usd: float
    share: float  # of the bill's total
    qualifiers: tuple[tuple[str, float], ...]  # the largest (qualifier, share of this item), largest first
    cut: str

    @property
    def slug(self) -> str:
        return f"{self.service}_{self.metric}"


@dataclass(frozen=True)
class Bill:
    lines: tuple[BillLine, ...]
    customers: int
    prices: Prices
    free_tier: bool

    @property
    def total_usd(self) -> float:
        return sum(line.usd for line in self.lines)

    @property
    def per_customer_usd(self) -> float:
        return self.total_usd / self.customers

    def by_service(self) -> dict[str, float]:
        return _largest_first(_sum_by(self.lines, lambda line: line.service, _usd))

    def top(self, n: int = 3) -> list[TopItem]:
        items = _largest_first(_sum_by(self.lines, lambda line: (line.service, line.metric), _usd))
        return [self._item(key, usd) for key, usd in list(items.items())[:n]]

    def _item(self, key: tuple[str, str], usd: float) -> TopItem:
        lines = [line for line in self.lines if (line.service, line.metric) == key]
        shares = tuple(list(_shares(lines).items())[:3])
        cut = _CUTS.get(key, _generic_cut)(replace(self, lines=tuple(lines)))
        return TopItem(*key, usd, _ratio(usd, self.total_usd), shares, cut)

    def render(self) -> str:
        total = self.total_usd
        rows = [f"Monthly AWS bill, {self.prices.region}, {self.customers:,} customers", ""]
        rows += [f"{'service':<16}{'usd/month':>12}{'share':>9}"]
        rows += [f"{s:<16}{usd:>12,.2f}{_ratio(usd, total):>9.1%}" for s, usd in self.by_service().items()]
        rows += [
            f"{'total':<16}{total:>12,.2f}",
            f"per customer per month: ${self.per_customer_usd:,.4f}",
            "",
        ]
        for rank, item in enumerate(self.top(), 1):
            parts = ", ".join(f"{q or '-'} {share:.0%}" for q, share in item.qualifiers)
            rows += [f"{rank}. {item.service} {item.metric}: ${item.usd:,.2f} ({item.share:.1%}); {parts}"]
            rows += [f"   cut: {item.cut}"]
        free = (
            "free tier subtracted"
            if self.free_tier
            else "free tier not subtracted (an account that already uses its free tier elsewhere)"
        )
        unverified = (
            f"{self.prices.unverified} of {len(self.prices.entries)} prices unverified for the region"
        )
        rows += ["", f"Prices: {self.prices.region}, read {self.prices.read_on}; {free}; {unverified}."]
        return "\n".join(rows)

    def bar(self) -> str:
        top = "|".join(item.slug for item in self.top())
        return (
            f"BAR cost: customers={self.customers}, usd_month={self.total_usd:.2f}, "
            f"usd_per_customer_month={self.per_customer_usd:.4f}, top={top}"
        )


def price(lines: Sequence[UsageLine], prices: Prices, customers: int, free_tier: bool = False) -> Bill:
    if customers <= 0:
        raise ValueError(f"customers must be positive, not {customers}")
    totals = _sum_by(lines, lambda line: (line.service, line.metric), lambda line: line.quantity)
    usd = {key: prices.of(*key).cost(total, free_tier) for key, total in totals.items()}
    billed = []
    for line in lines:
        key = (line.service, line.metric)
        share = usd[key] * _ratio(line.quantity, totals[key])
        billed.append(BillLine(*key, line.qualifier, line.quantity, prices.of(*key).unit, share))
    return Bill(tuple(billed), customers, prices, free_tier)


def _sum_by(items: Sequence[T], key: Callable[[T], K], value: Callable[[T], float]) -> dict[K, float]:
    sums: defaultdict[K, float] = defaultdict(float)
    for item in items:
        sums[key(item)] += value(item)
    return dict(sums)


def _usd(line: BillLine) -> float:
    return line.usd


def _largest_first(sums: dict[K, float]) -> dict[K, float]:
    return dict(sorted(sums.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _shares(lines: Sequence[BillLine]) -> dict[str, float]:
    """Each qualifier's share of these lines' quantity, largest first."""
    total = sum(line.quantity for line in lines)
    return _largest_first(
        _sum_by(lines, lambda line: line.qualifier, lambda line: _ratio(line.quantity, total))
    )


# What would cut an item, keyed by (service, metric): concrete to this system, with a computed saving where
# the prices file allows; `_led` texts follow the item's leading qualifier, `_said` texts stand alone. An item
# without an entry gets `_generic_cut`, which names its largest qualifier.


def _quantity(item: Bill) -> float:
    return sum(line.quantity for line in item.lines)


def _lead(item: Bill) -> tuple[str, float]:
    """The item's largest qualifier and its share of the item's quantity."""
    return next(iter(_shares(item.lines).items()), ("", 0.0))


def _usd_of(item: Bill, qualifiers: Callable[[str], bool]) -> float:
    return sum(line.usd for line in item.lines if qualifiers(line.qualifier))


_Cut = Callable[[Bill], str]  # given the bill of one item's lines


def _led(text: str) -> _Cut:
    def cut(c: Bill) -> str:
        name, share = _lead(c)
        return f"{name} leads ({share:.0%}): {text}"

    return cut


def _said(text: str) -> _Cut:
    return lambda _: text


def _generic_cut(c: Bill) -> str:
    name, share = _lead(c)
    return f"no specific cut recorded; {name or 'the whole item'} is {share:.0%} of it"


def _cognito(c: Bill) -> str:
    mau = _quantity(c)
    cost = {plan: p.cost(mau, c.free_tier) for plan, p in c.prices.plans("cognito", "mau").items()}
    now = cost[c.prices.chosen_plans["cognito"]]
    essentials, lite = now - cost.get("essentials", now), now - cost.get("lite", now)
    return (
        f"Essentials instead of Plus saves ${essentials:,.2f} a month at {mau:,.0f} MAU, at the cost "
        f"of threat protection (infra/constructs/users.py FULL_FUNCTION blocks risky sign-ins); Lite saves "
        f"${lite:,.2f}. Only users active in the month are billed: customers who never sign in cost nothing"
    )


def _gsi_writes(c: Bill) -> str:
    shares = _shares(c.lines)
    gsi = sum(share for q, share in shares.items() if ":" in q)
    index = next((q for q in shares if ":" in q), "")
    index_usd = _usd_of(c, lambda q: q == index)
    return (
        f"GSI writes are {gsi:.0%} of write units; {index or 'no index'} leads "
        f"({shares.get(index, 0.0):.0%}, ${index_usd:,.2f} a month): write its key only when the indexed "
        f"attribute changes, rewrite fewer dashboard rows per engagement change, project KEYS_ONLY/INCLUDE "
        f"instead of ALL (infra/spec.py create_table_request) so smaller items cost fewer units"
    )


def _pitr(c: Bill) -> str:
    idempotency = _usd_of(c, lambda q: q.startswith("idempotency"))
    return (
        f"continuous backups are billed on table size: the idempotency table's records expire within hours, "
        f"so its PITR (${idempotency:,.2f} a month) can go; keep it on data and audit (records of truth)"
    )


def _gb_seconds(c: Bill) -> str:
    name, share = _lead(c)
    spec = FUNCTIONS.get(name)
    memory = f"{spec.memory_mb} MB" if spec else "its memory"
    half = _usd_of(c, lambda q: q == name) / 2
    return (
        f"{name} leads ({share:.0%}) at {memory}, arm64 already: halving its memory saves up to ${half:,.2f} "
        f"a month if its duration holds (it waits on the provider and DynamoDB; measure with power tuning)"
    )


def _api_requests(c: Bill) -> str:
    return (
        f"{_quantity(c):,.0f} HTTP API requests a month: the console's polling and page sizes drive it; "
        f"webhooks and callbacks are the providers'. HTTP API is already the cheaper API type"
    )


def _log_ingestion(c: Bill) -> str:
    name, share = _lead(c)
    half = _usd_of(c, lambda q: q == name) / 2
    return (
        f"{name} logs {share:.0%}: INFO level in production, debug logs sampled "
        f"(POWERTOOLS_LOGGER_SAMPLE_RATE), no event payloads in logs, Lambda's own START/END/REPORT "
        f"lines dropped by its system log level; halving its volume saves ${half:,.2f} a month"
    )


def _traces(c: Bill) -> str:
    return (
        f"{_quantity(c):,.0f} traces a month: a sampling rule (1 a second plus a few percent) instead of "
        f"tracing every request; halving the sampling rate saves ${c.total_usd / 2:,.2f} a month"
    )


_CUTS: dict[tuple[str, str], _Cut] = {
    ("cognito", "mau"): _cognito,
    ("dynamodb", "write_request_units"): _gsi_writes,
    ("dynamodb", "read_request_units"): _led(
        "eventually consistent reads cost half a strong read; a key condition instead of a filter (a "
        "filter is billed for what it reads); staff names read once a page, never per row"
    ),
    ("dynamodb", "pitr_gb_month"): _pitr,
    ("dynamodb", "storage_gb_month"): _led(
        "TTL on what expires (expires_at, idempotency records); the audit table never expires items, so "
        "the Standard-IA table class suits it once its storage outweighs its requests"
    ),
    ("lambda", "gb_seconds"): _gb_seconds,
    ("lambda", "requests"): _led(
        "SQS workers already take batches of up to 10 (infra/spec.py QUEUES); API invocations are one "
        "per request, so fewer console polls cut both Lambda and API Gateway"
    ),
    ("apigw", "requests"): _api_requests,
    ("logs", "ingested_gb"): _log_ingestion,
    ("logs", "stored_gb_month"): _said(
        f"a shorter retention than the functions' {LOG_RETENTION_DAYS} days "
        "(infra/constructs/functions.py LOG_RETENTION): the audit table, not logs, is the record"
    ),
    ("xray", "traces_recorded"): _traces,
    ("sqs", "requests"): _led(
        "long polling by the Lambda event source and SendMessageBatch of 10 are already used; fewer, "
        "fuller messages (100 ids a refresh message) are what is left"
    ),
    ("ses", "emails"): _said(
        "fold single notifications into the daily digest (notification-digests); reminders at 7/30 days only"
    ),
    ("kms", "requests"): _said(
        "one Decrypt per provider call: keep the opened credential for the invocation (the batch) it serves"
    ),
    ("secretsmanager", "api_calls"): _said(
        "cache the aggregator secret in the function instance (a parameters cache with max_age), not per call"
    ),
    ("cloudwatch", "custom_metrics"): _said(
        "each EMF name x dimension set is a metric: drop high-cardinality dimensions (firm, version)"
    ),
}
