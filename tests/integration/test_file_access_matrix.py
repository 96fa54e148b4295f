"""The whole permission matrix, from the policy, against the real routes (R-ACC-1, R-ACC-6, R-ROLE-1).

For every kind of caller and every route on a file, the handler answers 2xx exactly where
FILE_POLICY allows the route's action, a 403 where a known caller is refused, and the 404 of
a missing file for a stranger; a refused call changes nothing. Each probe makes its own
target (as the file manager, through the use cases) so the probes do not depend on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from infra.spec import ROUTES
from shared import bootstrap
from shared.domain.file_access import FILE_POLICY, CallerKind, FileAction, is_allowed
from shared.domain.files import AccessLevel, AdviserType, PatrimonyKind, Relation
from shared.services import file_access, files
from tests.integration.file_access_support import (
    CALLERS,
    MANAGER,
    PHONE,
    FileWorld,
    actor,
    api,
    full_world,
    table_state,
)

PATRIMONY = {"kind": "asset", "label": "Flat in Lyon", "value": "250000.00", "currency": "EUR"}
DONATION = {
    "donor": "Jane Holder",
    "beneficiary": "Kid",
    "donated_on": "2024-03-01",
    "value": "10000",
    "currency": "EUR",
}
DOCUMENT = {"title": "Retirement", "content": "Scenario A"}

_counter = iter(range(1_000_000))


def _unique_email() -> str:
    return f"probe-{next(_counter)}@example.org"


# targets the file manager makes before a probe (use cases, not routes) ------------------------
def _member(world: FileWorld, relation: Relation = Relation.OTHER) -> str:
    ports = bootstrap.file_access()
    return files.add_member(
        ports, actor(MANAGER), world.file_id, name="Probe", relation=relation, birth_date=None
    ).member_id


def _granted_member(world: FileWorld) -> str:
    member_id = _member(world, Relation.CHILD)
    file_access.grant_member_access(
        bootstrap.file_access(),
        actor(MANAGER),
        world.file_id,
        member_id,
        email=_unique_email(),
        phone=PHONE,
        level=AccessLevel.READ_ONLY,
    )
    return member_id


def _patrimony_item(world: FileWorld) -> str:
    return files.add_patrimony_item(
        bootstrap.file_access(),
        actor(MANAGER),
        world.file_id,
        kind=PatrimonyKind.LIABILITY,
        label="Mortgage",
        value=Decimal("120000"),
        currency="EUR",
    ).item_id


def _donation(world: FileWorld) -> str:
    return files.add_donation(
        bootstrap.file_access(),
        actor(MANAGER),
        world.file_id,
        donor="Jane",
        beneficiary="Kid",
        donated_on=date(2020, 1, 1),
        value=Decimal("5000"),
        currency="EUR",
        description=None,
    ).donation_id


def _adviser(world: FileWorld, granted: bool = False) -> str:
    ports = bootstrap.file_access()
    adviser_id = file_access.register_adviser(
        ports,
        actor(MANAGER),
        world.file_id,
        name="Probe Adviser",
        email=_unique_email(),
        phone=PHONE,
        adviser_type=AdviserType.LAWYER,
    ).adviser_id
    if granted:
        file_access.grant_adviser_access(
            ports, actor(MANAGER), world.file_id, adviser_id, level=AccessLevel.READ_ONLY
        )
    return adviser_id


Prepare = Callable[[FileWorld], tuple[dict[str, str], object]]


@dataclass(frozen=True)
class Probe:
    method: str
    route: str
    action: FileAction
    prepare: Prepare
    allowed_status: tuple[int, str | None] = (0, None)  # (status, code) when allowed; 0: any 2xx

    @property
    def name(self) -> str:
        return f"{self.method} {self.route} [{self.action.value}]"


def _ids(**extra: str) -> Callable[[FileWorld], dict[str, str]]:
    return lambda world: {"file_id": world.file_id, **extra}


def _with(key: str, make: Callable[[FileWorld], str], body: object = None) -> Prepare:
    return lambda world: ({"file_id": world.file_id, key: make(world)}, body)


def _file(body: object = None) -> Prepare:
    return lambda world: ({"file_id": world.file_id}, body)


def _grant_body(_: FileWorld | None = None) -> dict[str, str]:
    return {"email": _unique_email(), "phone": PHONE, "level": "read_only"}


def _member_access(relation: Relation) -> Prepare:
    return lambda world: ({"file_id": world.file_id, "member_id": _member(world, relation)}, _grant_body())


PROBES = [
    Probe("GET", "/files/{file_id}", FileAction.VIEW_FILE, _file()),
    Probe(
        "POST",
        "/files/{file_id}/members",
        FileAction.EDIT_FAMILY,
        _file({"name": "Aunt", "relation": "other"}),
    ),
    Probe(
        "PUT",
        "/files/{file_id}/members/{member_id}",
        FileAction.EDIT_FAMILY,
        _with("member_id", _member, {"name": "Renamed", "relation": "parent", "birth_date": "1950-05-04"}),
    ),
    Probe(
        "DELETE", "/files/{file_id}/members/{member_id}", FileAction.EDIT_FAMILY, _with("member_id", _member)
    ),
    Probe("POST", "/files/{file_id}/patrimony", FileAction.EDIT_PATRIMONY, _file(PATRIMONY)),
    Probe(
        "PUT",
        "/files/{file_id}/patrimony/{item_id}",
        FileAction.EDIT_PATRIMONY,
        _with("item_id", _patrimony_item, PATRIMONY),
    ),
    Probe(
        "DELETE",
        "/files/{file_id}/patrimony/{item_id}",
        FileAction.EDIT_PATRIMONY,
        _with("item_id", _patrimony_item),
    ),
    Probe("POST", "/files/{file_id}/donations", FileAction.EDIT_DONATIONS, _file(DONATION)),
    Probe(
        "PUT",
        "/files/{file_id}/donations/{donation_id}",
        FileAction.EDIT_DONATIONS,
        _with("donation_id", _donation, DONATION),
    ),
    Probe(
        "DELETE",
        "/files/{file_id}/donations/{donation_id}",
        FileAction.EDIT_DONATIONS,
        _with("donation_id", _donation),
    ),
    Probe("POST", "/files/{file_id}/simulations", FileAction.CREATE_SIMULATION, _file(DOCUMENT)),
    Probe("POST", "/files/{file_id}/reports", FileAction.CREATE_REPORT, _file(DOCUMENT)),
    Probe("GET", "/files/{file_id}/access", FileAction.VIEW_ACCESS, _file()),
    Probe(
        "PUT",
        "/files/{file_id}/members/{member_id}/access",
        FileAction.MANAGE_CENTRAL_ACCESS,
        _member_access(Relation.CO_HOLDER),
    ),
    Probe(
        "PUT",
        "/files/{file_id}/members/{member_id}/access",
        FileAction.MANAGE_FAMILY_ACCESS,
        _member_access(Relation.CHILD),
    ),
    Probe(
        "DELETE",
        "/files/{file_id}/members/{member_id}/access",
        FileAction.MANAGE_FAMILY_ACCESS,
        _with("member_id", _granted_member),
    ),
    # Revoking a holder's or co-holder's access: whoever may manage it is refused by R-ACC-4.
    Probe(
        "DELETE",
        "/files/{file_id}/members/{member_id}/access",
        FileAction.MANAGE_CENTRAL_ACCESS,
        lambda world: ({"file_id": world.file_id, "member_id": world.members["John Co"]}, None),
        allowed_status=(409, "access_irrevocable"),
    ),
    Probe(
        "POST",
        "/files/{file_id}/advisers",
        FileAction.REGISTER_ADVISER,
        _file(
            {"name": "Ann Accountant", "email": "ann@cabinet.example", "phone": PHONE, "type": "accountant"}
        ),
    ),
    Probe(
        "PUT",
        "/files/{file_id}/advisers/{adviser_id}/access",
        FileAction.MANAGE_ADVISER_ACCESS,
        _with("adviser_id", _adviser, {"level": "read_write"}),
    ),
    Probe(
        "DELETE",
        "/files/{file_id}/advisers/{adviser_id}/access",
        FileAction.MANAGE_ADVISER_ACCESS,
        _with("adviser_id", lambda world: _adviser(world, granted=True)),
    ),
    Probe("GET", "/files/{file_id}/access-log", FileAction.VIEW_ACCESS_LOG, _file()),
]


def test_the_probes_cover_every_file_route_and_every_action():
    file_routes = {(r.method, r.path) for r in ROUTES if r.function == "access_api" and "{file_id}" in r.path}
    assert {(p.method, p.route) for p in PROBES} == file_routes
    assert {p.action for p in PROBES} == set(FileAction) == set(FILE_POLICY)


def test_the_callers_cover_every_kind():
    assert {kind for kind, _ in CALLERS.values()} == set(CallerKind)


@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_route_answers_as_the_policy_says(aws, caller):
    kind, person = CALLERS[caller]
    world = full_world()
    if kind is not CallerKind.STRANGER:
        status, file = api("GET", "/files/{file_id}", person, path_parameters=world.ids)
        assert status == 200 and file["you"]["kind"] == kind.value
    outcomes = []
    for probe in PROBES:
        path_parameters, body = probe.prepare(world)
        allowed = is_allowed(kind, probe.action)
        before = None if allowed else table_state()
        status, answer = api(probe.method, probe.route, person, path_parameters=path_parameters, body=body)
        if allowed:
            if probe.allowed_status[0]:
                ok = (status, (answer or {}).get("code")) == probe.allowed_status
            else:
                ok = 200 <= status < 300
        elif kind is CallerKind.STRANGER:
            ok = (status, answer) == (404, {"code": "not_found", "message": "Not found."})
            ok = ok and table_state() == before
        else:
            ok = status == 403 and answer["code"] == "file_action_forbidden" and table_state() == before
        outcomes.append((probe.name, status, ok))
    assert [o for o in outcomes if not o[2]] == []
