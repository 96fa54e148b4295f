"""Ports bound to one firm: tenancy by construction (R-ROLE-1).

Once the caller's firm is known (`shared/auth.py` resolves callers; a stored record — a connection,
a callback reference, a job — names the firm of what it points at), the use case goes on with its
ports bound to that firm (`bind_ports`). What a bound store checks, before the adapter runs:

- every argument named `firm_id`;
- every record among the arguments that belongs to a firm (has a string `firm_id`: a customer, a
  connection, a job, an audit event), also inside a list, tuple, set, mapping or iterator argument
  and one level down inside a dataclass argument (a `RowChange`'s engagement).

Any of them naming another firm is refused with the 404 that another firm's data always gets. What
it returns is filtered the same way: a record of another firm becomes None, and lists, tuples,
mappings and iterators lose such records. A bound store offers no private attribute.

Not checked: writes addressed only by a token or reference hash, and raw transaction items — the
use cases that need them run before a firm is known (token acceptance, callbacks) or build them
from records the store has checked. A bound store answers for its firm only, so person-scoped reads
(a person's memberships, links, notifications) list that firm's entries: use the unbound store to
look across firms, which only resolvers and the daily sweeps do.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any, TypeVar, cast

from shared.domain.errors import NotFound
from shared.observability import logger

T = TypeVar("T")
FIRM_PARAMETER = "firm_id"
_PLAIN = (
    str,
    bytes,
    int,
    float,
    bool,
    type(None),
    type,
    partial,
    Decimal,
    date,
    datetime,
    time,
    timedelta,
    Enum,
    frozenset,
    set,
    dict,
    list,
    tuple,
)


class OtherFirm(NotFound):
    """A use case bound to one firm named another: the caller gets the plain 404 (R-ROLE-1); the
    log says which method was refused (ids only), because it is a bug worth fixing."""


class FirmBound:
    """A store (repository, queue, audit trail…) that acts for one firm only."""

    __slots__ = ("_firm_id", "_store")

    def __init__(self, store: object, firm_id: str) -> None:
        if not firm_id or not isinstance(firm_id, str):
            raise ValueError("a firm-bound store needs a firm")
        self._store = store
        self._firm_id = firm_id

    @property
    def firm_id(self) -> str:
        return self._firm_id

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(f"a firm-bound store offers no private attribute ({name})")
        value = getattr(self._store, name)
        if not callable(value) or isinstance(value, type):
            return _bound(value, self._firm_id)  # a store held by this one is bound too
        firm_positions = _firm_positions(value)
        method = f"{type(self._store).__name__}.{name}"

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(_materialised(a) for a in args)
            kwargs = {k: _materialised(v) for k, v in kwargs.items()}
            self._check(method, args, kwargs, firm_positions)
            return self._keep_own(value(*args, **kwargs))

        return call

    def __repr__(self) -> str:
        return f"FirmBound({self._store!r}, firm={self._firm_id})"

    def _check(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], firm_positions: tuple[int, ...]
    ) -> None:
        named = [args[i] for i in firm_positions if i < len(args)]
        if FIRM_PARAMETER in kwargs:
            named.append(kwargs[FIRM_PARAMETER])
        owners = [owner for value in (*args, *kwargs.values()) for owner in _owners(value, depth=2)]
        if any(firm != self._firm_id for firm in (*named, *owners)):
            refuse(method, self._firm_id)

    def _keep_own(self, result: Any) -> Any:
        owner = _owner(result)
        if owner is not None:
            return result if owner == self._firm_id else None
        if isinstance(result, list):
            return [item for item in result if self._is_own(item)]
        if isinstance(result, tuple) and not _is_named_tuple(result):
            return tuple(self._keep_own(item) if isinstance(item, list) else item for item in result)
        if isinstance(result, Mapping):  # kept as it is when all its own (e.g. a chained audit put)
            kept = {key: item for key, item in result.items() if self._is_own(item)}
            return result if len(kept) == len(result) else kept
        if isinstance(result, Iterator):
            return self._own_items(result)
        return result

    def _is_own(self, item: Any) -> bool:
        return _owner(item) in (None, self._firm_id)

    def _own_items(self, items: Iterator[Any]) -> Iterator[Any]:
        for item in items:
            kept = self._keep_own(item)
            if kept is not None:
                yield kept


def refuse(method: str, firm_id: str) -> None:
    logger.error(f"firm-bound store refused {method}: it named another firm than {firm_id}")
    raise OtherFirm()


def bind(store: T, firm_id: str) -> T:
    """`store` acting for `firm_id` only (typed as the store, so use cases do not change)."""
    return cast(T, FirmBound(store, firm_id))


def bind_ports(ports: T, firm_id: str) -> T:
    """A copy of a use case's ports (a dataclass) whose stores all act for `firm_id` only (and
    whatever stores they hold, also those of another use case's ports it holds); plain values and
    functions (the clock, the provider registry) are kept as they are."""
    if not dataclasses.is_dataclass(ports) or isinstance(ports, type):
        raise TypeError("bind_ports takes a dataclass instance of ports")
    fields = dataclasses.fields(ports)
    if any(not field.init for field in fields):
        raise TypeError("ports with fields built after init cannot be bound (they would be rebuilt unbound)")
    changes = {field.name: _bound(getattr(ports, field.name), firm_id) for field in fields}
    return cast(T, dataclasses.replace(ports, **changes))  # type: ignore[type-var]


def _bound(value: Any, firm_id: str) -> Any:
    if isinstance(value, FirmBound):
        if value.firm_id != firm_id:
            refuse("bind_ports", value.firm_id)
        return value
    if _is_ports(value):
        return bind_ports(value, firm_id)  # a use case's ports inside another's: bound store by store
    if isinstance(value, _PLAIN) or callable(value) or _owner(value) is not None:
        return value  # values, records, and functions such as the clock or the provider registry
    return FirmBound(value, firm_id)


def _is_ports(value: Any) -> bool:
    """A use case's ports bag (a dataclass named `…Ports`, such as `StaffNoticePorts` inside the
    connection ports), as opposed to a store or a record."""
    return (
        dataclasses.is_dataclass(value)
        and not isinstance(value, type)
        and type(value).__name__.endswith("Ports")
    )


def _owner(value: Any) -> str | None:
    """The firm a record belongs to, if it is a record of one firm."""
    if isinstance(value, _PLAIN):
        return None
    firm_id = getattr(value, FIRM_PARAMETER, None)
    return firm_id if isinstance(firm_id, str) else None


def _owners(value: Any, depth: int) -> Iterator[str]:
    """The firms of the records in an argument: itself, its items, and (one level) the fields of
    a dataclass that is not itself a record."""
    owner = _owner(value)
    if owner is not None:
        yield owner
        return
    if depth == 0 or isinstance(value, str | bytes):
        return
    if isinstance(value, Mapping):
        items: Any = value.values()
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, field.name) for field in dataclasses.fields(value)]
    else:
        return
    for item in items:
        yield from _owners(item, depth - 1)


def _materialised(value: Any) -> Any:
    """An iterator argument read once into a list, so that it can be checked and still used."""
    if isinstance(value, Iterator):
        return list(value)
    return value


def _is_named_tuple(value: tuple[Any, ...]) -> bool:
    return hasattr(value, "_fields")


_positions: dict[Callable[..., Any], tuple[int, ...]] = {}


def _firm_positions(method: Callable[..., Any]) -> tuple[int, ...]:
    """Positions of the method's parameters named `firm_id` (read once per function; a proxy's
    methods are told apart by the function they resolve to)."""
    function = getattr(method, "__func__", method)
    if function in _positions:
        return _positions[function]
    try:
        parameters = list(inspect.signature(method).parameters)  # bound: no self
    except (TypeError, ValueError):
        return ()  # not cached: asked again next time; the records are still checked
    _positions[function] = found = tuple(i for i, p in enumerate(parameters) if p == FIRM_PARAMETER)
    return found
