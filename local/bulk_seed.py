"""Seeding at scale: thousands of customers written as the repositories write them, 25 items per
BatchWriteItem, instead of one transaction each (10,000 invitations through the API, or one
TransactWriteItems per customer on moto, would take far too long).

`make bench` (tests/perf) seeds its tables with these, and the local console's
`POST /_local/seed/customers` (local/console.py) fills the demo firm of a running `make run` for
`make soak` (tools/soak.py). A seeded customer is what an invitation leaves: the customer item with its
dashboard rows, search entries and section counters, its email claimed in the firm (R-INV-3) and its
invitation token stored. Not written: the invitation's audit event and email (the audit log is a hash
chain per firm, appended one event at a time; nobody is emailed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from ulid import ULID

from local.demo_data import DEMO_FIRM
from shared.adapters.dynamodb.client import batch_write, dynamodb_client
from shared.adapters.dynamodb.customers_repository import CustomersRepository
from shared.domain.customers import Customer, issue_invitation

_CHUNK = 500  # items held in memory at once while writing
MAX_SEEDED = 50_000  # one call of the console's endpoint
# Every REMINDER_EVERY-th seeded customer was invited REMINDER_AGE ago: its 7-day reminder is due, so
# a run of the invitation reminders has work to do.
REMINDER_EVERY = 50
REMINDER_AGE = timedelta(days=8)
FIRST_NAMES = ("Alice", "Bruno", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas")
LAST_NAMES = ("Martin", "Smith", "Bernard", "Dubois", "Taylor", "Moreau", "Wilson", "Laurent", "Evans")


def bulk_put(items: Iterable[dict[str, Any]], table_name: str | None = None) -> int:
    """Write DynamoDB items (the repositories' items, built by their own code) to the data table (the
    settings' by default), 25 per BatchWriteItem; the number written."""
    if table_name is None:
        from shared.settings import get_settings

        table_name = get_settings().data_table_name
    written, pending = 0, iter(items)
    while chunk := [{"PutRequest": {"Item": item}} for item in islice(pending, _CHUNK)]:
        batch_write(table_name, chunk)
        written += len(chunk)
    return written


def seed_customers(customers: Iterable[Customer]) -> int:
    """Each new customer's item, visibility rows, search entries, email claim and invitation token, and
    the section counters they add up to, as CustomersRepository.save writes them for an invitation
    (counters summed here: one update per counter item). The number of items written."""
    from shared.settings import get_settings

    repository = CustomersRepository(get_settings().data_table_name)
    counters: dict[str, tuple[dict[str, Any], Counter[str]]] = {}

    def items() -> Iterator[dict[str, Any]]:
        for invited in customers:
            customer = replace(invited, version=1)  # as `save` stores a new customer
            yield repository._put_customer(customer, None)["Put"]["Item"]
            for staff_id in customer.staff_ids:
                yield repository._put_visibility(customer, staff_id)["Put"]["Item"]
            for entry in repository.find_entry_writes(customer, None):  # the search index (#56)
                yield entry["Put"]["Item"]
            yield repository.email_claim(customer)["Put"]["Item"]
            yield repository.token_put(customer)["Put"]["Item"]
            for update in repository._counter_updates(customer, None):
                key = update["Update"]["Key"]
                names = update["Update"]["ExpressionAttributeNames"]
                values = update["Update"]["ExpressionAttributeValues"]
                _, counter = counters.setdefault(str(key), (key, Counter()))
                for placeholder, attribute in names.items():
                    counter[attribute] += int(values[":" + placeholder[1:]]["N"])

    written = bulk_put(items(), repository.table_name)
    for key, counter in counters.values():
        dynamodb_client().update_item(
            TableName=repository.table_name,
            Key=key,
            UpdateExpression="ADD " + ", ".join(f"#{n} :{n}" for n in counter),
            ExpressionAttributeNames={f"#{n}": n for n in counter},
            ExpressionAttributeValues={f":{n}": {"N": str(v)} for n, v in counter.items()},
        )
    return written


@dataclass(frozen=True)
class SeededCustomer:
    customer_id: str
    owner_id: str
    assignee_ids: tuple[str, ...]


def invited_customers(count: int, staff_ids: list[str], now: datetime) -> list[Customer]:
    """`count` customers of the demo firm invited by its staff, as `invite_customer` makes them: owners
    taken in turn from `staff_ids`, every third customer also assigned to the next one (when there is
    one), names from a small list (so searches match many), an email of their own; a few invited
    REMINDER_AGE ago (their reminder is due), the others in the last `count` seconds."""
    customers = []
    for n in range(count):
        created = now - (REMINDER_AGE if n % REMINDER_EVERY == 0 else timedelta(seconds=count - n))
        customer_id = str(ULID.from_datetime(created))
        owner = staff_ids[n % len(staff_ids)]
        other = staff_ids[(n + 1) % len(staff_ids)]
        first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n // len(FIRST_NAMES) % len(LAST_NAMES)]
        _, invitation = issue_invitation(created, None)
        customers.append(
            Customer(
                firm_id=DEMO_FIRM.firm_id,
                customer_id=customer_id,
                name=f"{first} {last}",
                email=f"seeded-{customer_id.lower()}@example.org",
                owner_id=owner,
                created_at=created,
                invitation=invitation,
                assignee_ids=(other,) if n % 3 == 0 and other != owner else (),
            )
        )
    return customers


class NotActiveStaff(ValueError):
    """An owner asked for is not an active member of the demo firm."""


def seed_demo_firm(count: int, now: datetime, owner_ids: list[str] | None = None) -> list[SeededCustomer]:
    """`count` invited customers in the demo firm, owned in turn by `owner_ids` (each an active member,
    one GetItem each), by default by its active staff (one Query of the firm's staff, #4)."""
    from shared import bootstrap

    identities = bootstrap.identity_repository()
    if owner_ids is None:
        staff = sorted(m.user_id for m in identities.list_staff(DEMO_FIRM.firm_id) if m.active)
    else:
        memberships = [identities.get_membership(user_id, DEMO_FIRM.firm_id) for user_id in owner_ids]
        if not owner_ids or not all(m is not None and m.active for m in memberships):
            raise NotActiveStaff("every owner must be an active member of the demo firm")
        staff = list(owner_ids)
    customers = invited_customers(count, staff, now)
    seed_customers(customers)
    return [SeededCustomer(c.customer_id, c.owner_id, c.assignee_ids) for c in customers]
