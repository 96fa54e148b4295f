"""The file manager's journey with a client file's access grants (R-ACC-1..6, R-ROLE-1/3)."""

from __future__ import annotations

import pytest

from functions.invitations_api import handler as invitations
from functions.platform_api import handler as platform
from local.outbox import sent_emails
from shared.settings import get_settings
from tests.integration.file_access_support import (
    ADMIN,
    ASSISTANT,
    MANAGER,
    PHONE,
    accept_latest,
    api,
    file_tokens,
    new_file,
    seed_staff,
)
from tests.integration.onboarding_support import OTHER_ADVISER, Person, call, invitation_tokens

JOHN = Person("john-sub", "john.co@example.org")  # the co-holder
KID = Person("kid-sub", "kid@example.org")
NOTARY = Person("notary-sub", "maitre.dupont@etude.example")


@pytest.fixture
def stack(aws):
    seed_staff()


def test_co_holder_child_notary_and_another_firm(stack):
    world = new_file()
    for name, relation in (("Jane Holder", "holder"), ("John Co", "co_holder"), ("Kid", "child")):
        world.add_member(name, relation)

    # The manager grants the co-holder read_write: John has no account, so he is invited.
    status, grant = world.grant_member("John Co", JOHN, "read_write")
    assert status == 200
    assert (grant["status"], grant["level"], grant["subject_type"]) == ("invited", "read_write", "member")
    [email] = [e for e in sent_emails() if JOHN.email in e.to]
    assert email.subject == "Demo Advisory LLP gives you access to a client file"
    assert "read and write access to the client file of Jane Holder" in email.body
    [link] = [link for link in email.links if "token=" in link]
    assert link.startswith(f"{get_settings().app_base_url}/file-invitations/accept?token=")
    [token] = file_tokens(JOHN.email)
    assert api("POST", "/file-invitations/verify", None, body={"token": token}) == (
        200,
        {"firm_name": "Demo Advisory LLP", "level": "read_write"},
    )
    status, accepted = api("POST", "/file-invitations/accept", JOHN, body={"token": token})
    assert status == 200
    assert accepted == {
        "file_id": world.file_id,
        "firm_id": accepted["firm_id"],
        "firm_name": "Demo Advisory LLP",
        "file_label": "Jane Holder",
        "kind": "holder_rw",
        "level": "read_write",
    }
    _, file = api("GET", "/files/{file_id}", JOHN, path_parameters=world.ids)
    assert file["you"]["kind"] == "holder_rw" and "manage_family_access" in file["you"]["allowed_actions"]

    # The co-holder grants the child read_only (R-ACC-4) ...
    status, grant = world.grant_member("Kid", KID, "read_only", by=JOHN)
    assert (status, grant["granted_by"]) == (200, JOHN.sub)
    accept_latest(KID)
    _, mine = api("GET", "/me/files", KID)
    assert [(f["file_id"], f["kind"], f["level"]) for f in mine["items"]] == [
        (world.file_id, "member_ro", "read_only")
    ]
    # ... but not an external adviser, and not the holder (only the manager decides central access).
    status, refused = api(
        "POST",
        "/files/{file_id}/advisers",
        JOHN,
        path_parameters=world.ids,
        body={"name": "Maître Dupont", "email": NOTARY.email, "phone": PHONE, "type": "notary"},
    )
    assert (status, refused["code"]) == (403, "file_action_forbidden")
    assert world.grant_member("Jane Holder", Person("x", "jane@example.org"), "read_only", by=JOHN)[0] == 403
    # The read_only child changes nothing.
    status, _ = api(
        "POST",
        "/files/{file_id}/patrimony",
        KID,
        path_parameters=world.ids,
        body={"kind": "asset", "label": "Bike", "value": "300", "currency": "EUR"},
    )
    assert status == 403

    # Revoking the co-holder is refused, whoever asks, and the refusal is audited.
    revoke = "/files/{file_id}/members/{member_id}/access"
    john_ids = {**world.ids, "member_id": world.members["John Co"]}
    status, refused = api("DELETE", revoke, MANAGER, path_parameters=john_ids)
    assert (status, refused["code"]) == (409, "access_irrevocable")
    assert api("DELETE", revoke, JOHN, path_parameters=john_ids)[0] == 403
    assert api("GET", "/files/{file_id}", JOHN, path_parameters=world.ids)[0] == 200

    # An external notary, registered then granted read_write by the manager.
    adviser_id = world.register_adviser("Maître Dupont", NOTARY, "notary")
    status, grant = world.grant_adviser("Maître Dupont", "read_write")
    assert (status, grant["subject_type"], grant["status"]) == (200, "adviser", "invited")
    accept_latest(NOTARY)
    status, item = api(
        "POST",
        "/files/{file_id}/patrimony",
        NOTARY,
        path_parameters=world.ids,
        body={"kind": "asset", "label": "Flat in Lyon", "value": "250000.00", "currency": "EUR"},
    )
    assert status == 201 and item["value"] == "250000.00"
    status, refused = api(
        "POST",
        "/files/{file_id}/reports",
        NOTARY,
        path_parameters=world.ids,
        body={"title": "Succession", "content": "..."},
    )
    assert (status, refused["code"]) == (403, "file_action_forbidden")
    assert (
        api(
            "POST",
            "/files/{file_id}/simulations",
            NOTARY,
            path_parameters=world.ids,
            body={"title": "S", "content": "..."},
        )[0]
        == 403
    )
    _, file = api("GET", "/files/{file_id}", NOTARY, path_parameters=world.ids)
    assert file["you"] == {
        "kind": "adviser_rw",
        "level": "read_write",
        "allowed_actions": ["view_file", "edit_family", "edit_patrimony", "edit_donations"],
    }
    assert [(p["label"], p["value"], p["currency"]) for p in file["patrimony"]] == [
        ("Flat in Lyon", "250000.00", "EUR")
    ]

    # Another firm's staff see exactly what they would for a file that does not exist.
    missing = {"file_id": "01JNOSUCHFILE00000000000000"}
    for route in ("/files/{file_id}", "/files/{file_id}/access", "/files/{file_id}/access-log"):
        found = api("GET", route, OTHER_ADVISER, path_parameters=world.ids)
        absent = api("GET", route, OTHER_ADVISER, path_parameters=missing)
        assert found == absent == (404, {"code": "not_found", "message": "Not found."})

    # Who has access, as the manager sees it.
    _, access = api("GET", "/files/{file_id}/access", MANAGER, path_parameters=world.ids)
    by_name = {m["name"]: m["access"] for m in access["members"]}
    assert by_name["Jane Holder"] is None
    assert (by_name["John Co"]["status"], by_name["John Co"]["email"]) == ("active", JOHN.email)
    assert (by_name["Kid"]["level"], by_name["Kid"]["phone"]) == ("read_only", PHONE)
    assert [(a["name"], a["type"], a["access"]["level"]) for a in access["advisers"]] == [
        ("Maître Dupont", "notary", "read_write")
    ]

    # The access log: every grant, acceptance, registration and the refused revoke (R-ROLE-3).
    status, log = api("GET", "/files/{file_id}/access-log", MANAGER, path_parameters=world.ids)
    assert status == 200
    actions = sorted((e["action"], e["actor_id"], e["target_id"]) for e in log["items"])
    members = world.members
    assert actions == sorted(
        [
            ("access.granted", MANAGER.sub, members["John Co"]),
            ("access.accepted", JOHN.sub, members["John Co"]),
            ("access.granted", JOHN.sub, members["Kid"]),
            ("access.accepted", KID.sub, members["Kid"]),
            ("access.revoke_refused", MANAGER.sub, members["John Co"]),
            ("access.adviser_registered", MANAGER.sub, adviser_id),
            ("access.granted", MANAGER.sub, adviser_id),
            ("access.accepted", NOTARY.sub, adviser_id),
        ]
    )
    # No contact details in the audit log.
    assert not any(person.email in str(log) for person in (JOHN, KID, NOTARY))
    assert api("GET", "/files/{file_id}/access-log", ADMIN, path_parameters=world.ids)[0] == 200
    assert api("GET", "/files/{file_id}/access-log", ASSISTANT, path_parameters=world.ids)[0] == 403
    assert api("GET", "/files/{file_id}/access-log", JOHN, path_parameters=world.ids)[0] == 403
    # The firm-wide audit carries the same events for the customer.
    _, audit = call(invitations, "GET", "/audit", ADMIN, query={"customer_id": world.file_id})
    assert {"access.revoke_refused", "access.granted"} <= {e["action"] for e in audit["items"]}


def test_a_grantee_with_an_account_is_notified_and_has_access_at_once(stack):
    world = new_file("jane.holder@example.org", "Jane Holder")
    jane = Person("jane-sub", "jane.holder@example.org")
    [token] = invitation_tokens(jane.email)  # the customer's own onboarding invitation
    assert call(invitations, "POST", "/invitations/accept", jane, body={"token": token})[0] == 200
    world.add_member("Jane Holder", "holder")

    status, grant = world.grant_member("Jane Holder", jane, "read_write")
    assert (status, grant["status"], grant["invitation_expires_at"]) == (200, "active", None)
    assert file_tokens(jane.email) == []  # no invitation: a notification
    [email] = [e for e in sent_emails() if jane.email in e.to and "client file" in e.subject]
    assert email.subject == "Demo Advisory LLP gave you access to a client file" and email.links == []
    _, notes = call(platform, "GET", "/me/notifications", jane)
    assert [(n["kind"], n["title"]) for n in notes["items"]] == [("file_access.granted", email.subject)]
    _, mine = api("GET", "/me/files", jane)
    assert [(f["file_id"], f["kind"]) for f in mine["items"]] == [(world.file_id, "holder_rw")]

    # Changing the level of a bound grant is audited; access follows at once.
    assert world.grant_member("Jane Holder", jane, "read_only")[1]["level"] == "read_only"
    _, file = api("GET", "/files/{file_id}", jane, path_parameters=world.ids)
    assert file["you"]["kind"] == "holder_ro"
    _, log = api("GET", "/files/{file_id}/access-log", MANAGER, path_parameters=world.ids)
    [change] = [e for e in log["items"] if e["action"] == "access.level_changed"]
    assert change["details"] == {"from": "read_write", "to": "read_only"}


def test_someone_who_accepted_once_is_known_by_their_email(stack):
    """The grantee index: a second file granted to the same email binds to the same person."""
    first, second = new_file("a@example.org", "Ann"), new_file("b@example.org", "Ben")
    for world in (first, second):
        world.add_member("Kid", "child")
    first.grant_member("Kid", KID, "read_only")
    accept_latest(KID)
    status, grant = second.grant_member("Kid", KID, "read_write")
    assert (status, grant["status"]) == (200, "active")
    _, mine = api("GET", "/me/files", KID)
    assert sorted(f["file_label"] for f in mine["items"]) == ["Ann", "Ben"]
    # One person holds one grant per file.
    second.add_member("Kid again", "other")
    status, refused = second.grant_member("Kid again", KID, "read_only")
    assert (status, refused["code"]) == (409, "already_has_access")


def test_revoking_a_family_member_ends_their_access(stack):
    world = new_file()
    world.add_member("Kid", "child")
    world.grant_member("Kid", KID, "read_write")
    accept_latest(KID)
    assert api("GET", "/files/{file_id}", KID, path_parameters=world.ids)[0] == 200
    ids = {**world.ids, "member_id": world.members["Kid"]}
    assert (
        api("DELETE", "/files/{file_id}/members/{member_id}/access", MANAGER, path_parameters=ids)[0] == 204
    )
    assert api("GET", "/files/{file_id}", KID, path_parameters=world.ids)[0] == 404
    assert api("GET", "/me/files", KID) == (200, {"items": []})
    status, missing = api(
        "DELETE", "/files/{file_id}/members/{member_id}/access", MANAGER, path_parameters=ids
    )
    assert (status, missing["code"]) == (404, "access_not_found")
    _, log = api("GET", "/files/{file_id}/access-log", MANAGER, path_parameters=world.ids)
    assert log["items"][0]["action"] == "access.revoked"
    assert log["items"][0]["details"] == {"subject_type": "member", "level": "read_write"}
