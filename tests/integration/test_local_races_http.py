"""The races of the in-process tests (double accepts, one email invited at once, the refresh cap), over
HTTP against `python -m local`, where each function runs several invocations at once in instances of
its own (local/functions.py) as Lambda would: the requests are sent from threads released together.

One local system for the module (each start costs seconds), with the account journeys' fixtures and
helpers. The in-process versions, which call the services on moto with requests serialised:
tests/integration/test_file_invitations.py, test_onboarding_rules.py, test_refresh_jobs.py and
tests/reliability/test_refresh_cap_concurrency.py.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest

from local.demo_data import DEMO_CUSTOMER_ID, DEMO_USERS
from local.web_app import PREFIX
from shared.domain.limits import LIMITS
from shared.services.emails import CUSTOMER_ACCEPT_PAGE, FILE_ACCEPT_PAGE
from shared.settings import DEFAULT_EULA_VERSION
from tests.integration.test_account_journeys import (
    ADMIN,
    PASSWORD,
    Api,
    api,
    create_account,
    fresh_email,
    grant_family_member,
    invite_customer,
    local,
)
from tests.reliability.test_refresh_cap_concurrency import all_at_once

pytestmark = pytest.mark.slow
__all__ = ["api", "local"]  # fixtures: one local system for the module (module-scoped)

ACCEPTS = 6  # concurrent acceptances of one token, as in the in-process tests
INVITES = 5  # concurrent invitations of one email
SETTLE_SECONDS = 60  # a bound on the queues' work after the triggers (an import at the sandbox)
INVALID = (404, "invitation_invalid")


def codes(answers: list[tuple[int, Any]]) -> list[tuple[int, str]]:
    return sorted((status, body.get("code", "ok") if status >= 400 else "ok") for status, body in answers)


def test_concurrent_accepts_of_one_customer_invitation_bind_it_once(local, api):
    person = fresh_email("accept-race")
    # The person already has an account (made from a file invitation), so accepts signed in.
    file_id = invite_customer(api, fresh_email("holder"))
    grant_family_member(api, file_id, person, "read_only")
    assert create_account(api, "/file-invitations/create-account", file_token(api, person))[0] == 200
    bearer = api.sign_in(person, PASSWORD)
    customer_id = invite_customer(api, person)
    token = api.emailed_token(person, PREFIX + CUSTOMER_ACCEPT_PAGE)

    accept = {"token": token}
    answers = all_at_once(ACCEPTS, lambda _: api.call("POST", "/invitations/accept", bearer, accept))
    assert codes(answers) == [(200, "ok")] + [INVALID] * (ACCEPTS - 1), answers
    status, me = api.call("GET", "/me", bearer)
    assert status == 200 and [c["customer_id"] for c in me["customer_of"]] == [customer_id]
    status, customer = api.call("GET", f"/customers/{customer_id}", api.staff_token(ADMIN))
    assert status == 200 and customer["accepted"] is True


def test_concurrent_accepts_of_one_file_invitation_bind_it_once(local, api):
    person = fresh_email("file-race")
    file_id = invite_customer(api, fresh_email("holder"))
    grant_family_member(api, file_id, person, "read_only")  # invited: no account yet
    token = file_token(api, person)
    # Then the person makes an account from a customer invitation, so accepts the file's signed in.
    invite_customer(api, person)
    customer_token = api.emailed_token(person, PREFIX + CUSTOMER_ACCEPT_PAGE)
    assert create_account(api, "/invitations/create-account", customer_token)[0] == 200
    bearer = api.sign_in(person, PASSWORD)
    _, before = api.call("GET", "/me/files", bearer)  # the person's own file, as a customer

    answers = all_at_once(
        ACCEPTS, lambda _: api.call("POST", "/file-invitations/accept", bearer, {"token": token})
    )
    found = codes(answers)
    # The losers: the token already used, or (read before it was) the person already has access.
    assert found[0] == (200, "ok") and found[1] != (200, "ok"), found
    assert set(found[1:]) <= {INVALID, (409, "already_has_access")}, found
    status, mine = api.call("GET", "/me/files", bearer)
    assert status == 200 and [f for f in mine["items"] if f not in before["items"]] == [
        {**f, "file_id": file_id} for f in mine["items"] if f["file_id"] == file_id
    ], mine
    assert [f["file_id"] for f in mine["items"]].count(file_id) == 1


def test_concurrent_invitations_of_one_email_create_one_customer(local, api):
    email = fresh_email("invite-race")
    body = {"name": "Jane", "email": email}
    admin = api.staff_token(ADMIN)
    answers = all_at_once(INVITES, lambda _: api.call("POST", "/customers/invitations", admin, body))
    found = codes(answers)
    # beyond the address's 3 invitation emails a day, the rest are refused before anything is written
    assert (201, "ok") in found, found
    assert {code for _, code in found} <= {"ok", "already_invited", "concurrent_update", "rate_limited"}
    status, listing = api.call("GET", f"/customers?section=invited&q={quote(email)}", admin)
    assert status == 200 and [c["email"] for c in listing["items"]] == [email], listing


def test_concurrent_refresh_triggers_of_one_engagement_refresh_it_once(local, api):
    """R-REF-4 over HTTP: every staff member's hourly allowance of triggers of the demo customer's
    engagement at once; one job refreshes it, every other one excludes it as `capped_today`."""
    customer = api.sign_in("customer@example.com")
    assert api.call("POST", "/me/eula", customer, {"version": DEFAULT_EULA_VERSION})[0] == 200
    linked_demo_bank(api, customer)
    accept_first_account(api, DEMO_CUSTOMER_ID)
    per_user = LIMITS["refresh_jobs_per_user"].count
    staff = [api.staff_token(user.email) for user in DEMO_USERS if user.role != "customer"]
    bearers = [bearer for bearer in staff for _ in range(per_user)]
    body = {"engagement_ids": [DEMO_CUSTOMER_ID]}
    answers = all_at_once(len(bearers), lambda n: api.call("POST", "/data-refresh/jobs", bearers[n], body))
    assert [status for status, _ in answers] == [202] * len(bearers), answers
    job_ids = {job["job_id"] for _, job in answers}
    assert len(job_ids) == len(bearers)  # none merged or lost

    outcomes: Counter[tuple[str, str | None]] = Counter()
    admin = api.staff_token(ADMIN)
    for job_id in job_ids:
        [outcome] = settled(api, admin, job_id)["outcomes"]
        assert outcome["engagement_id"] == DEMO_CUSTOMER_ID
        outcomes[outcome["state"], outcome["reason"]] += 1
    assert outcomes == {("succeeded", None): 1, ("excluded", "capped_today"): len(bearers) - 1}, outcomes


# helpers -------------------------------------------------------------------------------------
def file_token(api: Api, email: str) -> str:
    return api.emailed_token(email, PREFIX + FILE_ACCEPT_PAGE)


def linked_demo_bank(api: Api, customer: str) -> None:
    """The demo customer's Demo Bank connection, made by the local system at start-up, is linked."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        status, connections = api.call("GET", "/connections", customer)
        if status == 200 and any(c["status"] == "linked" for c in connections):
            return
        time.sleep(0.2)
    pytest.fail("the demo customer's bank was not linked")


def accept_first_account(api: Api, customer_id: str) -> None:
    """The firm accepts the customer's first account (a refresh imports accepted accounts only)."""
    admin = api.staff_token(ADMIN)
    status, accounts = api.call("GET", f"/customers/{customer_id}/accounts", admin)
    assert status == 200 and accounts["new_accounts"], accounts
    account_id = accounts["new_accounts"][0]["account_id"]
    status, accepted = api.call("POST", f"/customers/{customer_id}/accounts/{account_id}/accept", admin)
    assert status == 200, accepted


def settled(api: Api, bearer: str, job_id: str) -> dict[str, Any]:
    """The job once nothing of it is pending, queued or running (the pumps do the work)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        status, job = api.call("GET", f"/data-refresh/jobs/{job_id}", bearer)
        assert status == 200, job
        counts = job["counts"]
        if counts["pending"] + counts["queued"] + counts["running"] == 0:
            return dict(job)
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still in flight after {SETTLE_SECONDS} s: {counts}")
        time.sleep(0.2)
