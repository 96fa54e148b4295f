"""Ports bound to one firm (issue 14, tenancy by construction): another firm's ids are refused
before the store runs, another firm's records never come back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from shared.domain.errors import NotFound
from shared.ports.firm_bound import FirmBound, OtherFirm, bind, bind_ports


@dataclass(frozen=True)
class Record:
    firm_id: str
    record_id: str


@dataclass
class Store:
    records: list[Record] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def get(self, firm_id: str, record_id: str) -> Record | None:
        self.calls.append("get")
        return next((r for r in self.records if (r.firm_id, r.record_id) == (firm_id, record_id)), None)

    def locate(self, record_id: str) -> Record | None:
        self.calls.append("locate")
        return next((r for r in self.records if r.record_id == record_id), None)

    def everywhere(self) -> list[Record]:
        self.calls.append("everywhere")
        return list(self.records)

    def save(self, record: Record, *, note: str = "") -> Record:
        self.calls.append("save")
        self.records.append(record)
        return record

    def save_all(self, records: list[Record]) -> None:
        self.calls.append("save_all")
        self.records += records

    def count(self, *, firm_id: str) -> int:
        self.calls.append("count")
        return sum(r.firm_id == firm_id for r in self.records)


A, B = Record("firm-a", "r1"), Record("firm-b", "r2")


@pytest.fixture
def store() -> Store:
    return Store(records=[A, B])


def test_own_firm_calls_pass_through(store: Store) -> None:
    bound = bind(store, "firm-a")
    assert bound.get("firm-a", "r1") == A
    assert bound.count(firm_id="firm-a") == 1
    assert bound.save(Record("firm-a", "r3"), note="x") == Record("firm-a", "r3")
    assert store.calls == ["get", "count", "save"]


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get("firm-b", "r2"),
        lambda s: s.count(firm_id="firm-b"),
        lambda s: s.save(Record("firm-b", "r9")),
        lambda s: s.save_all([Record("firm-a", "r8"), Record("firm-b", "r9")]),
    ],
    ids=["firm-id-positional", "firm-id-keyword", "record", "record-in-list"],
)
def test_another_firm_is_refused_before_the_store_runs(store: Store, call) -> None:
    with pytest.raises(OtherFirm) as refused:
        call(bind(store, "firm-a"))
    assert isinstance(refused.value, NotFound)  # the same 404 as a missing item (R-ROLE-1)
    assert refused.value.status == 404 and refused.value.code == "not_found"
    assert store.calls == [] and store.records == [A, B]


def test_another_firms_records_never_come_back(store: Store) -> None:
    bound = bind(store, "firm-a")
    assert bound.locate("r2") is None  # exists, in firm-b
    assert bound.locate("r1") == A
    assert bound.everywhere() == [A]
    assert store.everywhere() == [A, B]  # the store itself is unchanged


def test_a_bound_store_needs_a_firm(store: Store) -> None:
    with pytest.raises(ValueError):
        FirmBound(store, "")


def fixed_clock() -> datetime:
    return datetime(2026, 12, 5, tzinfo=UTC)


@dataclass
class Inner:
    store: Store


@dataclass
class Ports:
    store: Store
    inner: Inner
    clock: object = fixed_clock
    base_url: str = "https://example.test"
    limits: tuple[int, ...] = (1, 2)


def test_bind_ports_binds_every_store_and_keeps_values_and_functions(store: Store) -> None:
    ports = Ports(store=store, inner=Inner(store=Store(records=[A, B])))
    bound = bind_ports(ports, "firm-a")
    assert isinstance(bound.store, FirmBound) and isinstance(bound.inner, FirmBound)
    assert isinstance(bound.inner.store, FirmBound)  # a store inside a store is bound too
    assert bound.clock is fixed_clock and bound.base_url == ports.base_url and bound.limits == (1, 2)
    assert bound.inner.store.everywhere() == [A]
    with pytest.raises(OtherFirm):
        bound.inner.store.get("firm-b", "r2")
    assert ports.store is store  # the unbound ports are untouched


@dataclass
class TickingClock:
    """A clock object (unhashable, like the tests' FakeClock)."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class NoticePorts:
    store: Store
    clock: TickingClock


@dataclass
class OuterPorts:
    store: Store
    notices: NoticePorts


def test_ports_inside_ports_are_bound_as_ports_keeping_their_clock(store: Store) -> None:
    """Issue 16 merge: the connection ports hold the staff notification ports; binding the outer
    bag binds the inner one store by store, and its clock stays a plain function."""
    clock = TickingClock(fixed_clock())
    bound = bind_ports(OuterPorts(store=store, notices=NoticePorts(Store(records=[A, B]), clock)), "firm-a")
    assert isinstance(bound.notices, NoticePorts) and bound.notices.clock is clock
    assert bound.notices.clock() == fixed_clock()
    assert isinstance(bound.notices.store, FirmBound) and bound.notices.store.everywhere() == [A]
    with pytest.raises(OtherFirm):
        bound.notices.store.get("firm-b", "r2")


def test_bound_ports_cannot_be_rebound_to_another_firm(store: Store) -> None:
    bound = bind_ports(Ports(store=store, inner=Inner(store=store)), "firm-a")
    assert bind_ports(bound, "firm-a").store is bound.store
    with pytest.raises(OtherFirm):
        bind_ports(bound, "firm-b")


def test_bind_ports_takes_a_ports_dataclass_only(store: Store) -> None:
    with pytest.raises(TypeError):
        bind_ports(store.records, "firm-a")


# what the review of the first version found ------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """Like the Data Refresh's RowChange: no firm of its own, records inside."""

    new: Record
    note: str = ""


@dataclass
class Wide:
    records: list[Record] = field(default_factory=lambda: [A, B])

    def claim(self, job_id: str, change: Change) -> str:
        return change.new.firm_id

    def batch(self, refs) -> list[Record]:
        return [r for r in self.records if r.record_id in set(refs)]

    def batch_of(self, refs) -> list[Record]:
        return [r for r in refs]

    def page(self) -> tuple[list[Record], str | None]:
        return list(self.records), "cursor"

    def by_id(self) -> dict[str, Record]:
        return {r.record_id: r for r in self.records}

    def each(self):
        yield from self.records

    def _raw(self) -> list[Record]:
        return self.records

    @staticmethod
    def lookup(firm_id: str) -> str:
        return firm_id


def test_records_inside_an_argument_and_iterator_arguments_are_checked():
    bound = bind(Wide(), "firm-a")
    assert bound.claim("job", Change(A)) == "firm-a"
    with pytest.raises(OtherFirm):
        bound.claim("job", Change(B))  # the firm is one level down, in the change's record
    assert bound.batch_of(r for r in [A]) == [A]  # an iterator is read once, checked, passed on
    with pytest.raises(OtherFirm):
        bound.batch_of(r for r in [A, B])
    with pytest.raises(OtherFirm):
        bound.batch_of({"x": B})


def test_tuples_mappings_and_iterators_lose_another_firms_records():
    bound = bind(Wide(), "firm-a")
    assert bound.page() == ([A], "cursor")
    assert bound.by_id() == {"r1": A}
    assert list(bound.each()) == [A]


def test_private_attributes_are_not_offered_and_static_methods_are_checked():
    bound = bind(Wide(), "firm-a")
    with pytest.raises(AttributeError):
        bound._raw()
    assert bound.lookup("firm-a") == "firm-a"
    with pytest.raises(OtherFirm):
        bound.lookup("firm-b")


@dataclass
class Delegating:
    """Like the race tests' ReadEarlier: one class, many stores behind it."""

    inner: object

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


@dataclass
class Addresses:
    def get(self, address: Record) -> Record:
        return address


def test_a_delegating_proxy_is_checked_per_method_it_resolves_to(store: Store):
    by_firm_id = bind(Delegating(store), "firm-a")
    by_record = bind(Delegating(Addresses()), "firm-a")
    assert by_firm_id.get("firm-a", "r1") == A  # `get(firm_id, record_id)`
    assert by_record.get(A) == A  # `get(address)`: not mistaken for the other `get`
    with pytest.raises(OtherFirm):
        by_record.get(B)
    with pytest.raises(OtherFirm):
        by_firm_id.get("firm-b", "r2")
    assert store.calls == ["get"]


@dataclass
class Config:
    store: Store
    window: object = None
    kinds: frozenset[str] = frozenset({"a"})


def test_plain_values_stay_plain_and_late_fields_are_refused(store: Store):
    from datetime import timedelta

    bound = bind_ports(Config(store, window=timedelta(days=1)), "firm-a")
    assert bound.window * 2 == timedelta(days=2) and "a" in bound.kinds

    @dataclass
    class Late:
        store: Store
        derived: int = field(init=False, default=0)

    with pytest.raises(TypeError):
        bind_ports(Late(store), "firm-a")
