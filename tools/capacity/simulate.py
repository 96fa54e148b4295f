"""A firm's day on the local system, every invocation recorded (issue 20).

`simulate(customers)` starts the local system in this process (moto, the sandboxes, the functions,
the queue pumps) with the recorder installed, onboards `customers` customers the way they are
onboarded (the adviser invites them; each creates their account from the emailed link, signs in
through the pool, accepts the EULA, connects the GoCardless sandbox's Demo Bank and approves the
consent; the adviser accepts every account offered; the first import follows), moves the business
clock to the next day and runs that day's activities, each waited for until every queue is empty
and no invocation runs:

- `daily_import`: the `daily-import` schedule (one import job per connection);
- `data_refresh`: one Data Refresh of every engagement (`all_matching`), by the admin;
- `staff_api`: per customer, the adviser opens the customer, their accounts and their
  transactions; and per day the admin's dashboard and customer list (first pages);
- `customer_visit`: per customer, a sign-in, `GET /me`, `GET /connections` (weighted by
  `Mix.customer_visits_per_day`: most customers do not come every day);
- `schedules`: the invitation and consent reminders and the erasure sweep once; `digests`: the
  notification digests once (hourly on AWS: weighted 24). The local scheduler's own timers are off:
  every run is the simulation's.

What is not simulated (and so not in the figures): Plaid connections and their webhooks (the
mix has GoCardless connections only), exports, client-file uploads, erasure.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx

from tools.capacity.record import Recorder, Recording, gsi_entries

PASSWORD = "Capacity-Passw0rd!"  # noqa: S105 # nosec B105 # the simulated customers', in the local pool
DEMO_INSTITUTION = "DEMOBANK_DMBKGB2L"
CONNECTIONS_PER_CUSTOMER = 1  # each simulated customer connects one bank (two accounts)
SETTLE_SECONDS = 600  # the longest a phase may take to drain (bounded loops)
IDLE_CHECKS = 3  # consecutive idle readings before a phase is over


@dataclass(frozen=True)
class Mix:
    """What a typical day holds: how often each simulated activity happens a day (weights)."""

    daily_import: float = 1.0  # the schedule, every day
    data_refresh: float = 1.0  # one Data Refresh of everything a day (the mix)
    staff_api: float = 1.0  # each customer opened by their adviser once a day (3 reads)
    # A customer signs in about twice a quarter: to renew a consent (90 days at most) and once between.
    customer_visit: float = 1 / 45
    schedules: float = 1.0  # the daily schedules: invitation and consent reminders, erasure sweep
    digests: float = 24.0  # notification-digests runs hourly

    def weight(self, activity: str) -> float:
        return float(getattr(self, activity))


ACTIVITIES = ("daily_import", "data_refresh", "staff_api", "customer_visit", "schedules", "digests")


@dataclass
class Simulated:
    customers: int
    recording: Recording
    storage_bytes: dict[str, int]  # logical table -> bytes at the end (items and GSI entries)
    storage_before_day: dict[str, int]  # the same once onboarded, before the simulated day


_recorder: Recorder | None = None
_installed = ExitStack()


def _unpaced() -> None:
    """A day's work runs here within minutes: GoCardless's per-minute pace would refuse (and delay by
    a minute or more) what a real day spreads over hours, more so the more customers are simulated,
    which would bend the figures' lines. Its limit is lifted (each request still spends one conditional
    update, so the pace's writes stay in the figures); refusals are no part of a day's work."""
    from shared import bootstrap

    os.environ["GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE"] = str(10**9)
    bootstrap.reset()  # the settings and the adapters built from them


def simulate(customers: int) -> Simulated:
    """Onboard `customers` customers on a fresh local system, then run and record one day."""
    from local.scheduler import Scheduler
    from local.system import start_local_system
    from local.user_pool import running_pool

    # The scheduler's timers end at once: each schedule's run is the simulation's.
    Scheduler._run_schedule = lambda self, name: None  # type: ignore[method-assign]
    recorder = _installed_recorder()
    recorder.show_logs = bool(os.environ.get("CAPACITY_LOGS"))
    recorder.recording = Recording()
    system = start_local_system(0, 0, outer={}, state_file=None)
    _unpaced()
    serving = threading.Thread(target=system.serve_forever, name="capacity-server", daemon=True)
    serving.start()
    try:
        recorder.provider_urls = (f"{system.base_url}/sandbox/",)
        api = _Api(system.base_url, running_pool(system.server.port))
        idle = _Idle(recorder)
        with recorder.activity("setup"):
            ids = [_onboard(api, index) for index in range(customers)]
            idle.wait()
        storage_before = _storage(recorder)
        api.call("POST", "/_local/clock", None, {"advance": "P1D"})
        with recorder.activity("daily_import"):
            api.call("POST", "/_local/schedules/daily-import/run", None)
            idle.wait()
        with recorder.activity("data_refresh"):
            admin = api.token("admin@demo-advisory.example")
            status, job = api.call("POST", "/data-refresh/jobs", admin, {"all_matching": {}})
            assert status == 202, job
            idle.wait()
        with recorder.activity("staff_api"):
            _staff_day(api, ids)
            idle.wait()
        with recorder.activity("customer_visit"):
            for index in range(customers):
                bearer = api.sign_in(_email(index))
                api.call("GET", "/me", bearer)
                api.call("GET", "/connections", bearer)
            idle.wait()
        with recorder.activity("schedules"):
            for schedule in ("invitation-reminders", "consent-reminders", "erasure-sweep"):
                api.call("POST", f"/_local/schedules/{schedule}/run", None)
            idle.wait()
        with recorder.activity("digests"):
            api.call("POST", "/_local/schedules/notification-digests/run", None)
            idle.wait()
        return Simulated(customers, recorder.recording, _storage(recorder), storage_before)
    finally:
        system.stop()


def _installed_recorder() -> Recorder:
    global _recorder
    if _recorder is None:
        from infra.spec import TABLES

        _recorder = Recorder(tables={name: name for name in TABLES})
        _installed.enter_context(_recorder.installed())  # for the life of this process (one simulation)
    return _recorder


# the people's requests -----------------------------------------------------------------------------
class _Api:
    def __init__(self, base_url: str, pool: Any) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=60)
        self._pool = pool
        self._tokens: dict[str, str] = {}

    def call(self, method: str, path: str, bearer: str | None, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        response = self._http.request(method, path, headers=headers, json=body, follow_redirects=False)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"location": response.headers.get("location", "")}

    def sign_in(self, email: str, password: str = PASSWORD) -> str:
        return str(self._pool.sign_in(email, password))

    def token(self, email: str) -> str:
        """A demo staff member's token (their demo password), signed in once."""
        from local.user_pool import DEMO_PASSWORD

        if email not in self._tokens:
            self._tokens[email] = self.sign_in(email, DEMO_PASSWORD)
        return self._tokens[email]

    def emailed_token(self, to: str, page: str) -> str:
        for _ in range(200):
            from local.outbox import emailed_tokens

            if tokens := emailed_tokens(self.call("GET", "/_local/outbox", None)[1], to, page):
                return tokens[-1]
            time.sleep(0.05)
        raise RuntimeError(f"no link to {page} emailed to {to}")


ADVISER = "adviser@demo-advisory.example"


def _email(index: int) -> str:
    return f"capacity-{index}@example.org"


def _onboard(api: _Api, index: int) -> str:
    """One customer from invitation to accepted accounts: their customer id."""
    from local.web_app import PREFIX
    from shared.services.emails import CUSTOMER_ACCEPT_PAGE

    adviser, email = api.token(ADVISER), _email(index)
    status, invited = api.call(
        "POST", "/customers/invitations", adviser, {"name": f"Customer {index}", "email": email}
    )
    assert status == 201, invited
    token = api.emailed_token(email, PREFIX + CUSTOMER_ACCEPT_PAGE)
    status, created = api.call(
        "POST", "/invitations/create-account", None, {"token": token, "password": PASSWORD}
    )
    assert status == 200, created
    bearer = api.sign_in(email)
    status, eula = api.call("GET", "/eula", bearer)
    assert status == 200, eula
    assert api.call("POST", "/me/eula", bearer, {"version": eula["version"]})[0] in (200, 201)
    body = {"provider": "gocardless", "institution_id": DEMO_INSTITUTION}
    status, connection = api.call("POST", "/connections", bearer, body)
    assert status == 201, connection
    consent = urlsplit(connection["consent_url"])
    _, answer = api.call("GET", consent.path + "/approve", None)
    back = urlsplit(answer["location"])
    api.call("GET", f"{back.path}?{back.query}", None)
    customer_id = str(invited["customer_id"])
    for _ in range(200):  # the accounts are offered once the callback's work is done
        status, accounts = api.call("GET", f"/customers/{customer_id}/accounts", adviser)
        if status == 200 and accounts["new_accounts"]:
            break
        time.sleep(0.05)
    for account in accounts["new_accounts"]:
        path = f"/customers/{customer_id}/accounts/{account['account_id']}/accept"
        status, accepted = api.call("POST", path, adviser)
        assert status == 200, accepted
    return customer_id


def _staff_day(api: _Api, customer_ids: list[str]) -> None:
    adviser, admin = api.token(ADVISER), api.token("admin@demo-advisory.example")
    for path in ("/data-refresh/engagements", "/customers"):
        api.call("GET", path, admin)
    for customer_id in customer_ids:
        api.call("GET", f"/customers/{customer_id}", adviser)
        status, accounts = api.call("GET", f"/customers/{customer_id}/accounts", adviser)
        for account in (accounts.get("accepted_accounts") or [])[:1] if status == 200 else []:
            api.call(
                "GET", f"/customers/{customer_id}/accounts/{account['account_id']}/transactions", adviser
            )


# waiting for the work to be done -------------------------------------------------------------------
class _Idle:
    """Every queue empty (visible, in flight, delayed) and no invocation running, several times in a row.
    Its SQS client is of a session of its own: the recorder does not see these calls."""

    def __init__(self, recorder: Recorder) -> None:
        self._sqs = boto3.session.Session().client("sqs")
        self._recorder = recorder

    def wait(self) -> None:
        deadline, quiet = time.monotonic() + SETTLE_SECONDS, 0
        while quiet < IDLE_CHECKS:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local system was still busy after {SETTLE_SECONDS} s")
            quiet = quiet + 1 if self._idle() else 0
            time.sleep(0.2)

    def _idle(self) -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        for url in self._sqs.list_queues().get("QueueUrls", []):
            attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            if any(int(attributes.get(name, 0)) for name in names):
                return False
        return self._recorder.running() == 0


# what is stored -------------------------------------------------------------------------------------
ITEM_OVERHEAD_BYTES = 100  # DynamoDB bills 100 bytes more per item, and per GSI entry


def _storage(recorder: Recorder) -> dict[str, int]:
    """Each table's billed bytes: items and GSI entries, with their overhead (read from moto)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from local import moto_patches
    from local.fake_aws import REGION

    sizes: dict[str, int] = {}
    with moto_patches.REQUEST_LOCK:
        for table in dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables.values():
            total = 0
            for item in table.all_items():
                entries = gsi_entries(table, item).values()
                total += (
                    item.size() + sum(size for *_, size in entries) + ITEM_OVERHEAD_BYTES * (1 + len(entries))
                )
            logical = recorder.tables.get(table.name, table.name)
            sizes[logical] = sizes.get(logical, 0) + total
    return sizes


def main(argv: list[str] | None = None) -> None:
    """`python -m tools.capacity.simulate --customers N --out FILE`: one simulated day, pickled to FILE
    (a process each: moto's backends and the functions' cached clients are process-wide)."""
    import argparse
    import pickle
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    simulated = simulate(args.customers)
    args.out.write_bytes(pickle.dumps(simulated))


if __name__ == "__main__":  # the module's own copy, so that what is pickled names tools.capacity.simulate
    from tools.capacity.simulate import main as simulate_main

    simulate_main()
