"""Local-only routes under /_local/: the outbox, the schedules (list, run now), the business
clock (read, move forward), the user pool's JWKS and where the pool is (`make token` signs in
there), and customers seeded in bulk into the demo firm (`make soak`). They exist only in the local
system, never in the deployed API."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from local import bulk_seed
from local.clock import change_clock, reading
from local.http_types import HttpRequest, HttpResponse, json_response
from local.outbox import Email
from local.scheduler import Scheduler, UnknownSchedule
from shared.clock import now as business_now

PREFIX = "/_local"
_RUN_SCHEDULE = re.compile(rf"{PREFIX}/schedules/([^/]+)/run")

log = logging.getLogger("local.console")


class LocalConsole:
    def __init__(
        self,
        *,
        scheduler: Scheduler,
        emails: Callable[[], list[Email]],
        jwks: dict[str, Any],
        user_pool: dict[str, str],
    ):
        self._scheduler = scheduler
        self._emails = emails
        self._jwks = jwks
        self._user_pool = user_pool

    def handle(self, request: HttpRequest) -> HttpResponse:
        path, method = request.raw_path, request.method
        if method == "GET" and path == f"{PREFIX}/outbox":
            return json_response(200, {"emails": [sent.as_dict() for sent in self._emails()]})
        if method == "GET" and path == f"{PREFIX}/schedules":
            return json_response(200, {"schedules": self._scheduler.describe()})
        if method == "GET" and path == f"{PREFIX}/.well-known/jwks.json":
            return json_response(200, self._jwks)
        if method == "GET" and path == f"{PREFIX}/user-pool":
            return json_response(200, self._user_pool)
        if method == "GET" and path == f"{PREFIX}/clock":
            return json_response(200, reading())
        if method == "POST" and path == f"{PREFIX}/clock":
            return self._move_clock(request.body)
        if method == "POST" and path == f"{PREFIX}/seed/customers":
            return self._seed_customers(request.body)
        run = _RUN_SCHEDULE.fullmatch(path)
        if method == "POST" and run:
            return self._run_schedule(run.group(1))
        return json_response(404, {"message": "Not Found"})

    def _run_schedule(self, name: str) -> HttpResponse:
        try:
            result = self._scheduler.run_now(name)
        except UnknownSchedule:
            return json_response(404, {"message": f"no schedule named {name!r}"})
        except Exception as error:
            log.exception("schedule %s failed when run by hand", name)
            failure = {"type": type(error).__name__, "message": str(error)}
            return json_response(500, {"schedule": name, "error": failure})
        return json_response(200, {"schedule": name, "result": result})

    def _move_clock(self, body: bytes) -> HttpResponse:
        """The scheduler's threads notice within a second and fire what fell due (once each)."""
        try:
            moved = change_clock(json.loads(body or b"null"))
        except ValueError as error:  # ClockError, or a body that is not JSON
            return json_response(400, {"code": "invalid_clock_change", "message": str(error)})
        log.info("business clock moved to %s", moved["now"])
        return json_response(200, moved)

    def _seed_customers(self, body: bytes) -> HttpResponse:
        """`{"count": 10000}`: that many invited customers in the demo firm, written in bulk as the
        repositories write an invitation (local/bulk_seed.py), owned in turn by its active staff or by
        `"owner_ids"` (its members' user ids); answers their ids, owners and assignees."""
        try:
            asked = json.loads(body or b"null")
            count, owner_ids = asked["count"], asked.get("owner_ids")
        except (ValueError, TypeError, KeyError, AttributeError):
            count = owner_ids = None
        valid_owners = owner_ids is None or (
            isinstance(owner_ids, list) and all(isinstance(owner, str) for owner in owner_ids)
        )
        if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= bulk_seed.MAX_SEEDED:
            valid_owners = False
        if not valid_owners:
            message = f"expected {{'count': <1..{bulk_seed.MAX_SEEDED}>, 'owner_ids': [<user id>, ...]}}"
            return json_response(400, {"code": "invalid_seed", "message": message})
        try:
            seeded = bulk_seed.seed_demo_firm(count, business_now(), owner_ids)
        except bulk_seed.NotActiveStaff as refused:
            return json_response(400, {"code": "invalid_seed", "message": str(refused)})
        log.info("seeded %d customers into the demo firm", len(seeded))
        return json_response(201, {"customers": [asdict(customer) for customer in seeded]})
