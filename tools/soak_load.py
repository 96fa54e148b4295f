"""The soak's load (tools/soak.py): workers making the web console's requests as the demo staff and
customer, each request with a timeout, for a fixed duration; what every 2xx write answered is kept in
a `Ledger` for the checks afterwards (tools/soak_checks.py).

The mix, by weight: reads (`GET /me`, customer list pages by section with their next page, searches,
one customer, the staff list, the Data Refresh dashboard, notifications; the customer's own accounts,
connections and notifications) and writes: invitations to new emails (with an `Idempotency-Key`, as
the console sends one), the same invitation replayed with its key, a re-invitation of an email invited
before (R-INV-3: sent again, same customer), an adviser assigned to or unassigned from a customer,
a relationship ended, and a Data Refresh of a selection of the dashboard's engagements.

Each worker changes only its own share of the seeded customers (owned by the admin), one request at a
time, so the state each 2xx write leaves is known; a change with no clear answer (5xx, timeout) makes
its customer unknown and it is left alone from then on. Invitation limits (R-ABUSE: 100 an hour a
person, 1,000 a day a firm) are the product's: when a new email's invitation answers 429, business
time is moved on by its `Retry-After` (`POST /_local/clock`), as time would pass, once for all workers.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

REQUEST_TIMEOUT_SECONDS = 30.0  # API Gateway's integration limit: a client would get a 504 beyond it
SCHEDULE_TIMEOUT_SECONDS = 600.0
SCHEDULES = ("daily-import", "invitation-reminders")  # run at 1/3 and 2/3 of the load
SECTIONS = ("invited", "pending", "customers")
SEARCHES = ("ali", "bru", "chl", "dan", "emm", "smi", "mar", "tay", "wil", "lau", "soa")
PAGE = 25


@dataclass(frozen=True)
class Actor:
    role: str  # "admin" | "adviser" | "customer"
    user_id: str
    token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Sample:
    kind: str
    started: float  # seconds after the load started
    ms: float
    status: int  # 0: no answer within the timeout
    refusal: str = ""  # a 401/403: who was refused and the answer's code ("adviser mfa_required")

    @property
    def server_error(self) -> bool:
        """A 5xx, or no answer in time (API Gateway would have answered 504)."""
        return self.status >= 500 or self.status == 0


@dataclass
class Ledger:
    """What the 2xx writes answered, and where the state is unknown."""

    invited: dict[str, str] = field(default_factory=dict)  # email -> customer id
    conflicting: list[str] = field(default_factory=list)  # an email or a replay answered another id
    assignees: dict[str, set[str]] = field(default_factory=dict)  # tracked customer -> its assignees
    ended: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)  # customers a write left in doubt
    jobs: set[str] = field(default_factory=set)  # refresh jobs answered 202


@dataclass
class _Invitation:
    actor: Actor
    key: str
    body: dict[str, str]
    customer_id: str


@dataclass
class _Worker:
    number: int
    rng: random.Random
    tracked: list[str]  # the seeded customers this worker alone changes
    invitations: list[_Invitation] = field(default_factory=list)
    engagements: list[str] = field(default_factory=list)
    sent: int = 0


class Load:
    def __init__(
        self,
        client: httpx.AsyncClient,
        actors: dict[str, Actor],
        seeded: list[dict[str, Any]],
        concurrency: int,
        duration: float,
        seed: int,
    ):
        self.client, self.actors, self.duration = client, actors, duration
        self.ledger = Ledger()
        self.samples: list[Sample] = []
        self.schedule_5xx = 0
        self.clock_moves = 0
        # Answers about someone or something else than what was asked (`GET /me` with another person's
        # id, a customer with another id): a request run with another request's caller or path.
        self.crossed: list[str] = []
        self._staff = [actors["admin"], actors["adviser"]]
        admin, adviser = actors["admin"].user_id, actors["adviser"].user_id
        self.visible = {  # customer ids each staff member may read
            admin: [c["customer_id"] for c in seeded],
            adviser: [c["customer_id"] for c in seeded if adviser in (c["owner_id"], *c["assignee_ids"])],
        }
        tracked = [c for c in seeded if c["owner_id"] == admin]
        for customer in tracked:
            self.ledger.assignees[customer["customer_id"]] = set(customer["assignee_ids"])
        self._workers = []
        for n in range(concurrency):
            rng = random.Random(seed * 1000 + n)  # noqa: S311  # the load's repeatable choices, no secret
            self._workers.append(_Worker(n, rng, [c["customer_id"] for c in tracked[n::concurrency]]))
        self._run_id = uuid.uuid4().hex[:8]
        self._clock_lock = asyncio.Lock()
        self._clock_moved_at = 0.0
        self._started = 0.0
        self.ran_for = duration  # until the last request was answered, once run
        # (weight, action): about four reads to one write
        self._mix = [
            (10, self._me),
            (16, self._customer_page),
            (8, self._search),
            (12, self._customer),
            (3, self._staff_list),
            (5, self._dashboard),
            (4, self._notifications),
            (8, self._customer_side),
            (10, self._invite_new),
            (2, self._replay),
            (2, self._invite_again),
            (6, self._assignee),
            (2, self._end_relationship),
            (1, self._refresh),
        ]

    # running ---------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    async def run(self) -> list[Sample]:
        self._started = time.monotonic()
        await asyncio.gather(self._schedules(), *(self._work(worker) for worker in self._workers))
        self.ran_for = self.elapsed()
        return self.samples

    async def _work(self, worker: _Worker) -> None:
        actions, weights = zip(*[(action, weight) for weight, action in self._mix], strict=True)
        while self.elapsed() < self.duration:
            action = worker.rng.choices(actions, weights)[0]
            await action(worker)

    async def _schedules(self) -> None:
        """The daily import and the invitation reminders, each run at a third and two thirds of the load."""
        for fraction in (1 / 3, 2 / 3):
            await asyncio.sleep(max(0.0, fraction * self.duration - self.elapsed()))
            for name in SCHEDULES:
                try:
                    answer = await self.client.post(
                        f"/_local/schedules/{name}/run", timeout=SCHEDULE_TIMEOUT_SECONDS
                    )
                    self.schedule_5xx += answer.status_code >= 500
                except httpx.TransportError:  # no answer in time, or the connection broke
                    self.schedule_5xx += 1

    async def call(
        self, kind: str, actor: Actor, method: str, path: str, **options: Any
    ) -> httpx.Response | None:
        """One request, timed and recorded; None when it got no answer in time."""
        started = self.elapsed()
        headers = {**actor.headers, **options.pop("headers", {})}
        try:
            answer: httpx.Response | None = await self.client.request(
                method, path, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS, **options
            )
        except httpx.TransportError:  # no answer in time, or the connection refused or broken: a 5xx
            answer = None
        ms = (self.elapsed() - started) * 1000
        status = answer.status_code if answer is not None else 0
        refusal = f"{actor.role} {_code_of(answer)}" if answer is not None and status in (401, 403) else ""
        self.samples.append(Sample(kind, started, ms, status, refusal))
        return answer

    # reads -----------------------------------------------------------------------------------
    def _any_staff(self, worker: _Worker) -> Actor:
        return self._staff[0] if worker.rng.random() < 0.65 else self._staff[1]

    async def _me(self, worker: _Worker) -> None:
        actor = worker.rng.choice([*self._staff, self.actors["customer"]])
        answer = await self.call("GET /me", actor, "GET", "/me")
        self._same("GET /me", actor.user_id, _json(answer).get("user_id"))

    async def _customer_page(self, worker: _Worker) -> None:
        actor = self._any_staff(worker)
        sections = (*SECTIONS, "ended") if actor.role == "admin" else SECTIONS
        params = {"section": worker.rng.choice(sections), "limit": PAGE}
        answer = await self.call("GET /customers", actor, "GET", "/customers", params=params)
        cursor = _json(answer).get("next_cursor")
        if cursor and worker.rng.random() < 0.5:  # the next page
            await self.call(
                "GET /customers (next)", actor, "GET", "/customers", params={**params, "cursor": cursor}
            )

    async def _search(self, worker: _Worker) -> None:
        actor = self._any_staff(worker)
        params = {"section": "invited", "q": worker.rng.choice(SEARCHES), "limit": PAGE}
        await self.call("GET /customers?q", actor, "GET", "/customers", params=params)

    async def _customer(self, worker: _Worker) -> None:
        actor = self._any_staff(worker)
        visible = self.visible[actor.user_id]
        if visible:
            customer_id = worker.rng.choice(visible)
            answer = await self.call("GET /customers/{id}", actor, "GET", f"/customers/{customer_id}")
            self._same("GET /customers/{id}", customer_id, _json(answer).get("customer_id"))

    def _same(self, kind: str, asked: str, answered: str | None) -> None:
        if answered is not None and answered != asked:
            self.crossed.append(f"{kind} answered for another ({self.elapsed():.1f} s)")

    async def _staff_list(self, worker: _Worker) -> None:
        await self.call("GET /staff", self._any_staff(worker), "GET", "/staff")

    async def _dashboard(self, worker: _Worker) -> None:
        answer = await self.call(
            "GET /data-refresh/engagements", self._any_staff(worker), "GET", "/data-refresh/engagements"
        )
        worker.engagements = [row["engagement_id"] for row in _json(answer).get("items", [])]

    async def _notifications(self, worker: _Worker) -> None:
        await self.call("GET /me/notifications", self._any_staff(worker), "GET", "/me/notifications")

    async def _customer_side(self, worker: _Worker) -> None:
        path = worker.rng.choice(("/me/accounts", "/me/connections", "/me/notifications"))
        await self.call(f"GET {path} (customer)", self.actors["customer"], "GET", path)

    # writes ----------------------------------------------------------------------------------
    async def _invite_new(self, worker: _Worker) -> None:
        worker.sent += 1
        actor = self._any_staff(worker)
        email = f"soak-{self._run_id}-{worker.number}-{worker.sent}@example.org"
        body = {"name": f"Soak Customer {worker.number}-{worker.sent}", "email": email}
        key = str(uuid.uuid4())
        started = self.elapsed()
        answer = await self.call(
            "POST /customers/invitations",
            actor,
            "POST",
            "/customers/invitations",
            json=body,
            headers={"Idempotency-Key": key},
        )
        if answer is not None and answer.status_code == 429:
            await self._let_time_pass(started, int(answer.headers.get("retry-after", "60")))
        customer_id = self._invited(email, answer)
        if customer_id:
            worker.invitations.append(_Invitation(actor, key, body, customer_id))

    async def _replay(self, worker: _Worker) -> None:
        """The same request again, with its Idempotency-Key: the first answer again."""
        await self._invite_before(worker, replay=True)

    async def _invite_again(self, worker: _Worker) -> None:
        """A new request for an email invited before (R-INV-3: sent again; 429 after 3 a day)."""
        await self._invite_before(worker, replay=False)

    async def _invite_before(self, worker: _Worker, *, replay: bool) -> None:
        if not worker.invitations:
            return
        first = worker.rng.choice(worker.invitations)
        answer = await self.call(
            f"POST /customers/invitations ({'replay' if replay else 'again'})",
            first.actor,
            "POST",
            "/customers/invitations",
            json=first.body,
            headers={"Idempotency-Key": first.key if replay else str(uuid.uuid4())},
        )
        self._invited(first.body["email"], answer)

    def _invited(self, email: str, answer: httpx.Response | None) -> str | None:
        if answer is None or answer.status_code not in (200, 201):
            return None
        customer_id = str(answer.json()["customer_id"])
        known = self.ledger.invited.setdefault(email, customer_id)
        if known != customer_id:
            self.ledger.conflicting.append(f"{email}: {known} then {customer_id}")
        return customer_id

    async def _assignee(self, worker: _Worker) -> None:
        """The admin assigns the adviser to one of the worker's customers, or unassigns them."""
        customer_id = self._tracked(worker)
        if customer_id is None:
            return
        adviser = self.actors["adviser"].user_id
        assigned = self.ledger.assignees[customer_id]
        method = "DELETE" if adviser in assigned else "PUT"
        path = f"/customers/{customer_id}/assignees/{adviser}"
        answer = await self.call(f"{method} assignee", self.actors["admin"], method, path)
        if self._settled(customer_id, answer):
            if method == "PUT":
                assigned.add(adviser)
            else:
                assigned.discard(adviser)

    async def _end_relationship(self, worker: _Worker) -> None:
        customer_id = self._tracked(worker)
        if customer_id is None:
            return
        path = f"/customers/{customer_id}/end-relationship"
        answer = await self.call("POST end-relationship", self.actors["admin"], "POST", path)
        if self._settled(customer_id, answer):
            self.ledger.ended.add(customer_id)
            worker.tracked.remove(customer_id)

    async def _refresh(self, worker: _Worker) -> None:
        """A Data Refresh of a selection of the engagements the worker last saw on the dashboard."""
        if not worker.engagements:
            await self._dashboard(worker)
            return
        chosen = worker.rng.sample(worker.engagements, min(3, len(worker.engagements)))
        answer = await self.call(
            "POST /data-refresh/jobs",
            self._any_staff(worker),
            "POST",
            "/data-refresh/jobs",
            json={"engagement_ids": chosen},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if answer is not None and answer.status_code == 202:
            self.ledger.jobs.add(str(answer.json()["job_id"]))

    def _tracked(self, worker: _Worker) -> str | None:
        known = [c for c in worker.tracked if c not in self.ledger.unknown]
        return worker.rng.choice(known) if known else None

    def _settled(self, customer_id: str, answer: httpx.Response | None) -> bool:
        """True for a 2xx; a 5xx or no answer leaves the customer's state unknown (not checked)."""
        if answer is None or answer.status_code >= 500:
            self.ledger.unknown.add(customer_id)
            return False
        return answer.is_success

    async def _let_time_pass(self, asked_at: float, seconds: int) -> None:
        """Business time moves on to the end of the limit's window, once for every worker refused in it."""
        async with self._clock_lock:
            if asked_at < self._clock_moved_at:
                return  # refused before the last move: that move let the time pass
            await self.client.post("/_local/clock", json={"advance": f"PT{seconds + 1}S"})
            self._clock_moved_at = self.elapsed()
            self.clock_moves += 1


def _json(answer: httpx.Response | None) -> dict[str, Any]:
    if answer is None or not answer.is_success:
        return {}
    found: dict[str, Any] = answer.json()
    return found


def _code_of(answer: httpx.Response) -> str:
    """The error's stable code (`{"code": ...}`), or API Gateway's message, or the status."""
    try:
        body = answer.json()
    except ValueError:
        return str(answer.status_code)
    if isinstance(body, dict):
        return str(body.get("code") or body.get("message") or answer.status_code)
    return str(answer.status_code)
