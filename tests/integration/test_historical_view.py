"""R-PRIV-1 over HTTP on moto with the GoCardless sandbox (issue 17 item 1, part 1): Jane connected
her bank, the firm accepted an account and imported its lines; once her consent ends, imports stop
and every view of those accounts, connections and lines, the firm's and her own, still answers,
marked `historical` with the firm-local day the consent ended. A new consent makes them live again.
The rules are on the in-memory ports in tests/unit/test_consent_history_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from functions.connections_api import handler as connections_api
from functions.import_dispatcher import handler as dispatcher
from functions.invitations_api import handler as invitations
from shared import bootstrap
from shared.clock import CLOCK
from shared.domain.jobs import ImportJob
from shared.services.imports import import_connection
from tests.calendar_matrix import demo_firm_zone
from tests.conftest import FakeLambdaContext
from tests.integration.onboarding_support import ADMIN, ADVISER, INVITEE, OTHER_ADVISER, Person, call
from tests.integration.test_connections import approve_at_gocardless, callback
from tests.integration.test_imports import linked, stored

JANE = INVITEE
LIVE = (False, None)


@dataclass(frozen=True)
class Journey:
    job: ImportJob
    account_id: str

    @property
    def customer(self) -> dict[str, str]:
        return {"customer_id": self.job.customer_id}

    @property
    def connection(self) -> dict[str, str]:
        return {"connection_id": self.job.connection_id}


@pytest.fixture
def journey(sandboxes) -> Journey:
    job, account_id = linked(sandboxes)
    assert import_connection(bootstrap.imports(), job).outcome.value == "imported"
    return Journey(job, account_id)


def views(journey: Journey, staff: Person = ADMIN) -> dict[str, list[tuple[str, bool, Any]]]:
    """(id, historical, consent_ended_on) of each row of every view of the journey's data: the
    firm's three and the customer's three."""

    def get(module: Any, route: str, user: Person, path: dict[str, str] | None = None) -> Any:
        status, body = call(module, "GET", route, user, path_parameters=path)
        assert status == 200, body
        return body

    def marks(rows: list[dict[str, Any]], key: str) -> list[tuple[str, bool, Any]]:
        return [(row[key], row["historical"], row["consent_ended_on"]) for row in rows]

    accounts = get(invitations, "/customers/{customer_id}/accounts", staff, journey.customer)
    lines = get(invitations, "/customers/{customer_id}/transactions", staff, journey.customer)
    mine = get(connections_api, "/me/accounts", JANE)
    my_connections = get(connections_api, "/me/connections", JANE)
    return {
        "staff accounts": marks(accounts["new_accounts"] + accounts["connected_accounts"], "account_id"),
        "staff connections": marks(
            get(connections_api, "/customers/{customer_id}/connections", staff, journey.customer),
            "connection_id",
        ),
        "staff transactions": marks(lines["items"], "transaction_id"),
        "my accounts": marks([a for f in mine["firms"] for a in f["accounts"]], "account_id"),
        "my connections": marks(
            [c for f in my_connections["firms"] for c in f["connections"]], "connection_id"
        ),
        "connections": marks(get(connections_api, "/connections", JANE), "connection_id"),
    }


def states(shown: dict[str, list[tuple[str, bool, Any]]]) -> dict[str, set[tuple[bool, Any]]]:
    return {view: {(historical, day) for _, historical, day in rows} for view, rows in shown.items()}


def deauthorise_after_local_midnight(journey: Journey) -> date:
    """Jane deauthorises at 00:30 on the firm's next day (a day UTC has not reached yet whenever the
    firm is ahead of it, as London is in summer): that firm-local day."""
    zone = ZoneInfo(demo_firm_zone())
    day = CLOCK.now().astimezone(zone).date() + timedelta(days=1)
    CLOCK.set(datetime.combine(day, time(0, 30), zone).astimezone(UTC))
    status, revoked = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/deauthorise",
        JANE,
        path_parameters=journey.connection,
    )
    assert (status, revoked["status"]) == (200, "revoked")
    return day


def test_a_revoked_consent_leaves_every_view_readable_and_marked_historical(journey: Journey):
    before = views(journey)
    assert all(rows for rows in before.values()), before  # every view has rows to mark
    assert set().union(*states(before).values()) == {LIVE}

    day = deauthorise_after_local_midnight(journey)

    after = views(journey)
    assert states(after) == {view: {(True, day.isoformat())} for view in before}
    # the same rows: nothing was hidden or removed, only marked
    assert {view: [row[0] for row in rows] for view, rows in after.items()} == {
        view: [row[0] for row in rows] for view, rows in before.items()
    }


def test_imports_stop_the_daily_run_refresh_and_a_queued_job_touch_nothing(journey: Journey):
    lines = stored(journey.job)
    deauthorise_after_local_midnight(journey)

    answer = dispatcher.lambda_handler({"job": "daily-import"}, FakeLambdaContext())
    assert answer == {"jobs_queued": 0}  # out of the active index with its consent
    assert (
        import_connection(bootstrap.imports(), journey.job).outcome.value == "not_importable"
    )  # one queued before
    for module, route, user in (
        (connections_api, "/connections/{connection_id}/refresh", JANE),
        (connections_api, "/firm/connections/{connection_id}/refresh", ADMIN),
    ):
        status, refused = call(module, "POST", route, user, path_parameters=journey.connection)
        assert (status, refused["code"]) == (409, "connection_revoked")
    status, queued = call(
        connections_api, "POST", "/customers/{customer_id}/imports", ADMIN, path_parameters=journey.customer
    )
    assert (status, queued) == (202, {"jobs_queued": 0, "already_queued": 0})
    assert stored(journey.job) == lines


def test_a_lapsed_consent_is_historical_from_its_expiry_day_and_a_new_consent_makes_it_live(
    sandboxes, journey: Journey
):
    _, [connection] = call(
        connections_api,
        "GET",
        "/customers/{customer_id}/connections",
        ADMIN,
        path_parameters=journey.customer,
    )
    expires_at = datetime.fromisoformat(connection["expires_at"])
    expiry_day = expires_at.astimezone(ZoneInfo(demo_firm_zone())).date().isoformat()
    CLOCK.set(expires_at + timedelta(days=2))  # no import has found it expired yet

    lapsed = states(views(journey))
    assert lapsed == {view: {(True, expiry_day)} for view in lapsed}
    status, checked = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/refresh",
        JANE,
        path_parameters=journey.connection,
    )
    assert (status, checked["status"], checked["import_state"]) == (202, "expired", "not_queued")
    assert set().union(*states(views(journey)).values()) == {(True, expiry_day)}  # found expired: same day

    status, again = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/reauthorise",
        JANE,
        path_parameters=journey.connection,
    )
    assert status == 200 and callback(approve_at_gocardless(sandboxes, again["consent_url"])) == "linked"
    assert set().union(*states(views(journey)).values()) == {LIVE}


@pytest.mark.parametrize(
    ("staff", "why"),
    [(ADVISER, "not assigned"), (OTHER_ADVISER, "another firm")],
    ids=["adviser", "other_firm"],
)
def test_staff_who_may_not_see_the_customer_get_a_404_historical_or_not(
    journey: Journey, staff: Person, why: str
):
    deauthorise_after_local_midnight(journey)
    for module, route in (
        (invitations, "/customers/{customer_id}/accounts"),
        (invitations, "/customers/{customer_id}/transactions"),
        (connections_api, "/customers/{customer_id}/connections"),
    ):
        status, body = call(module, "GET", route, staff, path_parameters=journey.customer)
        assert (status, body["code"]) == (404, "not_found"), (why, route)


def test_bad_input_is_a_400_and_no_token_a_401(journey: Journey):
    too_long = {"customer_id": "c" * 41}
    for module, route in (
        (invitations, "/customers/{customer_id}/accounts"),
        (connections_api, "/customers/{customer_id}/connections"),
    ):
        assert call(module, "GET", route, ADMIN, path_parameters=too_long)[0] == 400
        assert call(module, "GET", route, None, path_parameters=journey.customer)[0] == 401
    assert call(connections_api, "GET", "/connections", None)[0] == 401
    status, error = call(
        invitations, "GET", "/customers/{customer_id}/transactions", ADMIN, path_parameters=journey.customer,
        query={"from": "yesterday"},
    )  # fmt: skip
    assert (status, error["code"]) == (400, "invalid_request")
