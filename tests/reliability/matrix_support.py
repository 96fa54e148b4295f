"""A populated world of two firms for the reliability matrices (issue 8): cross-tenant, role x route,
mass assignment.

Each firm holds every object type a route takes an id of (the customer and their engagement, a pending
invitation, a connection, a new and an accepted account, a bank line, an assignment rule, a refresh
job, a notification, a client file with members, patrimony, donations, an external adviser, grants
and a pending file invitation) and every kind of caller (admin, the customer's owner, an assigned
and an unassigned adviser, the customer, file grantees read/write and read-only). It is built
through the routes and the support modules of tests/integration, on moto and the sandboxes.

Routes come from infra/spec.py ROUTES and the handlers' own signatures: `PARAM_OBJECTS` says which
object fills each path parameter and `BODIES` gives a valid body for every route that reads one;
`undeclared()` lists what these tables do not know, and the matrices fail on it (no silent skips).
"""

from __future__ import annotations

import importlib
import json
import pickle
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from infra.spec import ROUTES, Route
from local import moto_patches
from local.demo_data import DEMO_FIRM
from local.fake_aws import ACCOUNT_ID, REGION
from shared import bootstrap
from shared.domain.accounts import BankTransaction
from shared.domain.identity import StaffMembership, StaffRole
from shared.settings import DEFAULT_EULA_VERSION
from tests.conftest import FakeLambdaContext, api_event
from tests.fakes import FakeDirectory
from tests.integration import file_access_support as fas
from tests.integration.file_access_support import PHONE, FileWorld, accept_as, file_tokens
from tests.integration.onboarding_support import (
    ADMIN,
    ADVISER,
    INVITEE,
    OTHER_ADVISER,
    OTHER_FIRM,
    Person,
    enrol_mfa,
    invitation_links,
    invitation_tokens,
    use_fake_directory,
)
from tests.integration.staff_support import fake_directory, known
from tests.integration.test_connections import approve_at_gocardless, callback
from tests.integration.test_file_access_matrix import DOCUMENT, DONATION, PATRIMONY
from tests.integration.test_imports import BANK
from tests.integration.test_refresh_dashboard import pump

# people ----------------------------------------------------------------------------------------
GRANTEE_ROLES = ("holder_rw", "holder_ro", "member_rw", "member_ro", "adviser_rw", "adviser_ro")


@dataclass(frozen=True)
class FirmPeople:
    firm_id: str
    admin: Person
    owner: Person  # the adviser who invited the customer: their owner and the file's manager
    assigned: Person  # an adviser assigned to the customer
    unassigned: Person  # an adviser of the firm with no link to the customer
    customer: Person  # accepted, accepted the EULA, connected a bank
    invited: Person  # invited, has not accepted
    grantees: dict[str, Person]  # GRANTEE_ROLES -> the person granted that access to the file
    file_invitee: Person  # granted access to a member, invitation not accepted yet
    staff_invitee: Person  # invited to the firm's staff by the admin, not accepted yet

    def staff(self) -> dict[str, tuple[Person, StaffRole]]:
        return {
            "admin": (self.admin, StaffRole.ADMIN),
            "owner": (self.owner, StaffRole.ADVISER),
            "assigned": (self.assigned, StaffRole.ADVISER),
            "unassigned": (self.unassigned, StaffRole.ADVISER),
        }

    def everyone(self) -> list[Person]:
        staff = [person for person, _ in self.staff().values()]
        invitees = [self.invited, self.file_invitee, self.staff_invitee]
        return [*staff, self.customer, *invitees, *self.grantees.values()]


FIRM_A = FirmPeople(
    firm_id=DEMO_FIRM.firm_id,
    admin=Person(ADMIN.sub, ADMIN.email),
    owner=Person(ADVISER.sub, ADVISER.email),
    assigned=fas.ASSISTANT,
    unassigned=fas.UNASSIGNED,
    customer=INVITEE,
    invited=Person("a-invited-sub", "invited.a@example.org"),
    grantees={
        "holder_rw": fas.HOLDER_RW,
        "holder_ro": fas.HOLDER_RO,
        "member_rw": fas.MEMBER_RW,
        "member_ro": fas.MEMBER_RO,
        "adviser_rw": fas.ADVISER_RW,
        "adviser_ro": fas.ADVISER_RO,
    },
    file_invitee=Person("a-file-invitee-sub", "cousin.a@example.org"),
    staff_invitee=Person("a-staff-invitee-sub", "new.adviser.a@example.org"),
)


def _b(name: str) -> Person:
    return Person(f"b-{name}-sub", f"{name}@b-side.example")


FIRM_B = FirmPeople(
    firm_id=OTHER_FIRM.firm_id,
    admin=OTHER_ADVISER,
    owner=_b("owner"),
    assigned=_b("assigned"),
    unassigned=_b("unassigned"),
    customer=_b("customer"),
    invited=_b("invited"),
    grantees={role: _b(role.replace("_", "-")) for role in GRANTEE_ROLES},
    file_invitee=_b("file-invitee"),
    staff_invitee=_b("staff-invitee"),
)


@pytest.fixture
def matrix_directory(monkeypatch: pytest.MonkeyPatch) -> FakeDirectory:
    """The user directory (a fake in place of the pool) holding everyone of both firms: staff routes
    disable and enable their users."""
    directory = fake_directory(monkeypatch)
    known(directory, *FIRM_A.everyone(), *FIRM_B.everyone())
    return directory


# routes ----------------------------------------------------------------------------------------
def key(route: Route) -> str:
    return f"{route.method} {route.path}"


ROUTE_BY_KEY = {key(r): r for r in ROUTES}


def params(route: Route) -> list[str]:
    return [part[1:-1] for part in route.path.split("/") if part.startswith("{")]


# The object each path parameter names, and the routes that need another object of that type.
PARAM_OBJECTS = {
    "customer_id": "customer",
    "account_id": "account",
    "connection_id": "connection",
    "notification_id": "notification",
    "rule_id": "rule",
    "line_id": "line",
    "job_id": "job",
    "file_id": "file",
    "member_id": "member",
    "item_id": "item",
    "donation_id": "donation",
    "adviser_id": "adviser",
    "user_id": "staff_member",  # the assigned adviser: assignable, role-changeable, deactivatable
    "invitation_id": "staff_invitation",  # a pending staff invitation
    "export_id": "export",  # the owner's export of the customer's transactions
    "code": "ledger_account",  # a ledger account of the firm's chart (an expense one a rule uses)
    "firm_id": "firm",  # the firm itself (a customer leaves it)
}
ROUTE_OBJECTS = {
    ("POST /customers/{customer_id}/invitation/resend", "customer_id"): "invited_customer",
    ("POST /customers/{customer_id}/invitation/revoke", "customer_id"): "invited_customer",
    ("POST /customers/{customer_id}/accounts/{account_id}/accept", "account_id"): "new_account",
    ("POST /customers/{customer_id}/accounts/{account_id}/decline", "account_id"): "new_account",
    ("DELETE /files/{file_id}/members/{member_id}/access", "member_id"): "granted_member",
    ("POST /connections/{connection_id}/complete", "connection_id"): "pending_connection",
    ("DELETE /ledger-accounts/{code}", "code"): "unused_ledger_account",  # a used one is archived instead
    # the invitee's erasure was requested by the owner (an admin approves a request only)
    ("POST /customers/{customer_id}/erasure-request/approve", "customer_id"): "invited_customer",
}
# Ids some routes read from the query string (another tenant's must find nothing either).
QUERY_OBJECTS = {
    "GET /audit": {"customer_id": "customer"},
    "GET /customers/{customer_id}/transactions": {"account_id": "account"},
    "GET /data-refresh/engagements": {"owner_id": "owner"},
}


def object_of(route: Route, param: str) -> str:
    return ROUTE_OBJECTS.get((key(route), param)) or PARAM_OBJECTS[param]


@cache
def handler(function: str) -> ModuleType:
    return importlib.import_module(f"functions.{function}.handler")


def _resolver_route(route: Route) -> Any:
    app = handler(route.function).app
    for candidate in app._static_routes + app._dynamic_routes:
        if candidate.method == route.method and candidate.openapi_path == route.path:
            return candidate
    raise AssertionError(f"{key(route)} is declared in infra/spec.py but no handler serves it")


def body_model(route: Route) -> type[BaseModel] | None:
    """The pydantic model the handler reads its JSON body into, from its signature."""
    hints = typing.get_type_hints(_resolver_route(route).func, include_extras=True)
    for name, hint in hints.items():
        candidates = typing.get_args(hint) or (hint,)
        for candidate in candidates:
            if name != "return" and isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
    return None


def dependencies(route: Route) -> set[str]:
    """Names of the caller dependencies (current_staff, current_principal, current_file_actor)."""
    found: set[str] = set()
    hints = typing.get_type_hints(_resolver_route(route).func, include_extras=True)
    for hint in hints.values():
        for meta in getattr(hint, "__metadata__", ()):
            dependency = getattr(meta, "dependency", None)
            if dependency is not None:
                found.add(dependency.__name__)
    return found


# A valid body for every route that reads one (`world` is the firm whose objects the call uses).
Body = Callable[["FirmWorld"], Any]
PASSWORD = "Correct-Horse-42-battery"  # a new account's (the user pool in memory: FakeDirectory)
RULE = {"name": "Rent", "position": 1, "text_contains": "rent"}  # + one of the firm's ledger accounts
BODIES: dict[str, Body] = {
    "POST /customers/invitations": lambda w: {"name": "New Customer", "email": "new.customer@example.org"},
    "POST /invitations/verify": lambda w: {"token": w.tokens["invitation"]},
    "POST /invitations/accept": lambda w: {"token": w.tokens["invitation"]},
    "POST /invitations/create-account": lambda w: {"token": w.tokens["invitation"], "password": PASSWORD},
    "POST /customers/{customer_id}/accounts/{account_id}/link": lambda w: {
        "ledger_account": w.ids["bank_ledger"]
    },
    "POST /assignment-rules": lambda w: {**RULE, "ledger_account": w.ids["ledger_account"]},
    "PUT /assignment-rules/{rule_id}": lambda w: {
        **RULE,
        "name": "Rent (renamed)",
        "ledger_account": w.ids["ledger_account"],
    },
    "POST /customers/{customer_id}/lines/{line_id}/assign": lambda w: {
        "ledger_account": w.ids["ledger_account"]
    },
    "POST /ledger-accounts": lambda w: {"code": "NEW-700", "name": "New account", "kind": "expense"},
    "PATCH /ledger-accounts/{code}": lambda w: {"name": "Renamed account"},
    "POST /files/{file_id}/members": lambda w: {"name": "Aunt", "relation": "other"},
    "PUT /files/{file_id}/members/{member_id}": lambda w: {"name": "Renamed", "relation": "parent"},
    "POST /files/{file_id}/patrimony": lambda w: dict(PATRIMONY),
    "PUT /files/{file_id}/patrimony/{item_id}": lambda w: {**PATRIMONY, "label": "Flat (renamed)"},
    "POST /files/{file_id}/donations": lambda w: dict(DONATION),
    "PUT /files/{file_id}/donations/{donation_id}": lambda w: {**DONATION, "value": "12000"},
    "POST /files/{file_id}/simulations": lambda w: dict(DOCUMENT),
    "POST /files/{file_id}/reports": lambda w: dict(DOCUMENT),
    "PUT /files/{file_id}/members/{member_id}/access": lambda w: {
        "email": "aunt.probe@example.org",
        "phone": PHONE,
        "level": "read_only",
    },
    "POST /files/{file_id}/advisers": lambda w: {
        "name": "Ann Accountant",
        "email": "ann.probe@cabinet.example",
        "phone": PHONE,
        "type": "accountant",
    },
    "PUT /files/{file_id}/advisers/{adviser_id}/access": lambda w: {"level": "read_write"},
    "POST /file-invitations/verify": lambda w: {"token": w.tokens["file_invitation"]},
    "POST /file-invitations/accept": lambda w: {"token": w.tokens["file_invitation"]},
    "POST /file-invitations/create-account": lambda w: {
        "token": w.tokens["file_invitation"],
        "password": PASSWORD,
    },
    "POST /connections": lambda w: {"provider": "gocardless", "institution_id": BANK},
    "POST /connections/{connection_id}/complete": lambda w: {},
    "POST /data-refresh/jobs": lambda w: {"engagement_ids": [w.ids["customer"]]},
    "POST /me/eula": lambda w: {"version": DEFAULT_EULA_VERSION},
    "PUT /me/notification-preferences": lambda w: {"daily_digest": True},
    "PATCH /staff/{user_id}": lambda w: {"role": "adviser"},
    "POST /staff/invitations": lambda w: {
        "email": "probe.staff@example.org",
        "name": "Probe",
        "role": "adviser",
    },
    "POST /staff-invitations/verify": lambda w: {"token": w.tokens["staff_invitation"]},
    "POST /staff-invitations/accept": lambda w: {"token": w.tokens["staff_invitation"]},
    "POST /staff-invitations/create-account": lambda w: {
        "token": w.tokens["staff_invitation"],
        "password": PASSWORD,
    },
    "POST /customers/{customer_id}/transfer": lambda w: {"owner_id": w.ids["staff_member"]},
    "POST /customers/{customer_id}/exports": lambda w: {"from": "2026-11-01", "include_pending": True},
    "POST /audit/exports": lambda w: {"customer_id": w.ids["customer"]},
    "PUT /firm/settings": lambda w: {"retention_years": 7},
    "POST /me/firms/{firm_id}/leave": lambda w: {"erase": True},
}


def undeclared() -> list[str]:
    """What the tables above cannot fill: a new route or parameter must be declared here."""
    missing = [f"{key(r)}: path parameter {p}" for r in ROUTES for p in params(r) if p not in PARAM_OBJECTS]
    missing += [f"{key(r)}: no body in BODIES" for r in ROUTES if body_model(r) and key(r) not in BODIES]
    missing += [f"{k}: in BODIES, reads no body" for k in BODIES if not body_model(ROUTE_BY_KEY[k])]
    return missing


# the world -------------------------------------------------------------------------------------
@dataclass
class FirmWorld:
    people: FirmPeople
    ids: dict[str, str] = field(default_factory=dict)  # object name -> id
    tokens: dict[str, str] = field(default_factory=dict)  # "invitation", "file_invitation", ... -> token

    @property
    def firm_id(self) -> str:
        return self.people.firm_id

    def path_parameters(self, route: Route, **override: str) -> dict[str, str]:
        return {p: override.get(p) or self.ids[object_of(route, p)] for p in params(route)}

    def markers(self) -> set[str]:
        """Strings only this firm's data holds: its id, its objects' ids, its people."""
        people = self.people.everyone()
        found = {self.firm_id, *self.ids.values(), *(p.sub for p in people), *(p.email for p in people)}
        return {m for m in found if len(m) >= 6}


@dataclass
class World:
    a: FirmWorld
    b: FirmWorld


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # raw, as API Gateway would send it

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return self.status < 400


def request(
    route: Route,
    user: Any,
    *,
    path_parameters: dict[str, str] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> Answer:
    event = api_event(
        route.method, route.path, user=user, path_parameters=path_parameters or None, body=body, query=query
    )
    response = handler(route.function).lambda_handler(event, FakeLambdaContext())
    return Answer(response["statusCode"], response.get("body") or "")


def ask(world: FirmWorld, route: Route, user: Any) -> Answer:
    """`route` called by `user` on `world`'s objects, with a valid body when it reads one."""
    body = BODIES[key(route)](world) if key(route) in BODIES else None
    return request(route, user, path_parameters=world.path_parameters(route), body=body)


def _ok(route_key: str, user: Any, **kwargs: Any) -> Any:
    answer = request(ROUTE_BY_KEY[route_key], user, **kwargs)
    assert answer.ok, (route_key, answer)
    return answer.json


def build_world(sandboxes: Any) -> World:
    """Both firms, populated (`sandboxes` is the tests/integration fixture)."""
    fas.seed_staff()  # the demo firm and its staff, the other firm and its admin, SES
    use_fake_directory()  # the user pool, for the routes that create accounts
    world = World(a=_build_firm(sandboxes, FIRM_A), b=_build_firm(sandboxes, FIRM_B))
    pump("refresh", handler("refresh_fanout_worker"))  # the refresh jobs fanned out: a settled world
    pump("exports", handler("export_worker"))  # the exports written
    return world


def _build_firm(sandboxes: Any, people: FirmPeople) -> FirmWorld:
    world = FirmWorld(people)
    ids, owner, admin, customer = world.ids, people.owner, people.admin, people.customer
    identities = bootstrap.identity_repository()
    for person, role in people.staff().values():
        identities.put_membership(StaffMembership(people.firm_id, person.sub, role))
        enrol_mfa(person)
    ids["owner"], ids["firm"] = owner.sub, people.firm_id
    ids["staff_member"] = people.assigned.sub
    invited = {"email": people.staff_invitee.email, "name": "Staff Invitee", "role": "adviser"}
    ids["staff_invitation"] = _ok("POST /staff/invitations", admin, body=invited)["invitation_id"]
    world.tokens["staff_invitation"] = staff_tokens(people.staff_invitee.email)[-1]

    # the customer and a pending invitation: owned by `owner`, `assigned` assigned to both
    def invite(person: Person, name: str) -> str:
        created = _ok("POST /customers/invitations", owner, body={"name": name, "email": person.email})
        customers = bootstrap.onboarding().customers
        record = customers.get(people.firm_id, created["customer_id"])
        customers.save(replace(record, assignee_ids=(people.assigned.sub,)), record)
        return str(created["customer_id"])

    ids["customer"] = invite(customer, "Customer " + people.firm_id[-5:])
    ids["invited_customer"] = invite(people.invited, "Invitee " + people.firm_id[-5:])
    _ok("POST /invitations/accept", customer, body={"token": invitation_tokens(customer.email)[-1]})
    world.tokens["invitation"] = invitation_tokens(people.invited.email)[-1]
    on_invited = {"customer_id": ids["invited_customer"]}
    _ok("POST /customers/{customer_id}/erasure-request", owner, path_parameters=on_invited)
    _ok("POST /me/eula", customer, body={"version": DEFAULT_EULA_VERSION})

    # a GoCardless connection: one account accepted, one still new; a consent still at the bank
    started = _ok("POST /connections", customer, body={"provider": "gocardless", "institution_id": BANK})
    ids["connection"] = started["connection"]["connection_id"]
    assert callback(approve_at_gocardless(sandboxes, started["consent_url"])) == "linked"
    pending = _ok("POST /connections", customer, body={"provider": "gocardless", "institution_id": BANK})
    ids["pending_connection"] = pending["connection"]["connection_id"]
    on_customer = {"customer_id": ids["customer"]}
    accounts = _ok("GET /customers/{customer_id}/accounts", admin, path_parameters=on_customer)
    ids["account"], ids["new_account"] = (a["account_id"] for a in accounts["new_accounts"][:2])
    on_account = {**on_customer, "account_id": ids["account"]}
    _ok("POST /customers/{customer_id}/accounts/{account_id}/accept", admin, path_parameters=on_account)
    # two booked lines, written as the import writes them (a real import stores a thousand: slow)
    lines = [
        BankTransaction(
            people.firm_id,
            ids["customer"],
            ids["account"],
            f"tx-{n}",
            date(2026, 11, n),
            Decimal("-42.50"),
            "GBP",
            "Rent",
        )
        for n in (1, 2)
    ]
    bootstrap.onboarding().accounts.write_transactions(people.firm_id, ids["customer"], lines)
    lines = _ok("GET /customers/{customer_id}/unassigned-lines", admin, path_parameters=on_customer)
    ids["line"] = lines["items"][0]["line_id"]
    ids["notification"] = _ok("GET /me/notifications", customer)["items"][0]["notification_id"]
    # the chart of accounts: a bank account to link, an expense account a rule names, an unused one
    tag = people.firm_id[3:8]  # codes unlike the other firm's: its ids must find nothing here
    for name, code, kind in (
        ("bank_ledger", f"{tag}-512100", "bank"),
        ("ledger_account", f"{tag}-613200", "expense"),
        ("unused_ledger_account", f"{tag}-UNUSED", "expense"),
    ):
        ids[name] = _ok("POST /ledger-accounts", admin, body={"code": code, "name": name, "kind": kind})[
            "code"
        ]
    ids["rule"] = _ok("POST /assignment-rules", admin, body=BODIES["POST /assignment-rules"](world))[
        "rule_id"
    ]
    ids["job"] = _ok("POST /data-refresh/jobs", owner, body={"engagement_ids": [ids["customer"]]})["job_id"]
    ids["export"] = _ok("POST /customers/{customer_id}/exports", owner, path_parameters=on_customer, body={})[
        "export_id"
    ]

    # the client file (the customer's id): grantees of every kind, an entry in every section
    file = FileWorld(ids["customer"])
    ids["file"] = file.file_id
    for name, relation, role in (
        ("Co Holder", "co_holder", "holder_rw"),
        ("Holder", "holder", "holder_ro"),
        ("Child", "child", "member_rw"),
        ("Parent", "parent", "member_ro"),
    ):
        file.add_member(name, relation, by=owner)
        granted = file.grant_member(name, people.grantees[role], _level(role), by=owner)
        assert granted[0] == 200, granted
        accept_as(people.grantees[role])
    for name, role, kind in (("Notary", "adviser_rw", "notary"), ("Banker", "adviser_ro", "banker")):
        file.register_adviser(name, people.grantees[role], kind, by=owner)
        assert file.grant_adviser(name, _level(role), by=owner)[0] == 200
        accept_as(people.grantees[role])
    ids["member"] = file.add_member("Plain Member", "other", by=owner)  # no access
    ids["granted_member"] = file.add_member("Cousin", "other", by=owner)
    assert file.grant_member("Cousin", people.file_invitee, "read_only", by=owner)[0] == 200
    world.tokens["file_invitation"] = file_tokens(people.file_invitee.email)[-1]
    lawyer = Person("lawyer-without-account", f"lawyer.{people.firm_id[-6:].lower()}@law.example")
    ids["adviser"] = file.register_adviser("Lawyer", lawyer, "lawyer", by=owner)
    assert file.grant_adviser("Lawyer", "read_only", by=owner)[0] == 200
    on_file = {"file_id": file.file_id}
    ids["item"] = _ok("POST /files/{file_id}/patrimony", owner, path_parameters=on_file, body=PATRIMONY)[
        "item_id"
    ]
    donation = _ok("POST /files/{file_id}/donations", owner, path_parameters=on_file, body=DONATION)
    ids["donation"] = donation["donation_id"]
    for kind in ("simulations", "reports"):
        _ok(f"POST /files/{{file_id}}/{kind}", owner, path_parameters=on_file, body=DOCUMENT)
    return world


def _level(role: str) -> str:
    return "read_write" if role.endswith("_rw") else "read_only"


def staff_tokens(to: str) -> list[str]:
    """The tokens of every staff-invitation link emailed to `to`, oldest first."""
    return [token for path, token in invitation_links(to) if path.endswith("/staff-invitations/accept")]


# state -----------------------------------------------------------------------------------------
def _tables() -> list[Any]:
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[ACCOUNT_ID][REGION]
    return [backend.get_table(name) for name in ("data", "idempotency")]


class Checkpoint:
    """The tables (moto's backend in this process) and the aggregator sandboxes as they are now;
    `restore()` puts them back, so each case of a matrix starts from the same world whatever the
    case before it changed (a deauthorisation revokes the consent at the bank too)."""

    def __init__(self, sandboxes: Any) -> None:
        self._boxes = [sandboxes.gocardless, sandboxes.plaid]
        self._directory = bootstrap.onboarding().directory  # the user pool in memory (build_world)
        self._saved = pickle.dumps(
            ([t.items for t in _tables()], [b._state for b in self._boxes], vars(self._directory))
        )

    def restore(self) -> None:
        # a deep copy, several times quicker than deepcopy; the bytes are our own, from this process
        items, states, directory = pickle.loads(self._saved)  # noqa: S301  # nosec B301
        for table, table_items in zip(_tables(), items, strict=True):
            table.items = table_items
            moto_patches.items_replaced(table)  # its Query indexes follow its items
        for box, state in zip(self._boxes, states, strict=True):
            box._state = state
        vars(self._directory).update(directory)

    def after(self, route: Route, answer: Answer) -> None:
        """Put the world back if `answer` says `route` may have changed it."""
        if answer.ok and route.method != "GET":
            self.restore()


def items_of(world: FirmWorld, other: FirmWorld) -> dict[tuple[str, str], str]:
    """The data table's items of `world`'s firm: those that mention its markers, except the items in
    `other` firm's partitions (which may record an id `other` sent, as its own audit or job does)."""
    markers = world.markers()
    return {
        k: v
        for k, v in fas.table_state().items()
        if other.firm_id not in k[0] and any(m in k[0] or m in v for m in markers)
    }
