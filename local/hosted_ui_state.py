"""What the hosted pages' stand-in (local/hosted_ui.py) holds between requests: the checked
authorization request, the codes until they are redeemed and the sign-ins waiting for an
authenticator's code, in memory, bounded, each under a random handle and dropped once expired."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from local.hosted_ui_pages import Language
from local.http_types import HttpResponse
from local.user_pool import PoolTokens, TotpChallenge


@dataclass(frozen=True)
class Authorization:
    """A checked authorization request: the client and redirect_uri are the pool's."""

    client_id: str
    redirect_uri: str
    state: str | None
    scope: str
    code_challenge: str
    lang: Language

    def query(self) -> str:
        """The request again, for the forms' actions (only the parameters that were checked)."""
        values = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
            "lang": self.lang,
        }
        return urlencode(values | ({"state": self.state} if self.state is not None else {}))

    def redirect(self, **values: str) -> HttpResponse:
        """Back to the app's redirect_uri with `values` and the state, unchanged."""
        state = {"state": self.state} if self.state is not None else {}
        separator = "&" if "?" in self.redirect_uri else "?"
        return HttpResponse(302, [("location", self.redirect_uri + separator + urlencode(values | state))])


@dataclass(frozen=True)
class Grant:
    """What an authorization code stands for until it is redeemed."""

    authorization: Authorization
    tokens: PoolTokens
    expires_at: datetime


@dataclass
class Pending:
    """A sign-in waiting for the authenticator's code."""

    authorization: Authorization
    challenge: TotpChallenge
    expires_at: datetime
    attempts: int = 0


@dataclass
class Outstanding:
    """The codes and pending authenticator steps, by their random handles; expired ones are dropped."""

    limit: int
    codes: dict[str, Grant] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(
        self, into: dict[str, Grant] | dict[str, Pending], entry: Grant | Pending, now: datetime
    ) -> str | None:
        """A new handle for `entry`, or None when `limit` are held already (after dropping the expired)."""
        with self.lock:
            for held in (self.codes, self.pending):
                for handle in [h for h, e in held.items() if e.expires_at <= now]:
                    del held[handle]
            if len(self.codes) + len(self.pending) >= self.limit:
                return None
            handle = secrets.token_urlsafe(32)
            into[handle] = entry  # type: ignore[assignment]
            return handle

    def take_code(self, code: str, now: datetime) -> Grant | None:
        with self.lock:
            grant = self.codes.pop(code, None)
        return grant if grant is not None and grant.expires_at > now else None

    def take_pending(self, handle: str, now: datetime) -> Pending | None:
        with self.lock:
            pending = self.pending.pop(handle, None)
        return pending if pending is not None and pending.expires_at > now else None

    def put_back(self, handle: str, pending: Pending) -> None:
        with self.lock:
            self.pending[handle] = pending
