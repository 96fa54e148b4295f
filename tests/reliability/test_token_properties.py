"""Invitation tokens (R-INV-2, R-ACC-3): unique, never stored in plaintext, single use, dead after expiry.

Customer invitations and client-file invitations are two mechanisms (their own items, indexes and
routes) over one token function, `shared.domain.customers.new_token` (256 random bits, SHA-256
stored). What this test does:

- collisions: 10,000 tokens from `new_token` and 10,000 GoCardless callback references from
  `new_reference` (the other single-use secret we mint): no token, reference or hash repeats;
- second use and expiry, through the API routes (`invitations_api`, `access_api`) on a sample of
  30 customer and 30 file invitations (61 emailed tokens with one resend): 10 of each kind are
  accepted, then accepted again (by the same person and by someone else) and verified again; 10
  are tried at their exact expiry instant (the clock of the ports the routes use is moved) and 10
  one second before it, which must work. The token a resend replaced is tried too. Second uses,
  expired and replaced tokens accepted: 0;
- plaintext at rest: once everything is sent, and again once every acceptance is done, every
  attribute of every item of the data and idempotency tables (keys, nested maps, lists and sets)
  is scanned for any token the emails carried: none found. As a check that the scan sees them,
  every live token's SHA-256 is found at rest.
Storing thousands of invitations through the real write path is not possible here: moto copies
every table for each TransactWriteItems, so the cost grows with the table; uniqueness is a
property of the token function, checked on 10,000.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from functions.invitations_api import handler as invitations
from infra.spec import TABLES
from local.demo_data import DEMO_FIRM
from local.outbox import sent_emails
from shared import bootstrap
from shared.domain.connections import new_reference
from shared.domain.customers import new_token
from shared.domain.files import Subject, SubjectType
from tests.integration.file_access_support import FileWorld, api, new_file, seed_staff
from tests.integration.onboarding_support import ADMIN, Person, call

GENERATED = 10_000
SAMPLE = 10  # per kind and per case: used, at expiry, just before expiry
INVALID = "invitation_invalid"


@dataclass(frozen=True)
class Invited:
    person: Person
    token: str
    subject_id: str  # customer id, or the file member's id


def links_by_recipient() -> dict[str, list[str]]:
    """Every emailed token, by recipient, oldest first (one pass over the outbox)."""
    tokens: dict[str, list[str]] = {}
    for email in sent_emails():
        for link in email.links:
            token = parse_qs(urlparse(link).query).get("token")
            if token:
                for to in email.to:
                    tokens.setdefault(to, []).append(token[0])
    return tokens


def stored_strings() -> Iterator[str]:
    """Every attribute value (keys included, nested maps, lists and sets walked) of every item of
    every table infra/spec.py declares (also what the privacy figures search, e.g. for tokens)."""
    client = boto3.client("dynamodb")

    def walk(value: dict[str, Any]) -> Iterator[str]:
        for kind, inner in value.items():
            if kind in ("S", "N"):
                yield inner
            elif kind == "B":
                yield bytes(inner).decode("latin-1")
            elif kind in ("SS", "NS"):
                yield from inner
            elif kind == "BS":
                yield from (bytes(item).decode("latin-1") for item in inner)
            elif kind == "L":
                for item in inner:
                    yield from walk(item)
            elif kind == "M":
                for name, item in inner.items():
                    yield name
                    yield from walk(item)

    for spec in TABLES.values():
        for page in client.get_paginator("scan").paginate(TableName=os.environ[spec.env]):
            for item in page["Items"]:
                for name, value in item.items():
                    yield name
                    yield from walk(value)


def accept_customer(person: Person, token: str) -> tuple[int, Any]:
    return call(invitations, "POST", "/invitations/accept", person, body={"token": token})


def accept_file(person: Person, token: str) -> tuple[int, Any]:
    return api("POST", "/file-invitations/accept", person, body={"token": token})


def verify_customer(token: str) -> tuple[int, Any]:
    return call(invitations, "POST", "/invitations/verify", None, body={"token": token})


def verify_file(token: str) -> tuple[int, Any]:
    return api("POST", "/file-invitations/verify", None, body={"token": token})


def refused(answer: tuple[int, Any]) -> bool:
    status, body = answer
    return status == 404 and isinstance(body, dict) and body.get("code") == INVALID


@pytest.fixture
def world(aws) -> FileWorld:
    seed_staff()
    return new_file()


def invite_customers_through_api(count: int, prefix: str) -> list[Invited]:
    people = [Person(f"{prefix}-{n}-sub", f"{prefix}.{n}@example.org") for n in range(count)]
    customer_ids = []
    for person in people:
        status, customer = call(
            invitations, "POST", "/customers/invitations", ADMIN, body={"name": "Sam", "email": person.email}
        )
        assert status == 201, customer
        customer_ids.append(customer["customer_id"])
    sent = links_by_recipient()
    return [Invited(p, sent[p.email][-1], c) for p, c in zip(people, customer_ids, strict=True)]


def invite_file_grantees_through_api(world: FileWorld, count: int, prefix: str) -> list[Invited]:
    people = [Person(f"{prefix}-{n}-sub", f"{prefix}.{n}@example.org") for n in range(count)]
    member_ids = []
    for n, person in enumerate(people):
        member_ids.append(world.add_member(f"{prefix} {n}", "child"))
        status, grant = world.grant_member(f"{prefix} {n}", person, "read_only")
        assert status == 200, grant
    sent = links_by_recipient()
    return [Invited(p, sent[p.email][-1], m) for p, m in zip(people, member_ids, strict=True)]


def at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The routes' ports read this clock (both kinds of invitation)."""
    monkeypatch.setattr(bootstrap.onboarding(), "clock", lambda: moment)
    monkeypatch.setattr(bootstrap.file_access(), "clock", lambda: moment)


def test_tokens_are_unique_hashed_at_rest_single_use_and_expire(world, monkeypatch, bar):
    # ---- collisions: the real token functions, 10,000 each
    tokens = [new_token() for _ in range(GENERATED)]
    references = [new_reference() for _ in range(GENERATED)]
    collisions = (GENERATED - len({t for t, _ in tokens})) + (GENERATED - len({h for _, h in tokens}))
    collisions += (GENERATED - len({r for r, _ in references})) + (
        GENERATED - len({h for _, h in references})
    )
    collisions += len({t for t, _ in tokens} & {r for r, _ in references})
    assert all(hashlib.sha256(t.encode()).hexdigest() == h for t, h in tokens)
    shortest = min(len(t) for t, _ in tokens + references)

    # ---- the API sample: invitations of both kinds
    customers = invite_customers_through_api(3 * SAMPLE, "cust")
    grantees = invite_file_grantees_through_api(world, 3 * SAMPLE, "kin")
    # a resend replaces a token: the first one is then dead
    replaced = customers[0].token
    status, _ = call(
        invitations,
        "POST",
        "/customers/{customer_id}/invitation/resend",
        ADMIN,
        path_parameters={"customer_id": customers[0].subject_id},
    )
    assert status == 200
    customers[0] = Invited(customers[0].person, links_by_recipient()[customers[0].person.email][-1], "")

    # ---- plaintext at rest: every token any email carried, against every stored attribute
    emailed = [token for sent in links_by_recipient().values() for token in sent]
    assert len(emailed) == 6 * SAMPLE + 2  # + the resend, + the invitation of the file's customer
    at_rest = "\n".join(stored_strings())
    plaintext_at_rest = sum(token in at_rest for token in emailed)
    latest = [sent[-1] for sent in links_by_recipient().values()]
    hashes_at_rest = sum(hashlib.sha256(token.encode()).hexdigest() in at_rest for token in latest)
    assert hashes_at_rest == len(latest)  # the scan does see every live invitation

    # ---- second use: accept, accept again (same person, someone else), verify again
    second_use = 0
    first_use_refused = 0
    used = 0
    for sample, accept, verify in (
        (customers[:SAMPLE], accept_customer, verify_customer),
        (grantees[:SAMPLE], accept_file, verify_file),
    ):
        for invited in sample:
            first_use_refused += accept(invited.person, invited.token)[0] != 200
            used += 1
            intruder = Person(f"{invited.person.sub}-other", f"other.{invited.person.email}")
            again = [
                accept(invited.person, invited.token),
                accept(intruder, invited.token),
                verify(invited.token),
            ]
            second_use += sum(not refused(answer) for answer in again)
    replaced_accepted = sum(
        not refused(answer)
        for answer in (accept_customer(customers[0].person, replaced), verify_customer(replaced))
    )

    # ---- expiry: each invitation at its own expiry instant is refused; one second before, it works
    expired = expired_tried = before_expiry_refused = 0
    for sample, expiry_of, accept, verify in (
        (customers, customer_expiry, accept_customer, verify_customer),
        (grantees, lambda invited: grant_expiry(world, invited.subject_id), accept_file, verify_file),
    ):
        for invited in sample[SAMPLE : 2 * SAMPLE]:
            at(expiry_of(invited), monkeypatch)
            answers = (accept(invited.person, invited.token), verify(invited.token))
            expired += sum(not refused(answer) for answer in answers)
            expired_tried += 1
        for invited in sample[2 * SAMPLE :]:
            at(expiry_of(invited) - timedelta(seconds=1), monkeypatch)
            before_expiry_refused += accept(invited.person, invited.token)[0] != 200

    at_rest = "\n".join(stored_strings())
    plaintext_at_rest += sum(token in at_rest for token in emailed)

    bar(
        "tokens",
        generated=GENERATED,
        references=GENERATED,
        min_length=shortest,
        collisions=collisions,
        stored=len(emailed),
        plaintext_at_rest=plaintext_at_rest,
        used=used,
        second_use=second_use,
        replaced_accepted=replaced_accepted,
        expired_tried=expired_tried,
        expired=expired,
        before_expiry_refused=before_expiry_refused,
    )
    assert collisions == 0
    assert shortest >= 43  # 256 bits as URL-safe base64
    assert plaintext_at_rest == 0
    assert first_use_refused == 0  # the sample is real: every first use works
    assert second_use == 0
    assert replaced_accepted == 0
    assert expired == 0
    assert before_expiry_refused == 0  # the expiry is the instant itself, not earlier


def customer_expiry(invited: Invited) -> datetime:
    customer = bootstrap.onboarding().customers.get(DEMO_FIRM.firm_id, invited.subject_id)
    assert customer is not None
    return customer.invitation.expires_at


def grant_expiry(world: FileWorld, member_id: str) -> datetime:
    grant = bootstrap.file_access().grants.get_grant(
        DEMO_FIRM.firm_id, world.file_id, Subject(SubjectType.MEMBER, member_id)
    )
    assert grant is not None and grant.invitation is not None
    return grant.invitation.expires_at
