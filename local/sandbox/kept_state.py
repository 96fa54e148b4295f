"""What a sandbox holds, kept across restarts of the local system (local/state.py saves and restores it)."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

State = TypeVar("State")


class KeptState(Generic[State]):
    """A sandbox whose whole state is one object, `_state`, changed under `_lock`."""

    _state: State
    _lock: threading.Lock

    @property
    def state(self) -> State:
        """Everything the sandbox holds."""
        return self._state

    def restore(self, state: State) -> None:
        with self._lock:
            self._state = state
