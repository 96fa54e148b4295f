"""The data lifecycle's figures (issue 17 item 1, R-PRIV-2, R-PRIV-3), on the populated world of the
matrices (tests/reliability/matrix_support.py): firm A's customer with a file and grantees, a
connection, accounts, bank lines, a refresh job, an export, notifications, tokens; the same person is
also a customer of firm B, with a connection and an accepted account there.

- `reads_after_relationship_end`: every GET route of infra/spec.py ROUTES that reads the customer's
  data (derived: one of its path parameters names the customer, or an object stored in the customer's
  collections or naming the customer as its own) is called, after firm A removed the customer, by
  each non-admin staff member who read it before (they must get 404), and after the erasure by the
  admin (404 too). The figure counts the 2xx answers: 0.
- `items_left_after_erasure`: after the admin approved an erasure request and the erasure worker
  ran, every item of every table and every object of the export bucket is scanned, every attribute
  walked, for the customer's id, the person's email (or its SHA-256) and name; only audit events
  (ids only, checked here) and what belongs to firm B's copy of the person or to the person's own
  sign-in record are not counted. The figure counts the rest: 0. Firm B's copy is the same before
  and after.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra.spec import BUCKETS, ROUTES, TABLES, Route
from shared.adapters.dynamodb import keys
from shared.domain.customers import email_fingerprint
from shared.settings import get_settings
from tests.bars import SUM_KEY
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.onboarding_support import Person, invitation_tokens
from tests.integration.test_connections import approve_at_gocardless, callback
from tests.integration.test_imports import BANK
from tests.integration.test_refresh_dashboard import pump
from tests.reliability.matrix_support import (
    FIRM_A,
    FirmWorld,
    _ok,
    build_world,
    handler,
    key,
    matrix_directory,
)
from tests.reliability.matrix_support import request as call

__all__ = ["matrix_directory", "sandboxes"]

END = "POST /customers/{customer_id}/end-relationship"
REQUEST = "POST /customers/{customer_id}/erasure-request"
APPROVE = "POST /customers/{customer_id}/erasure-request/approve"


def scanned() -> list[tuple[str, dict[str, Any]]]:
    """Every item of every table of infra/spec.py, through the API (a Scan: a test's view)."""
    client = boto3.client("dynamodb")
    found = []
    for spec in TABLES.values():
        name = getattr(get_settings(), spec.env.lower())
        for page in client.get_paginator("scan").paginate(TableName=name):
            found += [(name, item) for item in page["Items"]]
    return found


def strings(value: Any) -> list[str]:
    """Every string in an item, at any depth (attribute names and values, keys included)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [str(value)]


def mentions(item: dict[str, Any], markers: set[str]) -> bool:
    return any(marker in text for text in strings(item) for marker in markers)


def objects() -> list[tuple[str, str]]:
    """(key, text) of every object of every bucket of infra/spec.py."""
    s3 = boto3.client("s3")
    found = []
    for spec in BUCKETS.values():
        bucket = getattr(get_settings(), spec.env.lower())
        for listed in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read().decode("utf-8", "replace")
            found.append((listed["Key"], body))
    return found


def reads_customer_data(
    route: Route, world: FirmWorld, customer_id: str, items: list[dict[str, Any]]
) -> bool:
    """A GET whose path names the customer, or an object whose own item (its key names it) is stored
    in the customer's collections (#104) or names the customer (`customer_id`): derived from the
    data model, not listed."""
    return route.method == "GET" and names_customer_data(route, world, {customer_id}, items)


def names_customer_data(
    route: Route, world: FirmWorld, customer_ids: set[str], items: list[dict[str, Any]], body: Any = None
) -> bool:
    """Whether a path parameter of `route` (filled from `world`) names one of the customers, or an
    object whose own item (its key names it) is stored in their collections (#104) or names one of
    them (`customer_id`), or whether its `body` names one of them. A staff member's view of a
    customer (a visibility row #13 or a Data Refresh row #37, keyed by that staff member) and a
    person's partition (their notification about the customer) are theirs: the staff member's or
    person's id in their keys is not an object of the customer. Derived from the data
    model, not listed."""
    collections = [keys.customer_collection_pk(world.firm_id, c) for c in customer_ids]
    projections = (keys.visibility_sk(""), keys.REFRESH_ROW_PREFIX)

    def key_of(item: dict[str, Any]) -> str:
        return str(item.get("PK", {}).get("S", "")) + "|" + str(item.get("SK", {}).get("S", ""))

    def own_key(item: dict[str, Any]) -> str:
        """The item's key but a person's partition (USER#<sub>: the key names the person it is for)."""
        partition = str(item.get("PK", {}).get("S", ""))
        return key_of(item).removeprefix(partition if partition.startswith(keys.user_pk("")) else "")

    own = [
        own_key(i)
        for i in items
        if not str(i.get("SK", {}).get("S", "")).startswith(projections)
        and (
            any(key_of(i).startswith(c) for c in collections)
            or i.get("customer_id", {}).get("S") in customer_ids
        )
    ]
    named = [v for v in world.path_parameters(route).values() if v != world.firm_id]
    in_body = body is not None and any(c in json.dumps(body) for c in customer_ids)
    return in_body or any(v in customer_ids or any(v in item_key for item_key in own) for v in named)


def same_person_at_firm_b(world: Any, sandboxes: Any, person: Person, name: str) -> str:
    """Firm B invites the person who is firm A's customer; they accept, connect a bank there and B's
    admin accepts an account: firm B's copy of the same person."""
    b = world.b.people
    created = _ok("POST /customers/invitations", b.owner, body={"name": name, "email": person.email})
    _ok("POST /invitations/accept", person, body={"token": invitation_tokens(person.email)[-1]})
    body = {"provider": "gocardless", "institution_id": BANK, "firm_id": world.b.firm_id}
    started = _ok("POST /connections", person, body=body)
    assert callback(approve_at_gocardless(sandboxes, started["consent_url"])) == "linked"
    on_customer = {"customer_id": created["customer_id"]}
    accounts = _ok("GET /customers/{customer_id}/accounts", b.admin, path_parameters=on_customer)
    account = {**on_customer, "account_id": accounts["new_accounts"][0]["account_id"]}
    _ok("POST /customers/{customer_id}/accounts/{account_id}/accept", b.admin, path_parameters=account)
    return str(created["customer_id"])


def test_reads_stop_at_the_end_and_erasure_leaves_nothing_but_the_other_firms_copy(
    sandboxes, bar, matrix_directory, request: pytest.FixtureRequest
):
    world = build_world(sandboxes)
    a = world.a
    person = FIRM_A.customer
    customer_id = a.ids["customer"]
    name = _ok("GET /customers/{customer_id}", FIRM_A.admin, path_parameters={"customer_id": customer_id})[
        "name"
    ]
    b_customer = same_person_at_firm_b(world, sandboxes, person, name)
    items = [item for _, item in scanned()]
    routes = [r for r in ROUTES if reads_customer_data(r, a, customer_id, items)]
    assert {"GET /customers/{customer_id}/transactions", "GET /files/{file_id}"} <= {key(r) for r in routes}

    # each route's non-admin readers before the end (the owner, the assigned adviser, as each may)
    staff = (FIRM_A.owner, FIRM_A.assigned)
    readers = {key(r): [p for p in staff if _reads(r, p, a)] for r in routes}
    assert all(readers.values()), f"routes no adviser read before the end prove nothing: {readers}"
    on_customer = {"customer_id": customer_id}
    _ok(END, FIRM_A.admin, path_parameters=on_customer)
    after_end = [f"{p.email} {key(r)}" for r in routes for p in readers[key(r)] if _reads(r, p, a)]
    retained = [key(r) for r in routes if _reads(r, FIRM_A.admin, a)]
    assert retained, "the admin reads nothing the firm retains"

    b_copy_before = _b_copy(world.b.firm_id, b_customer)
    personal = {person.email, email_fingerprint(person.email), name}
    before, _ = personal_items(customer_id, personal, world.b.firm_id, b_customer, a.firm_id)
    _ok(REQUEST, FIRM_A.admin, path_parameters=on_customer)
    _ok(APPROVE, FIRM_A.admin, path_parameters=on_customer)
    assert pump("erasures", handler("erasure_worker")), "no erasure job was queued"
    after_erasure = [f"admin {key(r)}" for r in routes if _reads(r, FIRM_A.admin, a)]
    reads_after_end = len(after_end) + len(after_erasure)

    left, audit_with_personal_data = personal_items(
        customer_id, personal, world.b.firm_id, b_customer, a.firm_id
    )
    b_copy_after = _b_copy(world.b.firm_id, b_customer)

    figures = {"reads_after_relationship_end": reads_after_end, "items_left_after_erasure": len(left)}
    request.node.user_properties.append((SUM_KEY, ["privacy", figures]))
    bar(
        "lifecycle",
        routes=len(routes),
        reads_probed=sum(len(people) for people in readers.values()),
        retained_for_admins=len(retained),
        items_scanned=len(items),
        personal_items_before_erasure=len(before),
        audit_events_with_personal_data=len(audit_with_personal_data),
        other_firm_copy_items=len(b_copy_after),
    )
    assert len(before) > 20, "the customer had few items: the erasure proves little"
    assert not left, "\n".join(left)
    assert not after_end, "\n".join(after_end)
    assert not after_erasure, "\n".join(after_erasure)
    assert not audit_with_personal_data, "\n".join(audit_with_personal_data)
    assert b_copy_after == b_copy_before and b_copy_after, "firm B's copy of the person changed"


def personal_items(
    customer_id: str, personal: set[str], b_firm: str, b_customer: str, a_firm: str
) -> tuple[list[str], list[str]]:
    """The items and objects that hold the customer's id or a `personal` marker (email, its hash,
    name), but audit events (ids only: those holding a personal marker are listed apart), firm B's
    copy and sign-in records."""
    markers = {customer_id, *personal}
    found, audit = [], []
    for table, item in scanned():
        if not mentions(item, markers):
            continue
        if table == get_settings().audit_table_name:  # the audit log's own table
            if mentions(item, personal):
                audit.append(str(item)[:200])
            continue
        if _b_owned(item, b_firm, b_customer) or _sign_in_record(item, a_firm) or _address_counter(item):
            continue
        found.append(f"{table}: {str(item)[:300]}")
    found += [f"s3 {k}" for k, text in objects() if any(m in k or m in text for m in markers)]
    return found, audit


def _reads(route: Route, person: Person, world: FirmWorld) -> bool:
    answer = call(route, person, path_parameters=world.path_parameters(route))
    assert answer.status < 500, (key(route), answer)
    return answer.ok


def _b_owned(item: dict[str, Any], b_firm: str, b_customer: str) -> bool:
    return mentions(item, {b_firm, b_customer})


def _address_counter(item: dict[str, Any]) -> bool:
    """An abuse limit's counter of emails to one address (keyed by its SHA-256): no firm's record but
    the platform's, shared by every firm that emails the address (erasing it at one firm's request
    would lift the limit for all), and gone by its TTL within two days of its window."""
    return str(item.get("PK", {}).get("S", "")).startswith(keys.limit_pk("emails_per_address", "", 0)[:-2])


def _sign_in_record(item: dict[str, Any], a_firm: str) -> bool:
    """A person's own record that names no firm-A data (their profile, EULA acceptances): the
    person's, kept for their other firms (and another person of the same name has one too)."""
    partition = str(item.get("PK", {}).get("S", ""))
    return partition.startswith(keys.user_pk("")) and not mentions(item, {a_firm})


def _b_copy(b_firm: str, b_customer: str) -> dict[str, str]:
    return {
        str(item.get("PK")) + str(item.get("SK")): str(item)
        for _, item in scanned()
        if _b_owned(item, b_firm, b_customer)
    }
