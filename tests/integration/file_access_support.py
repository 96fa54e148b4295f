"""Shared set-up for the client-file access tests: a file with every kind of caller, the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlparse

from functions.access_api import handler as access
from functions.invitations_api import handler as invitations
from local.demo_data import DEMO_FIRM
from local.fake_aws import ACCOUNT_ID, REGION
from local.outbox import sent_emails
from shared import bootstrap
from shared.adapters.dynamodb.client import dynamodb_client
from shared.domain.file_access import CallerKind
from shared.domain.files import AccessLevel, AdviserType, Relation
from shared.domain.identity import Principal, StaffMembership, StaffRole
from shared.services import file_access, files
from shared.services.file_access import FileActor
from tests.integration.onboarding_support import (
    ADMIN,
    ADVISER,
    OTHER_ADVISER,
    Person,
    call,
    enrol_mfa,
    invitation_tokens,
    seed_firms,
)

MANAGER = ADVISER  # the demo adviser invites the customer, so owns the file
ASSISTANT = Person("assistant-adviser-sub", "assistant@demo-advisory.example")  # assigned to the customer
UNASSIGNED = Person("unassigned-adviser-sub", "unassigned@demo-advisory.example")
NOBODY = Person("nobody-sub", "nobody@example.net")  # signed in, no record anywhere
PHONE = "+33612345678"


def seed_staff() -> None:
    seed_firms()
    identities = bootstrap.identity_repository()
    for person in (ASSISTANT, UNASSIGNED):
        identities.put_membership(StaffMembership(DEMO_FIRM.firm_id, person.sub, StaffRole.ADVISER))
    enrol_mfa(ASSISTANT, UNASSIGNED)


def item_count() -> int:
    return int(dynamodb_client().scan(TableName="data", Select="COUNT")["Count"])


def table_state() -> dict[tuple[str, str], str]:
    """Every item of the data table, read from moto's backend in this process (a Scan through the
    API serialises every item: too slow to run around each of hundreds of calls). Two equal
    states mean nothing was stored, changed or deleted."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[ACCOUNT_ID][REGION].get_table("data")
    return {
        (str(i.hash_key.value), str(i.range_key.value if i.range_key else "")): repr(i)
        for i in table.all_items()
    }


def file_tokens(to: str) -> list[str]:
    """The tokens of every file-invitation link emailed to `to`, oldest first."""
    tokens = []
    for email in sent_emails():
        if to in email.to:
            for link in email.links:
                parsed = urlparse(link)
                if parsed.path.endswith("/file-invitations/accept"):
                    tokens.append(parse_qs(parsed.query)["token"][0])
    return tokens


def api(method: str, route: str, user: Any, **kwargs: Any) -> tuple[int, Any]:
    return call(access, method, route, user, **kwargs)


def actor(person: Person) -> FileActor:
    return FileActor(Principal(person.sub, person.email))


@dataclass
class FileWorld:
    """A customer's file owned by MANAGER, with ASSISTANT assigned, and people granted access."""

    file_id: str
    members: dict[str, str] = field(default_factory=dict)  # name -> member id
    advisers: dict[str, str] = field(default_factory=dict)  # name -> adviser id

    @property
    def ids(self) -> dict[str, str]:
        return {"file_id": self.file_id}

    def add_member(self, name: str, relation: str, by: Any = MANAGER) -> str:
        status, member = api(
            "POST",
            "/files/{file_id}/members",
            by,
            path_parameters=self.ids,
            body={"name": name, "relation": relation},
        )
        assert status == 201, member
        self.members[name] = member["member_id"]
        return str(member["member_id"])

    def grant_member(self, name: str, person: Person, level: str, by: Any = MANAGER) -> tuple[int, Any]:
        return api(
            "PUT",
            "/files/{file_id}/members/{member_id}/access",
            by,
            path_parameters={**self.ids, "member_id": self.members[name]},
            body={"email": person.email, "phone": PHONE, "level": level},
        )

    def register_adviser(self, name: str, person: Person, kind: str, by: Any = MANAGER) -> str:
        status, adviser = api(
            "POST",
            "/files/{file_id}/advisers",
            by,
            path_parameters=self.ids,
            body={"name": name, "email": person.email, "phone": PHONE, "type": kind},
        )
        assert status == 201, adviser
        self.advisers[name] = adviser["adviser_id"]
        return str(adviser["adviser_id"])

    def grant_adviser(self, name: str, level: str, by: Any = MANAGER) -> tuple[int, Any]:
        return api(
            "PUT",
            "/files/{file_id}/advisers/{adviser_id}/access",
            by,
            path_parameters={**self.ids, "adviser_id": self.advisers[name]},
            body={"level": level},
        )


def accept_latest(person: Person) -> dict[str, Any]:
    """Accept the newest file invitation emailed to `person`, as them."""
    token = file_tokens(person.email)[-1]
    status, accepted = api("POST", "/file-invitations/accept", person, body={"token": token})
    assert status == 200, accepted
    return dict(accepted)


def new_file(customer_email: str = "jane.holder@example.org", name: str = "Jane Holder") -> FileWorld:
    """A customer invited by MANAGER (so the file's manager), with ASSISTANT assigned."""
    status, customer = call(
        invitations, "POST", "/customers/invitations", MANAGER, body={"name": name, "email": customer_email}
    )
    assert status == 201, customer
    customers = bootstrap.onboarding().customers
    record = customers.get(DEMO_FIRM.firm_id, customer["customer_id"])
    customers.save(replace(record, assignee_ids=(ASSISTANT.sub,)), record)
    return FileWorld(customer["customer_id"])


# one person per kind of grantee, and what they are granted in `full_world`
HOLDER_RW = Person("co-holder-sub", "john.co@example.org")
HOLDER_RO = Person("holder-sub", "jane.grantee@example.org")
MEMBER_RW = Person("child-sub", "kid@example.org")
MEMBER_RO = Person("parent-sub", "grandma@example.org")
ADVISER_RW = Person("notary-sub", "notary@etude.example")
ADVISER_RO = Person("banker-sub", "banker@bank.example")
FILE_CUSTOMER = Person("file-customer-sub", "jane.holder@example.org")  # new_file's customer, accepted

CALLERS: dict[str, tuple[CallerKind, Person]] = {
    "file_manager": (CallerKind.FILE_MANAGER, MANAGER),
    "assigned_adviser": (CallerKind.FIRM_STAFF, ASSISTANT),
    "firm_admin": (CallerKind.FIRM_ADMIN, ADMIN),
    "holder_rw": (CallerKind.HOLDER_RW, HOLDER_RW),
    "holder_ro": (CallerKind.HOLDER_RO, HOLDER_RO),
    "member_rw": (CallerKind.MEMBER_RW, MEMBER_RW),
    "member_ro": (CallerKind.MEMBER_RO, MEMBER_RO),
    "adviser_rw": (CallerKind.ADVISER_RW, ADVISER_RW),
    "adviser_ro": (CallerKind.ADVISER_RO, ADVISER_RO),
    "customer": (CallerKind.CUSTOMER, FILE_CUSTOMER),  # the file's own customer, granted nothing
    "other_firm_staff": (CallerKind.STRANGER, OTHER_ADVISER),
    "unassigned_adviser": (CallerKind.STRANGER, UNASSIGNED),
    "signed_in_nobody": (CallerKind.STRANGER, NOBODY),
}


def full_world() -> FileWorld:
    """A file where each kind of caller of CALLERS exists, every grantee having accepted. Built
    through the use cases (the routes that do this have their own tests): it is quicker."""
    seed_staff()
    world = new_file(FILE_CUSTOMER.email)
    [token] = invitation_tokens(FILE_CUSTOMER.email)
    assert call(invitations, "POST", "/invitations/accept", FILE_CUSTOMER, body={"token": token})[0] == 200
    ports = bootstrap.file_access()
    manager = actor(MANAGER)
    for name, relation, person, level in (
        ("John Co", Relation.CO_HOLDER, HOLDER_RW, AccessLevel.READ_WRITE),
        ("Jane Holder", Relation.HOLDER, HOLDER_RO, AccessLevel.READ_ONLY),
        ("Kid", Relation.CHILD, MEMBER_RW, AccessLevel.READ_WRITE),
        ("Grandma", Relation.PARENT, MEMBER_RO, AccessLevel.READ_ONLY),
    ):
        member = files.add_member(
            ports, manager, world.file_id, name=name, relation=relation, birth_date=None
        )
        world.members[name] = member.member_id
        file_access.grant_member_access(
            ports, manager, world.file_id, member.member_id, email=person.email, phone=PHONE, level=level
        )
        accept_as(person)
    for name, person, kind, level in (
        ("Maître Notary", ADVISER_RW, AdviserType.NOTARY, AccessLevel.READ_WRITE),
        ("Bob Banker", ADVISER_RO, AdviserType.BANKER, AccessLevel.READ_ONLY),
    ):
        adviser = file_access.register_adviser(
            ports, manager, world.file_id, name=name, email=person.email, phone=PHONE, adviser_type=kind
        )
        world.advisers[name] = adviser.adviser_id
        file_access.grant_adviser_access(ports, manager, world.file_id, adviser.adviser_id, level=level)
        accept_as(person)
    return world


def accept_as(person: Person) -> None:
    """Accept the newest file invitation emailed to `person` (use case, not route)."""
    principal = Principal(person.sub, person.email)
    file_access.accept_file_invitation(bootstrap.file_access(), principal, file_tokens(person.email)[-1])
