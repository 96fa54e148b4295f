"""Issue 15 end to end on the local system: every invitee kind ends up with an account of the user
pool and signed in through it, with the rights the invitation gave, and nobody else gets one.

One `python -m local` for the module (tests/local_system_support.py), spoken to only over HTTP on
127.0.0.1: the API, its `/_local/outbox` (where the invitation links are) and the pool on its moto
server (sign-ins as `make token` makes them, and `ListUsers` to see which users exist). Each test
invites its own people (fresh emails), so the tests do not depend on each other's order; the one
that deactivates the demo adviser reactivates them whatever happens.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from local.demo_data import DEMO_CUSTOMER_ID, DEMO_FIRM, DEMO_USERS
from local.outbox import emailed_tokens
from local.user_pool import DEMO_PASSWORD, LocalPool, SignInRefused, running_pool
from local.web_app import PREFIX
from shared.services.emails import CUSTOMER_ACCEPT_PAGE, FILE_ACCEPT_PAGE, STAFF_ACCEPT_PAGE
from tests.local_system_support import LocalProcess, http_call, pool_users, running_local_system

pytestmark = pytest.mark.slow

ADMIN = next(user.email for user in DEMO_USERS if user.role == "admin")
ADVISER = next(user.email for user in DEMO_USERS if user.role == "adviser")
PASSWORD = "Chosen-Passw0rd-42!"  # a test account's password, on moto
OTHER_PASSWORD = "Another-Passw0rd-7?"
PHONE = "+447700900123"
OUTBOX_SECONDS = 15  # the invitation email is sent in the request; the bound is for a slow machine
_numbers = itertools.count(1)


def fresh_email(who: str) -> str:
    return f"{who}-{next(_numbers)}@journeys.example.org"


@dataclass
class Api:
    """The local system's HTTP API, counting the requests made."""

    port: int
    pool: LocalPool
    requests: int = 0
    sign_ins: int = 0
    tokens: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.requests += 1
        status, raw = http_call(self.port, method, path, data, headers)
        return status, json.loads(raw) if raw else None

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> str:
        """An ID token of a password sign-in through the pool (`make token USER=… PASSWORD=…`)."""
        self.sign_ins += 1
        return self.pool.sign_in(email, password)

    def enrol_totp(self, email: str, password: str, bearer: str) -> str:
        """R-ID-4: a new staff member's staff routes answer 403 mfa_required until they enrol an
        authenticator app with the pool and confirm it; their next sign-in asks for its code."""
        assert self.call("GET", "/customers", bearer)[1]["code"] == "mfa_required"
        self.pool.enrol_totp(email, password)
        status, confirmed = self.call("POST", "/me/mfa/confirm", bearer)
        assert status == 200 and confirmed["method"] == "totp", confirmed
        with pytest.raises(SignInRefused, match="SOFTWARE_TOKEN_MFA"):  # a password alone no longer does
            replace(self.pool, totp_secret="").sign_in(email, password)
        return self.sign_in(email, password)

    def staff_token(self, email: str) -> str:
        """A demo staff member's token, signed in once for the module."""
        if email not in self.tokens:
            self.tokens[email] = self.sign_in(email)
        return self.tokens[email]

    def emailed_token(self, to: str, page: str) -> str:
        """The token of the newest link to `page` emailed to `to`, read from the local outbox."""
        deadline = time.monotonic() + OUTBOX_SECONDS
        while True:
            status, outbox = self.call("GET", "/_local/outbox")
            assert status == 200
            if tokens := emailed_tokens(outbox, to, page):
                return tokens[-1]
            if time.monotonic() > deadline:
                pytest.fail(f"no link to {page} emailed to {to} within {OUTBOX_SECONDS} s")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    with running_local_system(tmp_path_factory.mktemp("account-journeys")) as running:
        yield running


@pytest.fixture(scope="module")
def api(local: LocalProcess) -> Iterator[Api]:
    client = Api(local.port, running_pool(local.port))
    started = time.monotonic()
    yield client
    print(
        f"account journeys: {client.requests} requests, {client.sign_ins} sign-ins, "
        f"{time.monotonic() - started:.1f} s after start-up"
    )


@pytest.fixture(scope="module")
def adviser_id(api: Api) -> str:
    status, staff = api.call("GET", "/staff", api.staff_token(ADMIN))
    assert status == 200, staff
    [adviser] = [member for member in staff["items"] if member["email"] == ADVISER]
    assert adviser["role"] == "adviser" and adviser["active"] is True
    return str(adviser["user_id"])


# helpers -------------------------------------------------------------------------------------
def invite_customer(api: Api, email: str, name: str = "Jane Journey") -> str:
    """The demo admin invites a customer (so the admin owns them and manages their file): its id."""
    body = {"name": name, "email": email}
    status, customer = api.call("POST", "/customers/invitations", api.staff_token(ADMIN), body)
    assert status == 201, customer
    return str(customer["customer_id"])


def only_user(local: LocalProcess, email: str) -> dict[str, Any]:
    """The one pool user with this email (a second acceptance must not have made another)."""
    users = pool_users(local.port, email)
    assert len(users) == 1, users
    return users[0]


def create_account(api: Api, route: str, token: str, password: str = PASSWORD) -> tuple[int, Any]:
    return api.call("POST", route, body={"token": token, "password": password})


def sign_in_refused(api: Api, email: str, password: str) -> bool:
    try:
        api.sign_in(email, password)
    except SignInRefused:
        return True
    return False


# 1. a customer -------------------------------------------------------------------------------
def test_an_invited_customer_creates_their_account_signs_in_through_the_pool_and_is_the_customer(local, api):
    email = fresh_email("customer")
    customer_id = invite_customer(api, email)
    token = api.emailed_token(email, PREFIX + CUSTOMER_ACCEPT_PAGE)
    assert pool_users(local.port, email) == []  # invited is not an account yet
    assert api.call("POST", "/invitations/verify", body={"token": token}) == (
        200,
        {"firm_name": DEMO_FIRM.name},
    )

    assert create_account(api, "/invitations/create-account", token) == (200, {"firm_name": DEMO_FIRM.name})
    user = only_user(local, email)
    assert user["Enabled"] is True

    assert sign_in_refused(api, email, DEMO_PASSWORD)  # only the password they chose
    bearer = api.sign_in(email, PASSWORD)
    status, me = api.call("GET", "/me", bearer)
    assert status == 200, me
    assert (me["user_id"], me["email"], me["staff_of"]) == (user["Username"], email, [])
    assert me["customer_of"] == [
        {"firm_id": DEMO_FIRM.firm_id, "firm_name": DEMO_FIRM.name, "customer_id": customer_id}
    ]
    # A customer-only route answers: they connect a bank (the GoCardless sandbox's Demo Bank).
    body = {"provider": "gocardless", "institution_id": "DEMOBANK_DMBKGB2L"}
    status, connection = api.call("POST", "/connections", bearer, body)
    assert status == 201 and connection["consent_url"], connection
    # A staff route does not.
    status, refused = api.call("GET", "/customers", bearer)
    assert (status, refused["code"]) == (403, "staff_only")
    # The firm sees the invitation accepted.
    status, seen = api.call("GET", f"/customers/{customer_id}", api.staff_token(ADMIN))
    assert status == 200 and seen["accepted"] is True, seen


# 2. a family member and an external adviser --------------------------------------------------
@dataclass(frozen=True)
class Grantee:
    kind: str  # what GET /me/files and GET /files/{id} call them
    level: str
    may_write: bool


FAMILY_MEMBER_READ_ONLY = Grantee("member_ro", "read_only", may_write=False)
EXTERNAL_ADVISER_READ_WRITE = Grantee("adviser_rw", "read_write", may_write=True)


def grant_family_member(api: Api, file_id: str, email: str, level: str) -> None:
    admin = api.staff_token(ADMIN)
    status, member = api.call(
        "POST", f"/files/{file_id}/members", admin, {"name": "Kid", "relation": "child"}
    )
    assert status == 201, member
    path = f"/files/{file_id}/members/{member['member_id']}/access"
    status, grant = api.call("PUT", path, admin, {"email": email, "phone": PHONE, "level": level})
    assert status == 200 and grant["status"] == "invited", grant


def grant_external_adviser(api: Api, file_id: str, email: str, level: str) -> None:
    admin = api.staff_token(ADMIN)
    body = {"name": "Nora Notary", "email": email, "phone": PHONE, "type": "notary"}
    status, adviser = api.call("POST", f"/files/{file_id}/advisers", admin, body)
    assert status == 201, adviser
    path = f"/files/{file_id}/advisers/{adviser['adviser_id']}/access"
    status, grant = api.call("PUT", path, admin, {"level": level})
    assert status == 200 and grant["status"] == "invited", grant


@pytest.mark.parametrize(
    ("grantee", "grant"),
    [
        pytest.param(FAMILY_MEMBER_READ_ONLY, grant_family_member, id="family_member_read_only"),
        pytest.param(EXTERNAL_ADVISER_READ_WRITE, grant_external_adviser, id="external_adviser_read_write"),
    ],
)
def test_a_file_grantee_creates_their_account_signs_in_and_has_the_granted_rights(local, api, grantee, grant):
    file_id = invite_customer(api, fresh_email("holder"), name="Harriet Holder")  # the admin manages it
    email = fresh_email(grantee.kind)
    grant(api, file_id, email, grantee.level)
    token = api.emailed_token(email, PREFIX + FILE_ACCEPT_PAGE)
    assert pool_users(local.port, email) == []

    status, accepted = create_account(api, "/file-invitations/create-account", token)
    assert status == 200, accepted
    assert (accepted["file_id"], accepted["kind"], accepted["level"]) == (
        file_id,
        grantee.kind,
        grantee.level,
    )
    user = only_user(local, email)

    bearer = api.sign_in(email, PASSWORD)
    status, me = api.call("GET", "/me", bearer)
    assert status == 200 and me["user_id"] == user["Username"] and me["email"] == email, me
    assert (me["staff_of"], me["customer_of"]) == ([], [])
    status, mine = api.call("GET", "/me/files", bearer)
    assert status == 200, mine
    assert [(f["file_id"], f["kind"], f["level"], f["file_label"]) for f in mine["items"]] == [
        (file_id, grantee.kind, grantee.level, "Harriet Holder")
    ]
    status, opened = api.call("GET", f"/files/{file_id}", bearer)
    assert status == 200, opened
    assert (opened["you"]["kind"], opened["you"]["level"]) == (grantee.kind, grantee.level)

    asset = {"kind": "asset", "label": "House", "value": "250000.00", "currency": "GBP"}
    status, answer = api.call("POST", f"/files/{file_id}/patrimony", bearer, asset)
    if grantee.may_write:
        assert status == 201 and answer["value"] == "250000.00", answer
    else:
        assert (status, answer["code"]) == (403, "file_action_forbidden")
    # Nobody outside the firm stores simulations, nor sees the firm's staff routes.
    simulation = {"title": "Plan", "content": "text"}
    status, answer = api.call("POST", f"/files/{file_id}/simulations", bearer, simulation)
    assert (status, answer["code"]) == (403, "file_action_forbidden")
    assert api.call("GET", "/customers", bearer)[0] == 403
    # Another customer's file is a file that does not exist.
    assert api.call("GET", f"/files/{DEMO_CUSTOMER_ID}", bearer)[0] == 404


# 2b. a staff member ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["adviser", "admin"])
def test_an_invited_staff_member_joins_with_a_new_account_and_the_invited_role(local, api, role):
    email = fresh_email(f"staff-{role}")
    body = {"email": email, "name": "Sam Staff", "role": role}
    status, invited = api.call("POST", "/staff/invitations", api.staff_token(ADMIN), body)
    assert status == 201, invited
    token = api.emailed_token(email, PREFIX + STAFF_ACCEPT_PAGE)
    assert pool_users(local.port, email) == []

    status, joined = create_account(api, "/staff-invitations/create-account", token)
    assert status == 200 and joined["firm_name"] == DEMO_FIRM.name, joined
    user = only_user(local, email)
    bearer = api.sign_in(email, PASSWORD)
    status, me = api.call("GET", "/me", bearer)
    assert status == 200 and me["user_id"] == user["Username"], me
    assert [(s["firm_id"], s["role"]) for s in me["staff_of"]] == [(DEMO_FIRM.firm_id, role)]
    bearer = api.enrol_totp(email, PASSWORD, bearer)
    assert api.call("GET", "/customers", bearer)[0] == 200  # a staff route answers
    status, staff = api.call("GET", "/staff", api.staff_token(ADMIN))
    assert status == 200 and [(m["role"], m["active"]) for m in staff["items"] if m["email"] == email] == [
        (role, True)
    ]
    # only admins manage the firm's staff: the invited role is what the API enforces
    status, _ = api.call("GET", "/staff/invitations", bearer)
    assert status == (200 if role == "admin" else 403)
    assert create_account(api, "/staff-invitations/create-account", token)[0] == 404  # single use


def test_totp_switched_off_behind_our_back_or_reset_by_an_admin_closes_the_staff_routes(local, api):
    """Issue 17 (R-ID-4) on `make run`: the pool's pre token generation check runs at each token issue
    (the gateway runs the trigger's function, moto runs none), so a staff member who switched TOTP off
    with their own access token signs in with a password alone and reaches no staff route; an admin's
    reset of a lost authenticator does the same from the firm's side."""
    email = fresh_email("staff-mfa")
    body = {"email": email, "name": "Mo Factor", "role": "adviser"}
    assert api.call("POST", "/staff/invitations", api.staff_token(ADMIN), body)[0] == 201
    assert (
        create_account(
            api, "/staff-invitations/create-account", api.emailed_token(email, PREFIX + STAFF_ACCEPT_PAGE)
        )[0]
        == 200
    )
    bearer = api.enrol_totp(email, PASSWORD, api.sign_in(email, PASSWORD))
    assert api.call("GET", "/customers", bearer)[0] == 200

    api.pool.switch_totp_off(email, PASSWORD)  # behind our back
    bearer = api.sign_in(email, PASSWORD)  # a password alone now
    assert api.call("GET", "/customers", bearer)[1]["code"] == "mfa_required"
    assert api.call("GET", "/me", bearer)[1]["mfa_enrolled"] is False

    bearer = api.enrol_totp(email, PASSWORD, bearer)  # the app guides them back
    assert api.call("GET", "/customers", bearer)[0] == 200
    user_id = only_user(local, email)["Username"]
    status, reset = api.call("POST", f"/firm/staff/{user_id}/mfa/reset", api.staff_token(ADMIN))
    assert (status, reset["record_removed"]) == (200, True), reset
    bearer = api.sign_in(email, PASSWORD)  # the lost authenticator is not asked for any more
    assert api.call("GET", "/customers", bearer)[1]["code"] == "mfa_required"


# 2c. a firm's first admin, invited by the operator ------------------------------------------------
def operator(local: LocalProcess, *argv: str) -> str:
    """`python -m tools.firms … --local URL` in its own process, as an operator runs it."""
    done = subprocess.run(  # nosec B603 # this interpreter, the project's own module
        [sys.executable, "-m", "tools.firms", *argv, "--local", f"http://127.0.0.1:{local.port}"],
        env={k: v for k, v in local.env.items() if k not in ("PORT", "MOTO_PORT", "CLOCK_AT")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_operator_creates_a_firm_whose_invited_admin_signs_in_and_runs_it(local, api):
    email = fresh_email("first-admin")
    printed = operator(
        local, "create", "--name", "Journey Partners", "--admin-email", email, "--admin-name", "Fay"
    )
    firm_id = printed.split()[1]
    token = api.emailed_token(email, PREFIX + STAFF_ACCEPT_PAGE)
    assert pool_users(local.port, email) == []  # the operator made no account

    status, joined = create_account(api, "/staff-invitations/create-account", token)
    assert (status, joined) == (200, {"firm_name": "Journey Partners", "role": "admin"})
    bearer = api.sign_in(email, PASSWORD)
    status, me = api.call("GET", "/me", bearer)
    assert status == 200 and [(s["firm_id"], s["role"]) for s in me["staff_of"]] == [(firm_id, "admin")], me
    bearer = api.enrol_totp(email, PASSWORD, bearer)
    status, staff = api.call("GET", "/staff", bearer)
    assert status == 200 and [(m["name"], m["role"]) for m in staff["items"]] == [("Fay", "admin")], staff
    # The new firm's admin invites their staff; the demo firm's admin sees nothing of the new firm.
    body = {"email": fresh_email("fay-staff"), "name": "Gus", "role": "adviser"}
    assert api.call("POST", "/staff/invitations", bearer, body)[0] == 201
    assert api.call("GET", "/staff", api.staff_token(ADMIN))[1]["items"] != staff["items"]
    assert f"{firm_id}  Journey Partners" in operator(local, "list") and email in operator(local, "list")


# 3. no account without an invitation ---------------------------------------------------------
def test_an_email_without_a_live_invitation_cannot_get_an_account(local, api):
    stranger = fresh_email("stranger")
    bogus = "A" * 43  # the shape of a token, but no invitation's
    for route in ("/invitations/create-account", "/file-invitations/create-account"):
        status, answer = create_account(api, route, bogus)
        assert (status, answer["code"]) == (404, "invitation_invalid"), route
    # A revoked invitation is no invitation: its email gets no account either.
    revoked = fresh_email("revoked")
    customer_id = invite_customer(api, revoked)
    token = api.emailed_token(revoked, PREFIX + CUSTOMER_ACCEPT_PAGE)
    status, _ = api.call("POST", f"/customers/{customer_id}/invitation/revoke", api.staff_token(ADMIN))
    assert status == 200
    status, answer = create_account(api, "/invitations/create-account", token)
    assert (status, answer["code"]) == (404, "invitation_invalid")

    assert pool_users(local.port, stranger) == [] and pool_users(local.port, revoked) == []
    assert sign_in_refused(api, stranger, PASSWORD) and sign_in_refused(api, revoked, PASSWORD)


# 4. a second acceptance changes nothing ------------------------------------------------------
def test_a_second_acceptance_of_the_same_token_changes_nothing(local, api):
    customer = fresh_email("twice")
    invite_customer(api, customer)
    customer_token = api.emailed_token(customer, PREFIX + CUSTOMER_ACCEPT_PAGE)
    file_id = invite_customer(api, fresh_email("holder"))
    member = fresh_email("twice-member")
    grant_family_member(api, file_id, member, "read_write")
    file_token = api.emailed_token(member, PREFIX + FILE_ACCEPT_PAGE)

    for email, route, token in (
        (customer, "/invitations", customer_token),
        (member, "/file-invitations", file_token),
    ):
        assert create_account(api, f"{route}/create-account", token)[0] == 200
        first = only_user(local, email)
        bearer = api.sign_in(email, PASSWORD)
        before = [api.call("GET", path, bearer) for path in ("/me", "/me/files")]

        status, answer = create_account(api, f"{route}/create-account", token, OTHER_PASSWORD)
        assert (status, answer["code"]) == (404, "invitation_invalid"), route
        status, answer = api.call("POST", f"{route}/accept", bearer, {"token": token})  # signed in, too
        assert (status, answer["code"]) == (404, "invitation_invalid"), route
        assert api.call("POST", f"{route}/verify", body={"token": token})[0] == 404

        assert only_user(local, email)["Username"] == first["Username"]  # no second user
        assert sign_in_refused(api, email, OTHER_PASSWORD)  # the password was not changed
        assert [api.call("GET", path, bearer) for path in ("/me", "/me/files")] == before


# 5. a deactivated staff member -----------------------------------------------------------------
def test_a_deactivated_staff_members_next_request_is_refused_and_reactivation_restores_it(
    local, api, adviser_id
):
    admin = api.staff_token(ADMIN)
    issued = api.sign_in(ADVISER)  # a token issued before the deactivation
    assert api.call("GET", "/customers?section=customers", issued)[0] == 200
    assert api.call("GET", f"/customers/{DEMO_CUSTOMER_ID}", issued)[0] == 200  # the adviser owns it
    try:
        status, member = api.call("POST", f"/staff/{adviser_id}/deactivate", admin)
        assert status == 200 and member["active"] is False, member

        status, refused = api.call("GET", "/customers?section=customers", issued)
        assert (status, refused["code"]) == (403, "staff_only")
        assert api.call("GET", f"/customers/{DEMO_CUSTOMER_ID}", issued)[0] == 403
        assert api.call("GET", f"/files/{DEMO_CUSTOMER_ID}", issued)[0] == 404  # no longer its manager
        assert api.call("GET", "/staff", issued)[0] == 403
        assert sign_in_refused(api, ADVISER, DEMO_PASSWORD)  # the pool's user is disabled
        assert only_user(local, ADVISER)["Enabled"] is False
    finally:
        status, member = api.call("POST", f"/staff/{adviser_id}/reactivate", admin)
    assert status == 200 and member["active"] is True, member

    assert api.call("GET", f"/customers/{DEMO_CUSTOMER_ID}", issued)[0] == 200  # the same token again
    fresh = api.sign_in(ADVISER)
    status, me = api.call("GET", "/me", fresh)
    assert status == 200 and [(s["firm_id"], s["role"]) for s in me["staff_of"]] == [
        (DEMO_FIRM.firm_id, "adviser")
    ]
    assert api.call("GET", f"/files/{DEMO_CUSTOMER_ID}", fresh)[0] == 200


# 6. ownership transfer -----------------------------------------------------------------------
def adviser_sees(api: Api, bearer: str, customer_id: str) -> tuple[int, int, bool]:
    """What the adviser gets for the customer, its file, and whether it is in their list."""
    status, page = api.call("GET", "/customers?section=invited", bearer)
    assert status == 200, page
    listed = customer_id in [row["customer_id"] for row in page["items"]]
    return (
        api.call("GET", f"/customers/{customer_id}", bearer)[0],
        api.call("GET", f"/files/{customer_id}", bearer)[0],
        listed,
    )


def test_an_ownership_transfer_moves_visibility_at_once(api, adviser_id):
    admin = api.staff_token(ADMIN)
    status, me = api.call("GET", "/me", admin)
    assert status == 200, me
    admin_id = me["user_id"]
    adviser = api.sign_in(ADVISER)
    customer_id = invite_customer(api, fresh_email("handed-over"))
    assert adviser_sees(api, adviser, customer_id) == (404, 404, False)

    status, moved = api.call("POST", f"/customers/{customer_id}/transfer", admin, {"owner_id": adviser_id})
    assert status == 200 and moved["owner_id"] == adviser_id, moved
    assert adviser_sees(api, adviser, customer_id) == (200, 200, True)  # the next request, no wait
    status, opened = api.call("GET", f"/files/{customer_id}", adviser)
    assert (opened["you"]["kind"], opened["manager_id"]) == ("file_manager", adviser_id)

    status, moved = api.call("POST", f"/customers/{customer_id}/transfer", admin, {"owner_id": admin_id})
    assert status == 200 and moved["owner_id"] == admin_id, moved
    assert adviser_sees(api, adviser, customer_id) == (404, 404, False)  # the old owner lost it at once
    assert api.call("GET", f"/customers/{customer_id}", admin)[0] == 200
    status, opened = api.call("GET", f"/files/{customer_id}", admin)
    assert (status, opened["you"]["kind"], opened["manager_id"]) == (200, "file_manager", admin_id)
