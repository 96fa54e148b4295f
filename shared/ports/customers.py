"""Port: A firm's customers, their invitations and section counters.

What services need from storage; `shared/adapters/dynamodb/` implements it, tests may fake it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.domain.customers import Customer, Section
from shared.ports.storage import TransactItem


@dataclass(frozen=True)
class CustomerPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None


class CustomerStore(Protocol):
    """A firm's customers, their invitations and section counters."""

    def get(self, firm_id: str, customer_id: str) -> Customer | None: ...

    def get_many(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Customer]:
        """The customers that exist among these (firm_id, customer_id), read in batches."""
        ...

    def find_by_email(self, firm_id: str, email: str) -> Customer | None: ...

    def find_by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        """(firm_id, customer_id) of the invitation this token hash belongs to."""
        ...

    def counts(self, firm_id: str, staff_id: str | None) -> dict[str, int]: ...

    def list_section(
        self,
        firm_id: str,
        section: Section,
        *,
        staff_id: str | None,
        search: str | None,
        cursor: str | None,
        limit: int,
    ) -> CustomerPage:
        """Newest first. `staff_id` None: the whole firm (admins); else that adviser's rows."""
        ...

    def due_for_erasure(self, today: str) -> list[tuple[str, str]]:
        """(firm_id, customer_id) of ended relationships whose erasure is due by `today` (R-PRIV-3)."""
        ...

    def due_for_reminders(self, today: str) -> list[tuple[str, str]]:
        """(firm_id, customer_id) of invitations whose reminder or expiry is due by `today`,
        including any a missed run left behind."""
        ...

    def save(self, customer: Customer, previous: Customer | None, *extra: TransactItem) -> Customer:
        """Write `customer` (created if `previous` is None) with its rows, counters and `extra`."""
        ...

    def transact(self, items: list[TransactItem]) -> None: ...

    def clear_rows(self, customer: Customer) -> None:
        """After the relationship ended: the customer's dashboard rows and search entries removed,
        each adviser's counters with them, in batches; idempotent and resumable."""
        ...

    def email_claim(self, customer: Customer) -> TransactItem:
        """Reserve the customer's email in the firm (R-INV-3: one customer per email)."""
        ...

    def token_put(self, customer: Customer) -> TransactItem: ...

    def token_delete(self, token_hash: str) -> TransactItem:
        """Consume a token: fails the whole transaction if it was already used (single use)."""
        ...
