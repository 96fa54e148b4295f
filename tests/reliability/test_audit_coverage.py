"""Audit coverage (issue 17 items 2 and 3), generated from the routes and the data model.

Every route of infra/spec.py is called by every kind of caller the role matrix allows on it
(tests/reliability/test_role_matrix.py RULES), each case from the same world (matrix_support):

- a change: a call after which any item of the firm's data changed (compared item by item in moto's
  tables, whatever the route's method: a GET callback that completes a connection counts) must have
  written at least one audit event. Only what `NOT_FIRM_DATA` lists is not a firm's record and needs
  none (a person's own read marks and preferences, counters of spent budget, caches).
- a change written apart from its event (issue 17 item 3): every write of a firm's record (PutItem,
  UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, seen in botocore's calls) must be a
  TransactWriteItems that holds an audit Put, so that the change and its event are one write; a
  record changed by a write of its own, its event recorded before or after, is counted with the
  unaudited changes. (`NOT_FIRM_DATA` and the idempotency records need no event, as above;
  `WRITTEN_APART` says which items may be written in a write of their own, and why.)
- a read of bank data: a 2xx GET whose response schema (the OpenAPI document the code serves) holds
  an amount, a balance, a client file's contents or an export's download link, answered to a staff
  member, must have written an audit event of the read (`read.…`): who, which customer, what, how
  many rows. A new route returning such fields is covered without editing this file.

`BAR privacy: unaudited_changes=…, unaudited_reads=…` (summed into the one privacy line).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from infra.spec import ROUTES
from shared.domain.audit import AuditKind, kind_of
from tests.bars import SUM_KEY
from tests.integration.aggregator_sandboxes import sandboxes
from tests.reliability.matrix_support import (
    BODIES,
    Checkpoint,
    build_world,
    key,
    matrix_directory,
)
from tests.reliability.matrix_support import (
    request as call,
)
from tests.reliability.test_role_matrix import ROLES, RULES

__all__ = ["matrix_directory", "sandboxes"]

# Items that are not a firm's record of what happened, by what their keys start with, and why.
NOT_FIRM_DATA = {
    "BUDGET#": "today's requests spent per provider account (R-IMP-4): a counter, not a change",
    "RATE#": "a provider's company-wide requests this minute (the GoCardless pace): a counter, not a change",
    "LIMIT#": "an abuse limit's counter (shared/domain/limits.py): what was spent, not a change",
    "NOTIFICATION#": "a person marking their own notification read",
    "DIGEST_PREFERENCE": "a staff member's own email digest preference",
    "EULA#": "a person's acceptance of a EULA version: their own append-only record (put only if absent); "
    "each firm they are a customer of gets a `customer.eula_accepted` event with it",
    "REFRESH#ROW#": "the Data Refresh dashboard's rows: a projection rewritten from the customer and "
    "connection records, whose changes are audited themselves",
}
# Firm-side items that a request may write in a write of their own (no audit Put in it), and why.
WRITTEN_APART = {
    "PROFILE": "a person's own sign-in profile, put once if absent after an accepted invitation (whose "
    "event is in the acceptance's transaction): a put-if-absent cannot ride on that transaction, where a "
    "failed condition would cancel the acceptance, and the profile belongs to no firm",
    "NOTICE_EVENT#": "a staff member's once-only marker of a notice about a change, written with the "
    "notice after the change and its event: a message, not a change",
}
# A relationship's end (issue 17) is one small transaction carrying `relationship.ended`; the customer's
# derived rows it leaves (search entries #56, the Data Refresh search, the advisers' rows and their
# counters) are then removed in idempotent batches, too many for one transaction: consequences of that
# audited change, allowed apart only AFTER it in the same request, and only for these rows.
END_EVENT = "relationship.ended"
# (partition key prefix, partition key suffix, sort key prefix) of each row, and why it is one.
END_CLEANUP = {
    ("FIRM#", "#CUSTOMER_FIND", ""): "the name/email search index",
    ("FIRM#", "#REFRESH_FIND", ""): "the Data Refresh dashboard's search index",
    ("FIRM#", "", "STAFF#"): "an adviser's row of the customer",
    ("FIRM#", "", "COUNTS#STAFF#"): "an adviser's counters",
    ("FIRM#", "", "REFRESH_PACKAGES#"): "the Data Refresh dashboard's package counts",
    ("USER#", "", "CUSTOMER#"): "the person's link to the customer record, removed last",
}


def _end_cleanup(pk: str, sk: str) -> bool:
    return any(
        pk.startswith(pk_prefix) and pk.endswith(pk_suffix) and sk.startswith(sk_prefix)
        for pk_prefix, pk_suffix, sk_prefix in END_CLEANUP
    )


# Response fields that make a GET a read of bank data or of a client file's contents.
READ_FIELDS = {"amount", "balance", "patrimony", "donations", "documents", "download_url"}


def _tables() -> Iterator[Any]:
    from moto.dynamodb.models import dynamodb_backends

    from local.fake_aws import ACCOUNT_ID, REGION

    yield from dynamodb_backends[ACCOUNT_ID][REGION].tables.values()


def state() -> tuple[dict[tuple[str, str, str], str], list[dict[str, Any]]]:
    """The firms' data (every table but the idempotency records), and the audit events."""
    data: dict[tuple[str, str, str], str] = {}
    events: list[dict[str, Any]] = []
    for table in _tables():
        if table.name == "idempotency":
            continue
        for item in table.all_items():
            if table.name == "audit":
                events.append(item.to_json()["Attributes"])
                continue
            pk, sk = str(item.hash_key.value), str(item.range_key.value if item.range_key else "")
            if any(pk.startswith(p) or sk.startswith(p) for p in NOT_FIRM_DATA):
                continue
            data[(table.name, pk, sk)] = repr(item)
    return data, events


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def _written(operation: str, params: dict[str, Any]) -> tuple[list[tuple[str, str, str]], bool]:
    """The items (table, PK, SK) a write names, and whether it writes an audit event with them."""
    if operation == "BatchWriteItem":
        requests = [(t, r) for t, rs in params["RequestItems"].items() for r in rs]
        named = [
            (t, (r.get("PutRequest") or {}).get("Item") or r["DeleteRequest"]["Key"]) for t, r in requests
        ]
        return [(t, item["PK"]["S"], item.get("SK", {}).get("S", "")) for t, item in named], False
    if operation == "TransactWriteItems":
        parts = [next(iter(i.items())) for i in params["TransactItems"]]
        audited = any(kind == "Put" and spec["TableName"] == "audit" for kind, spec in parts)
        named = [
            (spec["TableName"], spec.get("Item") or spec["Key"])
            for kind, spec in parts
            if kind != "ConditionCheck"
        ]
    else:
        audited, named = False, [(params["TableName"], params.get("Item") or params["Key"])]
    return [(t, item["PK"]["S"], item.get("SK", {}).get("S", "")) for t, item in named], audited


def _firm_record(table: str, pk: str, sk: str) -> bool:
    """A firm's record that needs its event in its own write (not exempted above)."""
    return table not in ("audit", "idempotency") and not any(
        pk.startswith(p) or sk.startswith(p) for p in (*NOT_FIRM_DATA, *WRITTEN_APART)
    )


@contextmanager
def writes_apart_from_an_event() -> Iterator[list[str]]:
    """The firm's records that our code writes (while inside) with no audit event in the same write."""
    from shared.adapters.aws_clients import aws_client

    apart: list[str] = []
    ended = False  # this request wrote a relationship's end (END_CLEANUP may follow it)

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        nonlocal ended
        items, audited = _written(model.name, params)
        if audited:
            ended = ended or END_EVENT in json.dumps(params.get("TransactItems", []))
            return
        apart.extend(
            f"{model.name} {pk} {sk}"
            for table, pk, sk in items
            if _firm_record(table, pk, sk) and not (ended and _end_cleanup(pk, sk))
        )

    events = aws_client("dynamodb").meta.events
    for operation in WRITES:
        events.register(f"before-parameter-build.dynamodb.{operation}", note)
    try:
        yield apart
    finally:
        for operation in WRITES:
            events.unregister(f"before-parameter-build.dynamodb.{operation}", note)


def _fields(schema: Any, components: dict[str, Any], seen: set[str]) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if ref and ref not in seen:
            seen.add(ref)
            found |= _fields(components[ref.split("/")[-1]], components, seen)
        for name, sub in schema.get("properties", {}).items():
            found |= {name} | _fields(sub, components, seen)
        for part in ("items", "additionalProperties", "anyOf", "allOf", "oneOf"):
            sub = schema.get(part)
            for one in sub if isinstance(sub, list) else [sub]:
                found |= _fields(one, components, seen)
    return found


def reads_of_bank_data() -> set[str]:
    """The GET routes whose answer holds bank data or a file's contents, from the served document.
    A person's own views (`/me/...`: their own accounts, as a customer of any firm) are theirs, not a
    customer's data read by staff: not audited (README, The audit log)."""
    from tools.openapi import build_document

    document = build_document()
    components = document["components"]["schemas"]
    found = set()
    for route in ROUTES:
        operation = document["paths"].get(route.path, {}).get(route.method.lower())
        if route.method != "GET" or operation is None or route.path.startswith("/me/"):
            continue
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        if _fields(ok.get("schema", {}), components, set()) & READ_FIELDS:
            found.add(key(route))
    return found


def test_every_change_and_every_staff_read_of_bank_data_is_audited(
    sandboxes: Any, matrix_directory: Any, request: pytest.FixtureRequest
) -> None:
    reads = reads_of_bank_data()
    assert {"GET /customers/{customer_id}/transactions", "GET /files/{file_id}"} <= reads, reads
    world = build_world(sandboxes)
    checkpoint = Checkpoint(sandboxes)
    a = world.a
    unaudited_changes: list[str] = []
    unaudited_reads: list[str] = []
    changes = staff_reads = 0
    unlisted: set[str] = set()  # actions whose kind GET /audit?kind= does not know
    for route in ROUTES:
        k = key(route)
        for role in ROLES:
            if not RULES[k](role):
                continue
            before, events_before = state()
            body = BODIES[k](a) if k in BODIES else None
            with writes_apart_from_an_event() as apart:
                answer = call(route, role.person, path_parameters=a.path_parameters(route), body=body)
            after, events_after = state()
            written = [e for e in events_after if e not in events_before]
            unlisted |= {e["action"]["S"] for e in written if kind_of(e["action"]["S"]) not in set(AuditKind)}
            label = f"{role.name} {k}: {answer.status}"
            if after != before:
                changes += 1
                if not written:
                    changed = sorted(set(after.items()) ^ set(before.items()))[:3]
                    unaudited_changes.append(f"{label} changed {[c[0] for c in changed]}")
                elif apart:
                    unaudited_changes.append(f"{label} wrote apart from its event: {sorted(set(apart))[:3]}")
            if answer.ok and k in reads and role.staff_role is not None:
                staff_reads += 1
                if not any(e.get("action", {}).get("S", "").startswith("read.") for e in written):
                    unaudited_reads.append(label)
            if after != before or written:
                checkpoint.restore()
    figures = {"unaudited_changes": len(unaudited_changes), "unaudited_reads": len(unaudited_reads)}
    request.node.user_properties.append((SUM_KEY, ["privacy", figures]))
    print(json.dumps({"changes": changes, "staff_reads": staff_reads, **figures}))
    assert changes > 50 and staff_reads > 5, (changes, staff_reads)  # the world exercised them
    assert not unlisted, sorted(unlisted)
    assert not unaudited_changes, "\n".join(unaudited_changes)
    assert not unaudited_reads, "\n".join(unaudited_reads)
