"""Composition root of the local system: moto, the spec's resources, the demo data, the
functions, the API gateway, the queue pumps, the scheduler, the outbox and the sandbox, in
one process."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra.spec import QUEUES, ROUTES, SCHEDULES, SECRETS
from local import console, hosted_ui, state
from local.authorizer import JwtAuthorizer
from local.demo_connection import DemoConnection
from local.demo_data import DEMO_USERS, DemoUser, create_demo_users, seed_demo_data
from local.environment import (
    EMAIL_SENDER,
    GOCARDLESS_SANDBOX_MOUNT,
    PLAID_SANDBOX_MOUNT,
    SES_CONFIGURATION_SET,
    aggregator_urls,
    app_base_url,
    handler_environment,
)
from local.fake_aws import HOST, REGION, FakeAws, start_fake_aws
from local.functions import Functions
from local.gateway import ApiGateway
from local.hosted_ui import HostedUi
from local.identity_api import PREFIX as IDENTITY_API_PREFIX
from local.identity_api import IdentityApi
from local.outbox import OutboxPrinter, sent_email_count, sent_emails
from local.provision import Resources, provision
from local.queue_pump import QueuePump
from local.routing import RouteTable
from local.sandbox.gocardless import GoCardlessSandbox
from local.sandbox.plaid import PlaidSandbox
from local.scheduler import Scheduler
from local.server import LocalHttpServer, dispatcher, mounted
from local.token_check import TokenIssueChecks
from local.user_pool import DEMO_PASSWORD, LocalPool
from local.web_app import PREFIX as WEB_PREFIX
from local.web_app import WebApp
from local.webhooks import webhook_poster
from shared.clock import CLOCK
from shared.clock import now as business_now

DATA_TABLE = "data"  # the spec's TABLES key of the table the demo data goes to
log = logging.getLogger("local.system")
SAVE_WAIT_SECONDS = 10  # at a stop, for the requests being answered before the state is saved


@dataclass
class LocalSystem:
    fake_aws: FakeAws
    server: LocalHttpServer
    stop_signal: threading.Event = field(default_factory=threading.Event)
    workers: list[QueuePump | Scheduler | OutboxPrinter | DemoConnection] = field(default_factory=list)
    aggregator_urls: dict[str, str] = field(default_factory=dict)  # set from the outer environment
    users: tuple[DemoUser, ...] = DEMO_USERS  # with the subs the pool gave them, once wired
    hosted_ui: HostedUi | None = None  # the pool's sign-in pages, once wired
    state_file: Path | None = None  # where the state is kept across restarts (local/state.py); None: not kept
    restored: bool = False  # started from the saved state
    saving: dict[str, Any] = field(default_factory=dict)  # what a saved state needs, once wired
    serving: threading.Thread | None = None  # the server loop's thread, once serve_forever runs

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server.port}"

    def serve_forever(self) -> None:
        """Serve until Ctrl-C/SIGTERM (KeyboardInterrupt here). The server loop runs in its own thread:
        a signal landing inside it, between an accept and the handler's start, left a connection that
        was never answered (the demo connection's request waited its 30 s timeout at a stop)."""
        self.serving = threading.Thread(target=self.server.serve_forever, name="http-server", daemon=True)
        self.serving.start()
        while self.serving.is_alive():
            self.serving.join(timeout=1.0)

    def stop(self) -> None:
        self.stop_signal.set()
        # The server loop ends and its socket closes first, so a worker's request to this server (the
        # demo connection's, an import's call to a mounted sandbox) is refused at once, not left waiting.
        if self.serving is not None:  # shutdown() waits for a loop that was started
            self.server.shutdown()
        self.server.server_close()
        for worker in self.workers:
            worker.join()
        if self.state_file is not None and self.saving:
            self._save(self.state_file)
        self.fake_aws.stop()

    def _save(self, path: Path) -> None:
        """Save the state once the requests still being answered are done; if they are not within
        SAVE_WAIT_SECONDS, or the save fails, the previous file (if any) stays and the log says so."""
        if not self.server.wait_idle(SAVE_WAIT_SECONDS):
            log.warning(
                "requests still running after %d s: state not saved (the previous file stays)",
                SAVE_WAIT_SECONDS,
            )
            return
        try:
            self._write_state(path)
        except Exception:
            log.exception("state not saved (the previous file stays)")

    def _write_state(self, path: Path) -> None:
        sandboxes = {mount: sandbox.state for mount, sandbox in self.saving["sandboxes"].items()}
        snapshot = state.capture(
            base_url=self.base_url,
            resources=self.saving["resources"],
            users=self.users,
            totp_secret=self.saving["totp_secret"],
            clock_offset=CLOCK.offset,
            sandboxes=sandboxes,
        )
        size = state.save(snapshot, path)
        log.info("state saved to %s (%d kB): the next `make run` restores it", path, size // 1024)

    def banner(self) -> str:
        url = self.base_url
        users = "\n".join(f"  {user.email:<36} {user.role}" for user in self.users)
        return f"""
Local system running (AWS on moto at {self.fake_aws.endpoint_url}; Ctrl-C stops everything)
  Web console         {url}{WEB_PREFIX}/   (sign in as a demo user below)
  API                 {url}
  API docs            {url}/docs
  Outbox (emails)     {url}{console.PREFIX}/outbox
  Schedules           {url}{console.PREFIX}/schedules
                      run one now: curl -X POST {url}{console.PREFIX}/schedules/<name>/run
  Sign-in pages       {url}{hosted_ui.PREFIX}/.well-known/openid-configuration   (the pool's hosted pages)
  Business clock      {url}{console.PREFIX}/clock   (now {business_now():%Y-%m-%d %H:%M:%S} UTC)
                      move it: curl -X POST {url}{console.PREFIX}/clock -d '{{"advance": "P7D"}}'
  GoCardless sandbox  {url}{GOCARDLESS_SANDBOX_MOUNT}
  Plaid sandbox       {url}{PLAID_SANDBOX_MOUNT}   (Link: {url}{PLAID_SANDBOX_MOUNT}/link/<link_token>)
{self._aggregator_lines()}{self._state_line()}Demo users (password {DEMO_PASSWORD}, in the user pool on moto)
{users}
{self._demo_bank_line()}Token: make token USER=<email>   (signs in through the pool; default: the admin), then
  curl -H "Authorization: Bearer $(make -s token)" {url}/me
"""

    def _demo_bank_line(self) -> str:
        if self.restored:
            return ""  # the restored state has whatever connections it had
        return "  The customer's bank (Demo Bank, GoCardless sandbox) is connected in the first seconds.\n"

    def _state_line(self) -> str:
        if self.state_file is None:
            return ""
        done = "restored from" if self.restored else "saved at Ctrl-C to"
        return f"  State               {done} {self.state_file}   (make run FRESH=1 starts afresh)\n"

    def _aggregator_lines(self) -> str:
        """The aggregators used instead of a built-in sandbox (set in the environment)."""
        return "".join(f"  Using {name}={value}\n" for name, value in self.aggregator_urls.items())


def start_local_system(
    port: int, moto_port: int = 0, outer: Mapping[str, str] | None = None, state_file: Path | None = None
) -> LocalSystem:
    """Everything up and the HTTP server bound; the caller runs `serve_forever()`. `outer` is the
    environment it was started in: only the aggregators' base URLs are read from it. With `state_file`,
    the state saved there at the last stop is restored (state.StateError if it cannot be), and the
    state is saved there at this one's stop."""
    chosen = aggregator_urls(outer or {})  # refused before anything starts
    fake_aws = start_fake_aws(moto_port)
    try:
        server = LocalHttpServer(HOST, port)
    except OSError:
        fake_aws.stop()
        raise
    system = LocalSystem(fake_aws, server, aggregator_urls=chosen, state_file=state_file)
    try:
        _wire(system)
    except BaseException:
        system.saving.clear()  # nothing of a failed start is saved over a kept state
        system.stop()
        raise
    if system.restored and (outer or {}).get("CLOCK_AT"):
        log.warning(
            "CLOCK_AT is not used: the restored state keeps its business time (FRESH=1 starts afresh)"
        )
    return system


def _wire(system: LocalSystem) -> None:
    saved = state.load(system.state_file, system.base_url) if system.state_file else None
    if saved is not None:
        state.restore_backends(saved)
        CLOCK.advance(saved.clock_offset - CLOCK.offset)  # business time goes on from where it was
        resources, system.users, system.restored = saved.resources, saved.users, True
    else:
        resources = provision(EMAIL_SENDER, SES_CONFIGURATION_SET, app_base_url(system.base_url))
    os.environ.update(handler_environment(resources.resolve(), system.base_url, system.aggregator_urls))
    pool = LocalPool(
        system.fake_aws.endpoint_url,
        REGION,
        resources.user_pool.user_pool_id,
        resources.user_pool.client_id,
        totp_secret=saved.totp_secret if saved else "",
    )
    if saved is None:
        system.users = create_demo_users(pool.directory(), DEMO_PASSWORD)
        for user in system.users:  # the demo staff have their authenticator app (R-ID-4), as seeded below
            if user.role != "customer":
                pool = pool.enrol_totp(user.email, DEMO_PASSWORD)
        seed_demo_data(resources.tables[DATA_TABLE], system.users, now=business_now())
    functions = Functions.load()
    jwks = pool.jwks()
    # As API Gateway's JWT authorizer: the pool's issuer, the app client, the pool's keys.
    authorizer = JwtAuthorizer(pool.issuer, [pool.client_id], jwks)
    # moto runs no trigger: the pool's pre token generation check runs at each token issue's first request
    checks = TokenIssueChecks(functions.invoke)
    gateway = ApiGateway(RouteTable(ROUTES), authorizer, functions.invoke, on_token=checks.check)
    scheduler = Scheduler(
        SCHEDULES,
        invoke=functions.invoke,
        sqs=boto3.client("sqs"),
        dead_letter_queue_url=resources.schedules_dlq_url,
        stop=system.stop_signal,
    )
    local_console = console.LocalConsole(
        scheduler=scheduler, emails=sent_emails, jwks=jwks, user_pool=pool.as_dict()
    )
    sandbox = GoCardlessSandbox(public_base_url=system.base_url + GOCARDLESS_SANDBOX_MOUNT)
    plaid_keys = SECRETS["aggregator"].local_value
    plaid = PlaidSandbox(
        deliver_webhook=webhook_poster(system.base_url),
        public_base_url=system.base_url + PLAID_SANDBOX_MOUNT,
        client_id=plaid_keys["plaid_client_id"],
        secret=plaid_keys["plaid_secret"],
    )
    if saved is not None:
        sandbox.restore(saved.sandboxes[GOCARDLESS_SANDBOX_MOUNT])
        plaid.restore(saved.sandboxes[PLAID_SANDBOX_MOUNT])
    system.saving = {
        "resources": resources,
        "totp_secret": pool.totp_secret,
        "sandboxes": {GOCARDLESS_SANDBOX_MOUNT: sandbox, PLAID_SANDBOX_MOUNT: plaid},
    }
    system.hosted_ui = HostedUi(pool, system.base_url)
    web_app = WebApp(lambda: hosted_ui.web_config(system))
    mounts = {
        hosted_ui.PREFIX: system.hosted_ui.handle,
        IDENTITY_API_PREFIX: IdentityApi(pool.aws_endpoint_url).handle,
        console.PREFIX: local_console.handle,
        WEB_PREFIX: web_app.handle,
        GOCARDLESS_SANDBOX_MOUNT: mounted(GOCARDLESS_SANDBOX_MOUNT, sandbox),
        PLAID_SANDBOX_MOUNT: mounted(PLAID_SANDBOX_MOUNT, plaid),
    }
    system.server.app = dispatcher(mounts, default=gateway.handle)
    system.workers = [
        *_queue_pumps(resources, functions, system.stop_signal),
        scheduler,
        OutboxPrinter(system.stop_signal, already_printed=sent_email_count() if system.restored else 0),
    ]
    if (
        "GOCARDLESS_BASE_URL" not in system.aggregator_urls and not system.restored
    ):  # the built-in Demo Bank, once
        customer = next(user.email for user in system.users if user.role == "customer")
        system.workers.append(
            DemoConnection(system.server.port, lambda: pool.sign_in(customer), system.stop_signal)
        )
    for worker in system.workers:
        worker.start()


def _queue_pumps(resources: Resources, functions: Functions, stop: threading.Event) -> list[QueuePump]:
    return [
        QueuePump(
            name,
            spec,
            queue_url=resources.queues[name].url,
            queue_arn=resources.queues[name].arn,
            invoke=functions.invoke,
            sqs=boto3.client("sqs"),  # one client per pump, shared by its batches (thread-safe)
            stop=stop,
        )
        for name, spec in QUEUES.items()
    ]
