"""What several storage ports share."""

from __future__ import annotations

from typing import Any

# One write of a multi-item transaction, built by a port and handed back to another port's save
# (so a use case writes several aggregates atomically without knowing how they are stored).
TransactItem = dict[str, Any]
