"""The soak's checks (tools/soak.py): the demo firm read back from the running system's moto, once the
load has stopped, with the keys of shared/adapters/dynamodb/keys.py (exactly what is stored, even when
the API itself is too slow to answer: the checks must not depend on what they measure).

- **counter drift**: in each scope (the firm's, which admins list; the adviser's own), each section's
  counter (#14, what `GET /customers` shows as `counts`) against the rows on that section's index (#12
  customer items, #13 visibility items, #110 ended); the sum of the differences. A scope is read again
  (at most SETTLE_READS times) when its counters moved while it was read (a worker still finishing).
- **lost**: a 2xx invitation whose customer is not listed with its email; a customer a worker alone
  changed whose row does not show the last 2xx change (assignees, ended); the adviser's list missing a
  customer assigned to them; a refresh job answered 202 that is not stored.
- **duplicated**: a customer listed twice in a scope, an email with two customers in the firm, an
  invitation (replayed or sent again) answered with another customer, the adviser's list still showing
  a customer they were unassigned from, a customer with two rows on the Data Refresh dashboard.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from local.demo_data import DEMO_FIRM
from local.system import DATA_TABLE
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, query_pages, to_item
from shared.adapters.dynamodb.customers_repository import CustomersRepository
from tools.soak_load import SECTIONS, Actor, Ledger

SETTLE_READS = 3
ENDED = "ended"


@dataclass
class Findings:
    lost: int = 0
    duplicated: int = 0
    counter_drift: int = 0
    notes: list[str] = field(default_factory=list)
    unchecked: str = ""  # why the firm could not be read back (the figures above then mean nothing)

    def found(self, what: str, count: int, detail: str) -> None:
        if count:
            setattr(self, what, getattr(self, what) + count)
            self.notes.append(f"  {what} {count}: {detail}")


@dataclass
class _Scope:
    counts: dict[str, int]
    rows: dict[str, list[dict[str, Any]]]  # section -> the items on its index

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {row["customer_id"]: row for rows in self.rows.values() for row in rows}


def check_firm(actors: dict[str, Actor], ledger: Ledger) -> Findings:
    """Read the demo firm back (this process's AWS SDK pointed at the system's moto)."""
    findings = Findings()
    adviser = actors["adviser"]
    firm, own = _scopes(actors, findings)
    for name, scope in (("firm", firm), ("adviser", own)):
        listed = Counter(row["customer_id"] for section_rows in scope.rows.values() for row in section_rows)
        twice = sum(n - 1 for n in listed.values())
        findings.found("duplicated", twice, f"customers listed more than once in the {name}'s sections")
    rows = firm.by_id()
    emails = Counter(row["email"] for row in rows.values())
    findings.found("duplicated", sum(n - 1 for n in emails.values()), "emails with several customers")
    findings.found("duplicated", len(ledger.conflicting), "invitations answered with another customer")
    _check_invitations(ledger, rows, findings)
    _check_tracked(ledger, rows, own.by_id(), adviser.user_id, findings)
    _check_jobs(ledger, findings)
    _check_engagements(findings)
    changed = len(ledger.assignees) - len(ledger.unknown)
    findings.notes.insert(
        0,
        f"  checked: firm {len(rows)} customers, adviser {len(own.by_id())}; {len(ledger.invited)} emails "
        f"invited, {changed} customers changed by one worker ({len(ledger.ended)} ended, "
        f"{len(ledger.unknown)} left unknown by a 5xx), {len(ledger.jobs)} refresh jobs",
    )
    return findings


def counter_drift(actors: dict[str, Actor]) -> Findings:
    """The counter drift alone (read before the load: what seeding left)."""
    findings = Findings()
    _scopes(actors, findings)
    return findings


def _scopes(actors: dict[str, Actor], findings: Findings) -> tuple[_Scope, _Scope]:
    """The firm's scope, the adviser's and the admin's (who owns the customers the load changes), each
    section's counter compared with its rows; the firm's and the adviser's are returned."""
    firm = _read_scope(None, (*SECTIONS, ENDED), findings)
    own = _read_scope(actors["adviser"].user_id, SECTIONS, findings)
    admin = _read_scope(actors["admin"].user_id, SECTIONS, findings)
    for name, scope in (("firm", firm), ("adviser", own), ("admin", admin)):
        for section, listed_in in scope.rows.items():
            counted = scope.counts[section]
            drift = abs(counted - len(listed_in))
            findings.found(
                "counter_drift", drift, f"{name} {section}: counter {counted}, rows {len(listed_in)}"
            )
    return firm, own


def _check_invitations(ledger: Ledger, rows: dict[str, dict[str, Any]], findings: Findings) -> None:
    missing = [
        email
        for email, customer_id in ledger.invited.items()
        if rows.get(customer_id, {}).get("email") != email
    ]
    findings.found(
        "lost", len(missing), "invitations answered 2xx whose customer is not listed with its email"
    )


def _check_tracked(
    ledger: Ledger,
    rows: dict[str, dict[str, Any]],
    adviser_rows: dict[str, dict[str, Any]],
    adviser_id: str,
    findings: Findings,
) -> None:
    lost, missing_rows, stale_rows = 0, 0, 0
    for customer_id, assignees in ledger.assignees.items():
        if customer_id in ledger.unknown:
            continue
        row = rows.get(customer_id)
        ended = customer_id in ledger.ended
        wrong_section = row is None or (row["section"] == ENDED) != ended
        lost += wrong_section or (not ended and set(row["assignee_ids"]) != assignees)  # type: ignore[index]
        if not ended:
            seen = customer_id in adviser_rows
            missing_rows += adviser_id in assignees and not seen
            stale_rows += adviser_id not in assignees and seen
    findings.found("lost", lost, "customers whose row does not show their last 2xx change")
    findings.found("lost", missing_rows, "customers assigned to the adviser missing from their list")
    findings.found("duplicated", stale_rows, "customers still on the adviser's list after their unassignment")


def _check_jobs(ledger: Ledger, findings: Findings) -> None:
    client = dynamodb_client()
    missing = 0
    for job_id in sorted(ledger.jobs):
        key = to_item({"PK": keys.refresh_job_pk(DEMO_FIRM.firm_id, job_id), "SK": keys.REFRESH_JOB})
        missing += "Item" not in client.get_item(TableName=DATA_TABLE, Key=key, ConsistentRead=True)
    findings.found("lost", missing, "refresh jobs answered 202 that are not stored")


def _check_engagements(findings: Findings) -> None:
    """The firm's Data Refresh rows (#38): one per customer."""
    rows = _index_items(keys.refresh_rows_gsi1pk(DEMO_FIRM.firm_id, None))
    listed = Counter(row["customer_id"] for row in rows)
    findings.found("duplicated", sum(n - 1 for n in listed.values()), "customers with two Data Refresh rows")


def _read_scope(staff_id: str | None, sections: tuple[str, ...], findings: Findings) -> _Scope:
    """Every row on each section's index and the scope's counters, read again while the counters move."""
    customers = CustomersRepository(DATA_TABLE)
    for _ in range(SETTLE_READS):
        before = customers.counts(DEMO_FIRM.firm_id, staff_id)
        rows = {s: _index_items(keys.section_gsi1pk(DEMO_FIRM.firm_id, s, staff_id)) for s in sections}
        if customers.counts(DEMO_FIRM.firm_id, staff_id) == before:
            break
    else:
        findings.notes.append(
            f"  the counters of {staff_id or 'the firm'} kept moving ({SETTLE_READS} reads)"
        )
    return _Scope(before, rows)


def _index_items(partition: str) -> list[dict[str, Any]]:
    pages = query_pages(
        DATA_TABLE,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues=to_item({":pk": partition}),
        ProjectionExpression="customer_id, email, assignee_ids, #section",  # fewer pages of 1 MB
        ExpressionAttributeNames={"#section": "section"},
    )
    return [item for page in pages for item in page]
