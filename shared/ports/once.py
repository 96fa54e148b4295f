"""Port: run an action at most once per key (a redelivered event has its effect once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class OnceOnly(Protocol):
    def run(self, key: str, payload: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`action()`'s result, run the first time `key` is seen; later, the first result again
        (the same key with another payload is a conflict)."""
        ...
