"""Abuse limits (issue 17 item 7): how often a person, a firm, an email address or a connection may
set off an action that sends an email or calls a bank-data provider.

One table of limits (`LIMITS`: a count per subject and fixed window) and one of actions (`ACTIONS`:
the limits each action spends). A use case spends its action's limits *before* the side effect,
through the `Limiter` port (shared/ports/limits.py): all of them or none (one write), and beyond a
limit the answer is `LimitReached`, a 429 with `Retry-After` (the seconds until the window ends).
Scheduled work (reminders, the daily import) is ours, not a person's, and spends nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shared.domain.customers import email_fingerprint
from shared.domain.errors import RateLimited

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# "Reauthorise all" starts at most this many consents per call (a customer rarely has more lapsing;
# the rest are started by the next call, or one by one).
MAX_REAUTHORISATIONS_PER_CALL = 10


class Subject(StrEnum):
    """Who or what a limit counts for."""

    USER = "user"  # the signed-in person who asks (staff or customer)
    FIRM = "firm"  # the firm the action is for
    EMAIL = "email"  # the address an email goes to (counted by its SHA-256, never stored in clear)
    CONNECTION = "connection"  # one bank connection


@dataclass(frozen=True)
class Limit:
    name: str
    subject: Subject
    count: int  # at most this many in a window
    window: timedelta  # fixed windows from the Unix epoch (UTC days for a day)
    what: str  # for the README and the OpenAPI

    def window_start(self, now: datetime) -> datetime:
        seconds = int(self.window.total_seconds())
        return datetime.fromtimestamp(math.floor(now.timestamp()) // seconds * seconds, UTC)

    def resets_at(self, now: datetime) -> datetime:
        return self.window_start(now) + self.window


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("emails_per_address", Subject.EMAIL, 3, DAY, "invitation and access emails to one address"),
        Limit("emails_per_user", Subject.USER, 100, HOUR, "invitation and access emails one person sends"),
        Limit("emails_per_firm", Subject.FIRM, 1000, DAY, "invitation and access emails of one firm"),
        Limit("calls_per_connection", Subject.CONNECTION, 10, HOUR, "provider calls for one connection"),
        Limit("calls_per_user", Subject.USER, 60, HOUR, "provider calls and imports one person asks for"),
        Limit("calls_per_firm", Subject.FIRM, 2000, DAY, "provider calls and imports asked for in one firm"),
        Limit("refresh_jobs_per_user", Subject.USER, 10, HOUR, "Data Refresh jobs one person starts"),
        Limit("refresh_jobs_per_firm", Subject.FIRM, 50, DAY, "Data Refresh jobs of one firm"),
    )
}


class Action(StrEnum):
    SEND_INVITATION = "send_invitation"  # customer, staff and file invitations, resends, access emails
    CONNECT = "connect"  # a new consent at a provider
    CONNECTION_CALL = "connection_call"  # refresh, find new accounts, reauthorise, complete, callback
    REFRESH_JOB = "refresh_job"  # POST /data-refresh/jobs


ACTIONS: dict[Action, tuple[Limit, ...]] = {
    Action.SEND_INVITATION: (
        LIMITS["emails_per_address"],
        LIMITS["emails_per_user"],
        LIMITS["emails_per_firm"],
    ),
    Action.CONNECT: (LIMITS["calls_per_user"], LIMITS["calls_per_firm"]),
    Action.CONNECTION_CALL: (
        LIMITS["calls_per_connection"],
        LIMITS["calls_per_user"],
        LIMITS["calls_per_firm"],
    ),
    Action.REFRESH_JOB: (LIMITS["refresh_jobs_per_user"], LIMITS["refresh_jobs_per_firm"]),
}


@dataclass(frozen=True)
class Charge:
    """`amount` spent from `limit` for one subject (an id; an email's fingerprint)."""

    limit: Limit
    subject_id: str
    amount: int = 1


def charges(action: Action, *, times: int = 1, **subjects: str) -> list[Charge]:
    """What `action` spends, done `times` times, for the subjects named by kind (user=, firm=,
    email=, connection=); an email address is counted by its fingerprint. Every limit of the action
    needs its subject."""
    ids = {Subject(kind): value for kind, value in subjects.items()}
    if Subject.EMAIL in ids:
        ids[Subject.EMAIL] = email_fingerprint(ids[Subject.EMAIL])
    return [Charge(limit, ids[limit.subject], times) for limit in ACTIONS[action]]


def combined(*groups: list[Charge]) -> list[Charge]:
    """Several actions' charges as one spend: a limit and subject met twice is charged once with
    the sum (one counter, one write)."""
    total: Counter[tuple[Limit, str]] = Counter()
    for group in groups:
        for charge in group:
            total[(charge.limit, charge.subject_id)] += charge.amount
    return [Charge(limit, subject_id, amount) for (limit, subject_id), amount in total.items()]


class LimitReached(RateLimited):
    """Beyond a limit: nothing was done; `Retry-After` says when the window ends."""

    code = "rate_limited"

    def __init__(self, limit: Limit, now: datetime) -> None:
        reset_at = limit.resets_at(now)
        super().__init__(
            f"Too many requests ({limit.what}: at most {limit.count} per {_window(limit.window)}); "
            "try again later.",
            retry_after_seconds=max(1, math.ceil((reset_at - now).total_seconds())),
        )
        self.limit = limit
        self.reset_at = reset_at


def _window(window: timedelta) -> str:
    return "day" if window == DAY else "hour" if window == HOUR else f"{int(window.total_seconds())} seconds"
