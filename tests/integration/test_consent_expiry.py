"""Consent expiring soon (issue 16 item 5, seed 003) end to end on moto, with GoCardless and Plaid
answering as their documentation describes (an end user agreement's `accepted` +
`access_valid_for_days`; an Item's `consent_expiration_time`): the daily `consent-reminders` run, the
`expires_soon` flag on both lists, and `POST /connections/reauthorise`."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from functions.connections_api import handler as connections_api
from functions.reminders_job import handler as reminders_job
from local.demo_data import DEMO_FIRM
from local.outbox import sent_emails
from shared import bootstrap
from shared.clock import CLOCK
from shared.domain.connections import Connection, ConnectionStatus
from shared.ports.connections import ConnectionAddress
from tests.conftest import FakeLambdaContext
from tests.fixtures.aggregator import documented as doc
from tests.fixtures.aggregator.fake_api import reply
from tests.integration.documented_providers import (
    connect,
    documented,
    gc_path,
    invited_customer,
    script_gocardless,
    script_plaid,
)
from tests.integration.onboarding_support import ADMIN, INVITEE, call

__all__ = ["documented"]


def zulu(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def linked_with_both(providers, plaid_expiry: datetime) -> tuple[str, str, str]:
    """Jane's GoCardless connection (90 days from the agreement's acceptance) and Plaid Item (its
    documented `consent_expiration_time`): (customer id, GoCardless id, Plaid id)."""
    customer_id = invited_customer()
    script_gocardless(providers, {"acc-1": "GB33BUKB20201555555555"})
    gocardless = connect(providers, "gocardless", customer_id)
    item = doc.plaid_item(consent_expiration_time=zulu(plaid_expiry))
    script_plaid(providers, {**doc.PLAID_ACCOUNTS, "item": item})
    plaid = connect(providers, "plaid", customer_id)
    return customer_id, gocardless, plaid


def run_reminders() -> dict:
    return reminders_job.lambda_handler({"job": "consent-reminders"}, FakeLambdaContext())


def reminders_to(address: str) -> list[str]:
    """The connection id each consent reminder emailed to `address` is about, oldest first."""
    return [
        parse_qs(urlsplit(link).query)["connection_id"][0]
        for email in sent_emails()
        if address in email.to
        for link in email.links
        if "/connections/reauthorise" in link
    ]


def flags(customer_id: str) -> tuple[dict[str, bool], dict[str, bool]]:
    """`expires_soon` per connection as the customer and as the firm see it."""
    _, mine = call(connections_api, "GET", "/connections", INVITEE)
    _, theirs = call(
        connections_api,
        "GET",
        "/customers/{customer_id}/connections",
        ADMIN,
        path_parameters={"customer_id": customer_id},
    )
    return ({c["connection_id"]: c["expires_soon"] for c in mine},
            {c["connection_id"]: c["expires_soon"] for c in theirs})  # fmt: skip


def test_each_documented_consent_is_reminded_seven_days_before_it_lapses_once(documented):
    start = CLOCK.now()
    plaid_expiry = start + timedelta(days=60)
    customer_id, gocardless, plaid = linked_with_both(documented, plaid_expiry)
    [stored_gc] = [c for c in bootstrap.connections().connections.list_for_customer(
        DEMO_FIRM.firm_id, customer_id) if c.connection_id == gocardless]  # fmt: skip
    gc_expiry = stored_gc.expires_at
    assert gc_expiry is not None and timedelta(days=89) < gc_expiry - start <= timedelta(days=90)
    assert run_reminders()["reminders_sent"] == 0

    CLOCK.set(plaid_expiry - timedelta(days=7) + timedelta(hours=1))
    assert run_reminders() == {"reminders_sent": 1, "skipped": 0, "failed": 0}
    assert reminders_to(INVITEE.email) == [plaid]
    assert flags(customer_id) == ({gocardless: False, plaid: True}, {gocardless: False, plaid: True})
    assert run_reminders()["reminders_sent"] == 0  # a retried run sends nothing twice

    CLOCK.set(gc_expiry - timedelta(days=6))
    assert run_reminders()["reminders_sent"] == 1
    assert reminders_to(INVITEE.email) == [plaid, gocardless]
    assert flags(customer_id)[0] == {gocardless: True, plaid: False}  # the Item has lapsed by now


@pytest.mark.parametrize(
    ("status", "code"), [(429, "aggregator_rate_limited"), (503, "aggregator_unavailable")]
)
def test_reauthorise_all_renews_every_lapsing_connection_and_reports_each_failure_alone(
    documented, status, code
):
    start = CLOCK.now()
    _, gocardless, plaid = linked_with_both(documented, start + timedelta(days=89))
    other = _another_customers_expiring_connection(start + timedelta(days=3))
    CLOCK.set(start + timedelta(days=84))  # both lapse within 7 days
    failure = reply(status, {"summary": "Try later", "detail": "Try later", "status_code": status})
    documented.gocardless_api.on("POST", gc_path("requisitions"), failure)

    answered, answer = call(connections_api, "POST", "/connections/reauthorise", INVITEE)
    assert answered == 200, answer
    by_id = {a["connection"]["connection_id"]: a for a in answer}
    assert set(by_id) == {gocardless, plaid}  # never another customer's
    assert by_id[plaid]["started"] and by_id[plaid]["link_token"] == doc.LINK_TOKEN
    failed = by_id[gocardless]
    assert not failed["started"] and failed["consent_url"] is None
    assert (failed["error"]["status"], failed["error"]["code"]) == (status, code)

    documented.gocardless_api.on("POST", gc_path("requisitions"), reply(201, doc.gc_requisition("CR")))
    _, again = call(connections_api, "POST", "/connections/reauthorise", INVITEE)
    single = call(
        connections_api,
        "POST",
        "/connections/{connection_id}/reauthorise",
        INVITEE,
        path_parameters={"connection_id": gocardless},
    )[1]
    renewed = {a["connection"]["connection_id"]: a for a in again}[gocardless]
    assert renewed["started"] and renewed["consent_url"] == single["consent_url"]  # as the single route
    assert bootstrap.connections().connections.get(_address(other)) == other  # untouched


def test_reauthorise_all_is_for_customers_and_renews_nothing_healthy(documented):
    linked_with_both(documented, CLOCK.now() + timedelta(days=60))
    assert call(connections_api, "POST", "/connections/reauthorise", INVITEE) == (200, [])
    status, refused = call(connections_api, "POST", "/connections/reauthorise", ADMIN)
    assert (status, refused["code"]) == (403, "customers_only")


def _another_customers_expiring_connection(expires_at: datetime) -> Connection:
    connection = Connection(
        DEMO_FIRM.firm_id, "01JOTHERCUSTOMER00000000000", "01JOTHERCONNECTION000000000", "other-user",
        "gocardless", doc.INSTITUTION_ID, "Other Bank", ConnectionStatus.LINKED, CLOCK.now(),
        credential="other-requisition", expires_at=expires_at,
    )  # fmt: skip
    return bootstrap.connections().connections.save(connection, None)


def _address(connection: Connection) -> ConnectionAddress:
    return ConnectionAddress(connection.firm_id, connection.customer_id, connection.connection_id)
