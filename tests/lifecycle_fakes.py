"""In-memory ports of the data lifecycle (shared/services/lifecycle.py): the firm's settings, the
person's link removed when a relationship ends, and an erasure that deletes the customer's records
from the other fakes (what the DynamoDB adapter does is tested on moto, tests/integration)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.customers import Customer
from shared.domain.lifecycle import FirmSettings
from shared.ports.storage import TransactItem
from tests.export_fakes import FakeExportFiles
from tests.fakes import ConnectionFakes, FakeQueue, Has, delete_item, put_item, transact_write
from tests.staff_fakes import FakeEngagementRows


@dataclass
class FakeProvider:
    """The aggregator, as far as revoking goes: what was revoked; `failing` while it is down."""

    revoked: list[str] = field(default_factory=list)
    failing: bool = False

    def revoke(self, credential: str) -> None:
        from shared.domain.errors import UpstreamUnavailable

        if self.failing:
            raise UpstreamUnavailable()
        self.revoked.append(credential)


@dataclass
class FakeLifecycle:
    """LifecycleStore and ErasureStore over the other fakes."""

    fakes: ConnectionFakes
    rows: FakeEngagementRows
    settings_rows: dict[str, FirmSettings] = field(default_factory=dict)
    exports: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # firm, customer: export ids

    def settings(self, firm_id: str) -> FirmSettings:
        return self.settings_rows.get(firm_id) or FirmSettings(firm_id)

    def settings_op(self, settings: FirmSettings) -> TransactItem:
        return put_item(self.settings_rows, settings.firm_id, settings)

    def customer_link_delete_op(self, user_id: str, firm_id: str, customer_id: str) -> TransactItem:
        return delete_item(self.fakes.identities.links, (user_id, firm_id, customer_id))

    def transact(self, items: list[TransactItem]) -> None:
        transact_write(items)

    def export_ids(self, firm_id: str, customer_id: str) -> list[str]:
        return self.exports.get((firm_id, customer_id), [])

    def erase_items(self, customer: Customer) -> int:
        ref = (customer.firm_id, customer.customer_id)
        gone: list[tuple[dict[Any, Any], Any]] = [
            (self.fakes.connections.rows, a)
            for a in self.fakes.connections.rows
            if (a.firm_id, a.customer_id) == ref
        ]
        gone += [(self.fakes.accounts.accounts, k) for k in self.fakes.accounts.accounts if k[:2] == ref]
        gone += [(self.rows.rows, ref)] if ref in self.rows.rows else []
        for store, k in gone:
            del store[k]
        self.exports.pop(ref, None)
        return len(gone)

    def erase_customer_ops(self, customer: Customer) -> list[TransactItem]:
        ref = (customer.firm_id, customer.customer_id)
        return [delete_item(self.fakes.customers.rows, ref, Has("version", customer.version))]


@dataclass
class LifecycleFakes:
    fakes: ConnectionFakes = field(default_factory=ConnectionFakes)
    rows: FakeEngagementRows = field(default_factory=FakeEngagementRows)
    files: FakeExportFiles = field(default_factory=FakeExportFiles)
    erasures: FakeQueue = field(default_factory=FakeQueue)
    provider: FakeProvider = field(default_factory=FakeProvider)

    def __post_init__(self) -> None:
        self.store = FakeLifecycle(self.fakes, self.rows)
        self.fakes.provider = self.provider

    def ports(self, clock: Callable[[], datetime]) -> Any:
        from shared.services.lifecycle import LifecyclePorts

        return LifecyclePorts(
            connections=self.fakes.ports(clock),
            rows=self.rows,  # type: ignore[arg-type]  # the subset services call
            lifecycle=self.store,
            erasure=self.store,
            export_files=self.files,
            erasures=self.erasures,
            default_timezone="Europe/London",
            clock=clock,
        )
