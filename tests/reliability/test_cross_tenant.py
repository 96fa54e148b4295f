"""Cross-tenant matrix (issue 8, R-ROLE-1): firm B's callers use firm A's ids on every route.

Every route of infra/spec.py that a signed-in caller reaches is called by firm B's people (staff
routes: B's admin and an adviser; file routes: those and a B file grantee; the customer's routes: B's
customer and a grantee) with firm A's ids: in the path (all of A's, and B's parent with A's child),
in the query string and in bodies that name a tenant object. For each call:
- leaked: the response holds none of A's data (A's ids other than those sent, people, names);
- applied: A's stored items are unchanged (compared with the snapshot taken before);
- distinguishable: the answer (status and raw body) is byte-identical to the same call with a
  random id that exists nowhere, so another tenant's id cannot be told from a missing one.
A control call with B's own ids must succeed for at least one caller of every route, so that each
refusal is about the tenant and not a malformed probe.
"""

from __future__ import annotations

import os
import random
import re
import string
from dataclasses import dataclass
from typing import Any

import boto3

from infra.spec import ROUTES, Route
from shared.adapters.export_files import object_key
from tests.integration.aggregator_sandboxes import sandboxes
from tests.integration.onboarding_support import Person
from tests.integration.test_refresh_dashboard import pump
from tests.reliability.matrix_support import (
    BODIES,
    FIRM_B,
    QUERY_OBJECTS,
    ROUTE_BY_KEY,
    RULE,
    Answer,
    Checkpoint,
    FirmWorld,
    World,
    build_world,
    dependencies,
    handler,
    items_of,
    key,
    matrix_directory,
    params,
    request,
    undeclared,
)

__all__ = ["matrix_directory", "sandboxes"]

# Bodies that name a tenant object: the object, and the body that names it.
BODY_OBJECTS = {
    "POST /data-refresh/jobs": ("customer", lambda object_id: {"engagement_ids": [object_id]}),
    # another firm's ledger account is an unknown code (400 unknown_ledger_account, like a made-up one)
    "POST /assignment-rules": ("ledger_account", lambda object_id: {**RULE, "ledger_account": object_id}),
    "POST /customers/{customer_id}/accounts/{account_id}/link": (
        "bank_ledger",
        lambda object_id: {"ledger_account": object_id},
    ),
    "POST /customers/{customer_id}/lines/{line_id}/assign": (
        "ledger_account",
        lambda object_id: {"ledger_account": object_id},
    ),
    "POST /customers/{customer_id}/transfer": ("staff_member", lambda object_id: {"owner_id": object_id}),
    "POST /audit/exports": ("customer", lambda object_id: {"customer_id": object_id}),
    "POST /connections": (
        "firm",
        lambda object_id: {
            "provider": "gocardless",
            "institution_id": "DEMOBANK_DMBKGB2L",
            "firm_id": object_id,
        },
    ),
}
# Routes that take no tenant object at all: a token is a bearer capability (the token properties
# suite covers it), a public health/docs route has nothing of a tenant, and a create takes none.
NO_TENANT_OBJECT = {
    "GET /health",
    "GET /openapi.json",
    "GET /docs",
    "POST /invitations/verify",
    "POST /invitations/accept",
    "POST /invitations/create-account",
    "POST /file-invitations/verify",
    "POST /file-invitations/accept",
    "POST /file-invitations/create-account",
    "POST /staff-invitations/verify",
    "POST /staff-invitations/accept",
    "POST /staff-invitations/create-account",
    "POST /staff/invitations",
    "GET /callbacks/gocardless",
    "POST /webhooks/plaid",
    "POST /customers/invitations",
    "POST /ledger-accounts",
    "POST /me/eula",
    "PUT /me/notification-preferences",  # the caller's own digest choice
    "PUT /firm/settings",  # the caller's own firm's retention period
    "POST /me/mfa/confirm",  # the caller's own second factor (our record of what the pool says)
}

# Writes with no id that act on the caller's own items (like a list): probed with none, so A's items
# must be neither in the answer nor changed.
CALLERS_OWN = {"POST /connections/reauthorise"}

_random = random.Random(8)


def lookalike(object_id: str) -> str:
    """An id of the same shape that exists nowhere: letters replaced, digits and separators kept."""
    pool = {c: string.ascii_uppercase if c.isupper() else string.ascii_lowercase for c in object_id}
    return "".join(_random.choice(pool[c].replace(c, "")) if c.isalpha() else c for c in object_id)


def callers(route: Route, b: FirmWorld) -> list[Person]:
    people, needs = b.people, dependencies(route)
    if "current_staff" in needs:
        return [people.admin, people.owner]
    if "current_file_actor" in needs:
        return [people.admin, people.owner, people.grantees["holder_rw"]]
    if "current_principal" in needs:
        return [people.customer, people.grantees["holder_rw"]]
    raise AssertionError(f"{key(route)}: public, with a tenant id: the matrix does not know who calls it")


@dataclass(frozen=True)
class Probe:
    """One call with A's ids (`sent`) and its twin with random ids in their place."""

    route: Route
    user: Person
    path: dict[str, str]
    query: dict[str, str] | None
    body: Any
    sent: dict[str, str]  # A's id -> its random twin

    def call(self, twin: bool = False) -> Answer:
        def swap(value: Any) -> Any:
            if isinstance(value, str):
                return self.sent.get(value, value) if twin else value
            if isinstance(value, dict):
                return {k: swap(v) for k, v in value.items()}
            if isinstance(value, list):
                return [swap(v) for v in value]
            return value

        return request(
            self.route,
            self.user,
            path_parameters=swap(self.path),
            query=swap(self.query),
            body=swap(self.body),
        )


def probes(route: Route, world: World) -> list[Probe]:
    a, b = world.a, world.b
    found: list[Probe] = []
    k = key(route)
    body = BODIES[k](b) if k in BODIES else None
    for user in callers(route, b):
        names = params(route)
        variants = [a.path_parameters(route)] if names else []
        if len(names) > 1:  # B's parent objects, A's object under them
            variants.append({**b.path_parameters(route), names[-1]: a.path_parameters(route)[names[-1]]})
        for path in variants:
            sent = {v: lookalike(v) for n, v in path.items() if v != b.path_parameters(route)[n]}
            found.append(Probe(route, user, path, None, body, sent))
        own = b.path_parameters(route)
        if k in QUERY_OBJECTS:
            query = {name: a.ids[obj] for name, obj in QUERY_OBJECTS[k].items()}
            found.append(Probe(route, user, own, query, body, {v: lookalike(v) for v in query.values()}))
        if k in BODY_OBJECTS:
            obj, make = BODY_OBJECTS[k]
            found.append(Probe(route, user, own, None, make(a.ids[obj]), {a.ids[obj]: lookalike(a.ids[obj])}))
        if (
            not names
            and k not in QUERY_OBJECTS
            and k not in BODY_OBJECTS
            and (route.method == "GET" or k in CALLERS_OWN)
        ):
            found.append(Probe(route, user, {}, None, None, {}))  # a list: none of A's items in it
    return found


def tenant_routes() -> list[Route]:
    return [r for r in ROUTES if key(r) not in NO_TENANT_OBJECT]


def test_every_tenant_route_is_probed():
    """A new route either takes a tenant object the matrix fills, or is declared as taking none."""
    assert undeclared() == []
    unknown = [
        key(r)
        for r in tenant_routes()
        if not params(r)
        and key(r) not in QUERY_OBJECTS
        and key(r) not in BODY_OBJECTS
        and r.method != "GET"
        and key(r) not in CALLERS_OWN
    ]
    assert unknown == [], "write routes without a tenant id: declare them in NO_TENANT_OBJECT"
    assert all(not params(ROUTE_BY_KEY[k]) for k in NO_TENANT_OBJECT)


def _settle(route: Route) -> None:
    """A refresh trigger's work happens in the fan-out, an export's in its worker: run them, so their
    writes are checked too."""
    if route.function == "refresh_api" and route.method == "POST":
        pump("refresh", handler("refresh_fanout_worker"))
    if route.function == "exports_api" and route.method == "POST":
        pump("exports", handler("export_worker"))


def test_firm_b_cannot_read_or_change_firm_a_objects(sandboxes, bar, matrix_directory):
    world = build_world(sandboxes)
    checkpoint = Checkpoint(sandboxes)
    markers = world.a.markers()
    pristine = items_of(world.a, world.b)
    routes = tenant_routes()
    requests = 0
    leaked: list[str] = []
    applied: list[str] = []
    distinguishable: list[str] = []
    controls: dict[str, str | None] = {}
    for route in routes:
        k = key(route)
        for probe in probes(route, world):
            label = f"{k} as {probe.user.sub} path={probe.path} query={probe.query}"
            answer = probe.call()
            _settle(route)
            twin = probe.call(twin=True)
            _settle(route)
            requests += 2
            shown = {m for m in markers if m in answer.body} - set(probe.sent)
            if shown:
                leaked.append(f"{label}: {sorted(shown)} in {answer.body[:300]}")
            now = items_of(world.a, world.b)
            if now != pristine:
                changed = sorted(set(now.items()) ^ set(pristine.items()))
                applied.append(f"{label}: {answer.status} {answer.body[:200]} {changed}")
                checkpoint.restore()
            if route.function in READ_BACK and answer.status == twin.status == 202:
                answer, twin = _job(answer, probe), _job(twin, probe)  # what the job did with the ids
                shown = {m for m in markers if m in answer.body} - set(probe.sent)
                if shown:
                    leaked.append(f"{label}, the job: {sorted(shown)} in {answer.body[:300]}")
                requests += 2
            if (answer.status, answer.body) != (twin.status, twin.body):
                distinguishable.append(
                    f"{label}: {answer.status} {answer.body[:200]} / {twin.status} {twin.body[:200]}"
                )
        controls[k] = _control(route, world, checkpoint)
    bar(
        "cross-tenant",
        routes=len(routes),
        requests=requests,
        leaked=len(leaked),
        applied=len(applied),
        distinguishable_404=len(distinguishable),
    )
    assert not leaked, "\n".join(leaked)
    assert not applied, "\n".join(applied)
    assert not distinguishable, "\n".join(distinguishable)
    # With B's own ids, some B caller succeeds on every route: each refusal above is about the tenant.
    failed_controls = [f"{k}: {refused}" for k, refused in controls.items() if refused]
    assert not failed_controls, "\n".join(failed_controls)


# A job's 202, and where the caller reads what the job did: the route and the id in the answer.
READ_BACK = {
    "refresh_api": ("GET /data-refresh/jobs/{job_id}", "job_id"),
    "exports_api": ("GET /exports/{export_id}", "export_id"),
}


def _job(accepted: Answer, probe: Probe) -> Answer:
    """A trigger answers 202 with a new job id each time: compare the jobs instead, as the caller
    reads them (an export with its CSV file), without what differs by nature (the job's id and times,
    the id that was sent, a download URL's signature)."""
    read_route, id_name = READ_BACK[probe.route.function]
    job_id = accepted.json[id_name]
    read = request(ROUTE_BY_KEY[read_route], probe.user, path_parameters={id_name: job_id})
    body = read.body
    if probe.route.function == "exports_api":
        body += "\n" + _export_file(job_id)
        body = re.sub(r'"download_url":"[^"]*"', '"download_url":"<url>"', body)
    body = body.replace(job_id, "<job>")
    for sent, twin in probe.sent.items():
        body = body.replace(sent, "<sent>").replace(twin, "<sent>")
    body = re.sub(r'"(\w+_at)":"[^"]*"', r'"\1":"<time>"', body)
    body = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "<time>", body)  # the CSV's audit times
    return Answer(read.status, body)


def _export_file(export_id: str) -> str:
    """The CSV that the export of firm B (the prober's) wrote, as the download URL would give it."""
    s3 = boto3.client("s3")
    found = s3.get_object(Bucket=os.environ["EXPORT_BUCKET_NAME"], Key=object_key(FIRM_B.firm_id, export_id))
    return str(found["Body"].read().decode("utf-8"))


def _control(route: Route, world: World, checkpoint: Checkpoint) -> str | None:
    """Some B caller succeeds on this route with B's own ids (then the world is put back)."""
    b, k = world.b, key(route)
    refused = []
    for user in callers(route, b):
        body = BODIES[k](b) if k in BODIES else None
        answer = request(route, user, path_parameters=b.path_parameters(route), body=body)
        _settle(route)
        if route.method != "GET":
            checkpoint.restore()
        if answer.ok:
            return None
        refused.append(f"{answer.status} {answer.body[:200]}")
    return "; ".join(refused)
