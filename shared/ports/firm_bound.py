"""Ports bound to one firm: tenancy by construction (R-ROLE-1).

Once the caller's firm is known (`shared/auth.py` resolves it, the only code that does), the
composition root or the resolving use case hands the rest of the use case its ports bound to that
firm (`bind_ports`). A bound store refuses any call that names another firm — a `firm_id`
argument, or an argument that belongs to a firm (a customer, a connection, a job, an audit event)
— before the adapter runs, with the 404 that another firm's data always gets; and whatever it
returns that belongs to another firm is dropped (a single record becomes None, a list loses it).
So a use case on bound ports has no way to read or write another firm's items, whatever ids it
is given or however it is changed later.

What is not a record (a transaction's raw items, a (firm_id, customer_id) pair, an iterator) is
neither checked nor filtered: the use cases that need those (token look-ups, the daily sweeps)
run before a firm is known, on unbound ports.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

from shared.domain.errors import NotFound

T = TypeVar("T")
FIRM_PARAMETER = "firm_id"
_PLAIN = (str, bytes, int, float, bool, type(None), type, partial, dict, list, tuple)

logger = logging.getLogger(__name__)


class OtherFirm(NotFound):
    """A use case bound to one firm named another: the caller gets the plain 404 (R-ROLE-1); the
    log says which method was refused (ids only), because it is a bug worth fixing."""


class FirmBound:
    """A store (repository, queue, audit trail…) that acts for one firm only."""

    __slots__ = ("_firm_id", "_store")

    def __init__(self, store: object, firm_id: str) -> None:
        if not firm_id:
            raise ValueError("a firm-bound store needs a firm")
        self._store = store
        self._firm_id = firm_id

    @property
    def firm_id(self) -> str:
        return self._firm_id

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if name.startswith("_"):
            return value
        if not inspect.ismethod(value):
            return _bound(value, self._firm_id)  # a store held by this one is bound too
        firm_positions = _firm_positions(self._store, name, value)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._check(name, args, kwargs, firm_positions)
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
        owned = [
            owner
            for value in (*args, *kwargs.values())
            for item in (value if isinstance(value, list | tuple) else (value,))
            if (owner := _owner(item)) is not None
        ]
        if any(firm != self._firm_id for firm in (*named, *owned)):
            logger.error(
                "refused a call naming another firm",
                extra={"method": f"{type(self._store).__name__}.{method}", "bound_firm": self._firm_id},
            )
            raise OtherFirm()

    def _keep_own(self, result: Any) -> Any:
        owner = _owner(result)
        if owner is not None:
            return result if owner == self._firm_id else None
        if isinstance(result, list):
            return [item for item in result if _owner(item) in (None, self._firm_id)]
        return result


def bind(store: T, firm_id: str) -> T:
    """`store` acting for `firm_id` only (typed as the store, so use cases do not change)."""
    return cast(T, FirmBound(store, firm_id))


def bind_ports(ports: T, firm_id: str) -> T:
    """A copy of a use case's ports (a dataclass) whose stores all act for `firm_id` only (and
    whatever stores they hold); plain values and functions (the clock, the provider registry) are
    kept as they are."""
    if not dataclasses.is_dataclass(ports) or isinstance(ports, type):
        raise TypeError("bind_ports takes a dataclass instance of ports")
    changes = {
        field.name: _bound(getattr(ports, field.name), firm_id)
        for field in dataclasses.fields(ports)
        if field.init
    }
    return cast(T, dataclasses.replace(ports, **changes))  # type: ignore[type-var]


def _bound(value: Any, firm_id: str) -> Any:
    if isinstance(value, FirmBound):
        if value.firm_id != firm_id:
            raise OtherFirm()
        return value
    if isinstance(value, _PLAIN) or callable(value):
        return value  # values, and functions such as the clock or the provider registry
    return FirmBound(value, firm_id)


def _owner(value: Any) -> str | None:
    """The firm a record belongs to, if it is a record of one firm."""
    if isinstance(value, _PLAIN):
        return None
    firm_id = getattr(value, FIRM_PARAMETER, None)
    return firm_id if isinstance(firm_id, str) else None


_positions: dict[tuple[type, str], tuple[int, ...]] = {}


def _firm_positions(store: object, name: str, method: Callable[..., Any]) -> tuple[int, ...]:
    """Positions of the method's parameters named `firm_id` (read once per store class)."""
    key = (type(store), name)
    if key not in _positions:
        try:
            parameters = list(inspect.signature(method).parameters)  # bound: no self
        except (TypeError, ValueError):
            parameters = []
        _positions[key] = tuple(i for i, p in enumerate(parameters) if p == FIRM_PARAMETER)
    return _positions[key]
