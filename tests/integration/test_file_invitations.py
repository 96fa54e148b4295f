"""Grantee invitations on the wire: one answer for every bad token, concurrent accepts, the daily
job, the local page (R-ACC-3, R-INV-2, R-INV-4). The reminder and token rules themselves are tested
on the fakes, in tests/unit/test_file_access_rules.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from functions.invitations_api import handler as invitations
from functions.reminders_job.handler import run as run_reminders_job
from local.environment import common_environment
from local.outbox import sent_emails
from local.web_app import PREFIX as WEB_PREFIX
from shared import bootstrap
from shared.clock import now as business_now
from shared.domain.errors import DomainError
from shared.domain.files import AccessLevel
from shared.domain.identity import Principal
from shared.services.emails import FILE_ACCEPT_PAGE
from shared.services.file_access import accept_file_invitation, grant_member_access
from tests.conftest import clock_start
from tests.integration.file_access_support import (
    MANAGER,
    PHONE,
    FileWorld,
    actor,
    api,
    file_tokens,
    new_file,
    seed_staff,
)
from tests.integration.onboarding_support import Person, call, invitation_tokens

KID = Person("kid-sub", "kid@example.org")


INVALID = (
    404,
    {
        "code": "invitation_invalid",
        "message": "This invitation link is not valid. Ask your adviser to send a new one.",
    },
)


@pytest.fixture
def world(aws) -> FileWorld:
    seed_staff()
    world = new_file()
    world.add_member("Kid", "child")
    return world


def at(day: float):
    """The file-access ports `day` days after the test's start."""
    ports = bootstrap.file_access()
    return replace(ports, clock=lambda: clock_start() + timedelta(days=day))


def grant_kid(world: FileWorld, ports=None) -> None:
    grant_member_access(
        ports or at(0),
        actor(MANAGER),
        world.file_id,
        world.members["Kid"],
        email=KID.email,
        phone=PHONE,
        level=AccessLevel.READ_ONLY,
    )


def test_the_daily_job_sends_grantee_reminders_too(world):
    grant_kid(
        world, replace(bootstrap.file_access(), clock=lambda: business_now() - timedelta(days=7, hours=1))
    )
    result = run_reminders_job({"job": "invitation-reminders"})
    assert result["file_invitations"]["reminders_sent"] == 1
    assert {"reminders_sent", "expired", "skipped", "failed"} <= set(result)  # the customers' part


def test_wrong_used_and_other_kinds_of_tokens_get_one_answer(world):
    grant_kid(world, bootstrap.file_access())
    [token] = file_tokens(KID.email)
    wrong = token[:-1] + ("B" if token.endswith("A") else "A")  # one character off
    answers = [
        api("POST", "/file-invitations/verify", None, body={"token": "x" * 43}),
        api("POST", "/file-invitations/accept", KID, body={"token": wrong}),
    ]
    # A customer's onboarding token is not a file token, and the other way round.
    [customer_token] = invitation_tokens("jane.holder@example.org")
    answers.append(api("POST", "/file-invitations/verify", None, body={"token": customer_token}))
    answers.append(call(invitations, "POST", "/invitations/verify", None, body={"token": token}))
    assert api("POST", "/file-invitations/accept", KID, body={"token": token})[0] == 200
    answers.append(api("POST", "/file-invitations/accept", KID, body={"token": token}))  # used
    answers.append(api("POST", "/file-invitations/verify", None, body={"token": token}))
    assert answers == [INVALID] * len(answers)


def outcome(action: Any) -> str:
    try:
        action()
    except DomainError as error:
        return error.code
    return "ok"


def test_concurrent_accepts_of_one_token_bind_it_once(world, atomic_aws_requests):
    from concurrent.futures import ThreadPoolExecutor

    grant_kid(world, bootstrap.file_access())
    [token] = file_tokens(KID.email)
    ports = bootstrap.file_access()
    people = [Principal(f"person-{n}", KID.email) for n in range(6)]  # the invited address
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda p: outcome(lambda: accept_file_invitation(ports, p, token)), people))
    assert sorted(codes) == ["invitation_invalid"] * 5 + ["ok"]
    winners = [p for p in people if ports.grants.links_of(p.user_id)]
    assert len(winners) == 1


POOL_SUB = "kid-pool-sub"  # the sub the pool gives the invitee's user


def test_the_emailed_link_opens_the_consoles_screen_and_its_api_calls_accept(world, monkeypatch):
    """The link opens the web console's accept screen (web/src/pages/AcceptInvitation.tsx, driven in a
    browser by tests/e2e); here, the API calls that screen makes: verify, then accept once signed in."""
    local_base = "http://127.0.0.1:3000"
    monkeypatch.setenv("APP_BASE_URL", common_environment(local_base)["APP_BASE_URL"])
    bootstrap.reset()  # settings are read again (moto and its tables stay)
    grant_kid(world, bootstrap.file_access())
    [email] = [e for e in sent_emails() if KID.email in e.to]
    [link] = [link for link in email.links if "token=" in link]
    parsed = urlparse(link)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == local_base + WEB_PREFIX + FILE_ACCEPT_PAGE
    token = parse_qs(parsed.query)["token"][0]
    shown = api("POST", "/file-invitations/verify", None, body={"token": token})
    assert shown == (200, {"firm_name": "Demo Advisory LLP", "level": "read_only"})
    status, accepted = api(
        "POST", "/file-invitations/accept", Person(POOL_SUB, KID.email), body={"token": token}
    )
    assert status == 200 and accepted["file_label"] == "Jane Holder", accepted
    _, mine = api("GET", "/me/files", Person(POOL_SUB, KID.email))
    assert [f["file_id"] for f in mine["items"]] == [world.file_id]
    assert api("POST", "/file-invitations/verify", None, body={"token": token})[0] == 404  # single use


def test_create_account_makes_the_invitees_account_with_the_password_they_choose(world, monkeypatch):
    """Issue 15: no account yet, so the screen's first form makes one (create-account, no sign-in)."""
    from tests.integration.onboarding_support import use_fake_directory

    directory = use_fake_directory()
    grant_kid(world, bootstrap.file_access())
    [email] = [e for e in sent_emails() if KID.email in e.to]
    [link] = [link for link in email.links if "token=" in link]
    token = parse_qs(urlparse(link).query)["token"][0]

    weak = {"token": token, "password": "short"}
    assert api("POST", "/file-invitations/create-account", None, body=weak)[0] == 400
    assert directory.find_by_email(KID.email) is None  # nothing made; the link still works
    chosen = {"token": token, "password": "a-long-passphrase"}
    status, accepted = api("POST", "/file-invitations/create-account", None, body=chosen)
    assert status == 200 and accepted["file_label"] == "Jane Holder", accepted
    user = directory.find_by_email(KID.email)
    assert user is not None  # bound to the invited email, whatever was typed elsewhere
    _, mine = api("GET", "/me/files", Person(user.user_id, KID.email))
    assert [f["file_id"] for f in mine["items"]] == [world.file_id]
