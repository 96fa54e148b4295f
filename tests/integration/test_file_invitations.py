"""Grantee invitations: single-use tokens, reminders at 7 and 30 days once each, the local page
(R-ACC-3, R-INV-2, R-INV-4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlparse

import pytest

from functions.invitations_api import handler as invitations
from functions.reminders_job.handler import run as run_reminders_job
from local.app_pages import FILE_ACCEPT, AppPages
from local.demo_data import local_identity
from local.environment import common_environment
from local.http_types import HttpRequest
from local.outbox import sent_emails
from shared import bootstrap
from shared.clock import now as business_now
from shared.domain.email import EmailMessage
from shared.domain.errors import DomainError
from shared.domain.files import AccessLevel
from shared.domain.identity import Principal
from shared.services.customer_invitations import InvitationInvalid
from shared.services.file_access import (
    accept_file_invitation,
    grant_member_access,
    send_due_file_reminders,
    verify_file_invitation,
)
from tests.calendar_matrix import demo_firm_zone, scheduled_run
from tests.conftest import clock_start
from tests.integration.file_access_support import (
    MANAGER,
    PHONE,
    FileWorld,
    accept_latest,
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


def on_day(day: int):
    """The daily schedule's run on the firm's local day `day` after the test's start."""
    ports = bootstrap.file_access()
    return replace(ports, clock=lambda: scheduled_run(clock_start(), day, demo_firm_zone()))


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


@pytest.mark.calendar
def test_reminders_on_day_7_and_30_are_sent_once_each(world):
    grant_kid(world)
    outcomes = [send_due_file_reminders(on_day(day)) for day in (1, 7, 7, 8, 30, 30, 31)]
    assert [o["reminders_sent"] for o in outcomes] == [0, 1, 0, 0, 1, 0, 0]
    emails = [e for e in sent_emails() if KID.email in e.to]
    assert [e.subject for e in emails] == [
        "Demo Advisory LLP gives you access to a client file",
        "Reminder: Demo Advisory LLP gives you access to a client file",
        "Reminder: Demo Advisory LLP gives you access to a client file",
    ]
    # Only the newest link works: each reminder carries a fresh token (same expiry).
    tokens = file_tokens(KID.email)
    assert len(set(tokens)) == 3
    assert verify_file_invitation(at(31), tokens[-1]).level is AccessLevel.READ_ONLY
    for stale in tokens[:-1]:
        with pytest.raises(InvitationInvalid):
            verify_file_invitation(at(31), stale)
    # Past its lifetime the invitation expires and its link stops working; runs stay quiet after.
    assert send_due_file_reminders(at(46))["expired"] == 1
    with pytest.raises(InvitationInvalid):
        verify_file_invitation(at(46), tokens[-1])
    assert send_due_file_reminders(at(47)) == {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}
    _, log = api("GET", "/files/{file_id}/access-log", MANAGER, path_parameters=world.ids)
    reminded = [e["details"]["days"] for e in log["items"] if e["action"] == "access.invitation_reminded"]
    assert sorted(reminded) == [7, 30]
    assert "access.invitation_expired" in {e["action"] for e in log["items"]}
    # Saving the grant again sends a fresh invitation, reminded from zero.
    grant_kid(world, at(50))
    assert verify_file_invitation(at(50), file_tokens(KID.email)[-1]).level is AccessLevel.READ_ONLY


@pytest.mark.calendar
def test_a_missed_day_7_run_sends_one_reminder_on_day_31(world):
    grant_kid(world)
    assert send_due_file_reminders(on_day(31))["reminders_sent"] == 1
    assert send_due_file_reminders(on_day(31))["reminders_sent"] == 0
    assert sum(e.subject.startswith("Reminder") for e in sent_emails()) == 1


def test_an_accepted_invitation_is_never_reminded(world):
    grant_kid(world)
    accept_file_invitation(at(1), Principal(KID.sub, KID.email), file_tokens(KID.email)[-1])
    assert [send_due_file_reminders(at(day))["reminders_sent"] for day in (7, 30, 46)] == [0, 0, 0]


class FailingEmail:
    def send(self, message: EmailMessage) -> str:
        raise RuntimeError("SES is down")


def test_a_reminder_that_could_not_be_sent_is_tried_again(world):
    grant_kid(world)
    assert send_due_file_reminders(replace(at(7), email=FailingEmail()))["failed"] == 1
    assert sum(e.subject.startswith("Reminder") for e in sent_emails()) == 0
    assert send_due_file_reminders(at(8))["reminders_sent"] == 1
    assert send_due_file_reminders(at(9))["reminders_sent"] == 0
    # The link of the reminder that did go out works.
    assert verify_file_invitation(at(9), file_tokens(KID.email)[-1]).level is AccessLevel.READ_ONLY


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
    people = [Principal(f"person-{n}", f"p{n}@example.org") for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda p: outcome(lambda: accept_file_invitation(ports, p, token)), people))
    assert sorted(codes) == ["invitation_invalid"] * 5 + ["ok"]
    winners = [p for p in people if ports.files.links_of(p.user_id)]
    assert len(winners) == 1


class HandlerBackedPages(AppPages):
    """The local pages, calling the access handler in-process instead of the API over loopback."""

    def _call(
        self, method: str, path: str, body: dict[str, Any], bearer: str | None = None
    ) -> tuple[int, Any]:
        user = Person(*bearer.split("|")) if bearer else None
        return api(method, path, user, body=body)


class PlainIssuer:
    def id_token(self, *, sub: str, email: str, name: str) -> str:
        return f"{sub}|{email}"


def test_the_emailed_link_works_on_the_local_page(world, monkeypatch):
    local_base = "http://127.0.0.1:3000"
    monkeypatch.setenv("APP_BASE_URL", common_environment(local_base)["APP_BASE_URL"])
    bootstrap.reset()  # settings are read again (moto and its tables stay)
    grant_kid(world, bootstrap.file_access())
    [email] = [e for e in sent_emails() if KID.email in e.to]
    [link] = [link for link in email.links if "token=" in link]
    parsed = urlparse(link)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == local_base + FILE_ACCEPT
    pages = HandlerBackedPages("http://unused", PlainIssuer())  # type: ignore[arg-type]
    shown = pages.handle(HttpRequest("GET", f"{FILE_ACCEPT}?{parsed.query}"))
    assert shown.status == 200 and b"Demo Advisory LLP" in shown.body and b"read-only" in shown.body
    token = parsed.query.removeprefix("token=")
    form = urlencode({"token": token, "email": KID.email}).encode()
    accepted = pages.handle(HttpRequest("POST", FILE_ACCEPT, body=form))
    assert accepted.status == 200 and b"Jane Holder" in accepted.body, accepted.body
    me = local_identity(KID.email)
    _, mine = api("GET", "/me/files", Person(me.sub, me.email))
    assert [f["file_id"] for f in mine["items"]] == [world.file_id]
    assert pages.handle(HttpRequest("GET", f"{FILE_ACCEPT}?{parsed.query}")).status == 404  # single use


def test_accepting_twice_for_one_file_is_a_conflict(world):
    world.add_member("Kid's twin", "child")
    grant_kid(world, bootstrap.file_access())
    accept_latest(KID)
    world.grant_member("Kid's twin", Person("other", "twin@example.org"), "read_only")
    [token] = file_tokens("twin@example.org")
    status, answer = api("POST", "/file-invitations/accept", KID, body={"token": token})
    assert (status, answer["code"]) == (409, "already_has_access")
