"""The local stand-in for the front end, mounted at /app: the pages that emailed links open.

In AWS these pages belong to the web app at APP_BASE_URL; locally they are plain HTML that
calls the real API over loopback, so an invitation link from the outbox can be followed to
the end: check the token, then either create the account (the invited email, a password the invitee
chooses: the API's create-account route, no sign-in) or sign in through the local user pool with an
existing account and accept.
Three such links exist: a customer's invitation, a client-file grantee's invitation and a staff
invitation (an admin invites a person to the firm's team). The bank's
redirect ends here too: `/callbacks/gocardless` sends the browser to
`/connections/complete?outcome=…`, answered with a sentence per outcome.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any, Protocol
from urllib.parse import parse_qs

from local.environment import APP_PAGES_PREFIX
from local.http_types import HttpRequest, HttpResponse
from local.user_pool import SignInRefused

PREFIX = APP_PAGES_PREFIX
ACCEPT = f"{PREFIX}/invitations/accept"
FILE_ACCEPT = f"{PREFIX}/file-invitations/accept"
STAFF_ACCEPT = f"{PREFIX}/staff-invitations/accept"
CONNECTION_COMPLETE = f"{PREFIX}/connections/complete"
_LEVELS = {"read_write": "read and write", "read_only": "read-only"}
# The outcomes of `shared.services.connection_consents.complete_from_callback`: a connection's status, or
# `invalid` (an unknown, used or replayed reference), `error` (the bank's answer could not be read) and
# `rate_limited` (the connection's abuse limits, shared/domain/limits.py).
OUTCOMES: dict[str, tuple[str, str]] = {
    "linked": (
        "Bank connected",
        "Your bank account is connected. Your firm will see the accounts you shared.",
    ),
    "pending": (
        "Waiting for your bank",
        "Your bank has not confirmed the connection yet. Check its status in the app in a few minutes.",
    ),
    "no_accounts": (
        "No account shared",
        "Your bank connected, but shared no account. Connect again and choose the accounts to share.",
    ),
    "rejected": ("Connection declined", "The connection was declined at your bank, so nothing is shared."),
    "credentials_rejected": (
        "Sign-in not accepted",
        "Your bank did not accept the sign-in. Connect again to try once more.",
    ),
    "expired": (
        "Consent expired",
        "The consent expired before it was completed. Start the connection again.",
    ),
    "revoked": (
        "Connection revoked",
        "This connection is revoked, so nothing is shared. Reauthorise it to share again.",
    ),
    "refresh_failed": (
        "Bank connected",
        "Your bank account is connected; its latest data could not be read yet and will be read again.",
    ),
    "error": (
        "Something went wrong",
        "We could not finish the connection with your bank. Try again in a few minutes.",
    ),
    "rate_limited": (
        "Too many attempts",
        "This connection was tried too often in the last hour. Check its status in the app a little later.",
    ),
    "invalid": (
        "Link no longer valid",
        "This link was already used or is not valid. Check your connection's status in the app.",
    ),
}
UNKNOWN_OUTCOME = (
    "Connection finished",
    "Your bank sent you back. Check your connection's status in the app.",
)


class InviteeSignIn(Protocol):
    def sign_in(self, email: str, password: str) -> str:
        """An ID token of this user's password sign-in through the pool (`local.user_pool.LocalPool`);
        raises `SignInRefused` when the pool refuses it."""
        ...


class AppPages:
    def __init__(self, api_base_url: str, accounts: InviteeSignIn):
        self._api = api_base_url
        self._accounts = accounts

    def handle(self, request: HttpRequest) -> HttpResponse:
        pages = {
            ACCEPT: (self._show_invitation, self._accept),
            FILE_ACCEPT: (self._show_file_invitation, self._accept_file),
            STAFF_ACCEPT: (self._show_staff_invitation, self._accept_staff),
        }
        if request.raw_path == CONNECTION_COMPLETE:
            if request.method not in ("GET", "HEAD"):
                return _page(405, "Method not allowed", "")
            return _connection_complete(parse_qs(request.raw_query).get("outcome", [""])[0])
        if request.raw_path not in pages:
            return _page(404, "Not found", "<p>No such page.</p>")
        show, accept = pages[request.raw_path]
        if request.method == "GET":
            return show(parse_qs(request.raw_query).get("token", [""])[0])
        if request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
            return accept(Answer(form.get("token", ""), form.get("email", ""), form.get("password", "")))
        return _page(405, "Method not allowed", "")

    def _show_invitation(self, token: str) -> HttpResponse:
        def intro(found: Any) -> str:
            return (
                f"<p><strong>{escape(found['firm_name'])}</strong> invites you to share your bank data.</p>"
            )

        return self._show("/invitations", ACCEPT, token, "Your invitation", intro)

    def _accept(self, answer: Answer) -> HttpResponse:
        def done(accepted: Any) -> str:
            return f"<p>You now share data with <strong>{escape(accepted['firm_name'])}</strong>.</p>"

        return self._accepted(answer, "/invitations", done)

    def _show_file_invitation(self, token: str) -> HttpResponse:
        def intro(found: Any) -> str:
            level = _LEVELS.get(found["level"], found["level"])
            return (
                f"<p><strong>{escape(found['firm_name'])}</strong> gives you {escape(level)} access to a "
                "client file.</p>"
            )

        return self._show("/file-invitations", FILE_ACCEPT, token, "Your access to a client file", intro)

    def _accept_file(self, answer: Answer) -> HttpResponse:
        def done(accepted: Any) -> str:
            return (
                f"<p>You now have access to the file of <strong>{escape(accepted['file_label'])}</strong> "
                f"at {escape(accepted['firm_name'])} (<code>/files/{escape(accepted['file_id'])}</code>).</p>"
            )

        return self._accepted(answer, "/file-invitations", done)

    def _show_staff_invitation(self, token: str) -> HttpResponse:
        def intro(found: Any) -> str:
            role = escape(found["role"])
            return (
                f"<p><strong>{escape(found['firm_name'])}</strong> invites you to join its team ({role}).</p>"
            )

        return self._show("/staff-invitations", STAFF_ACCEPT, token, "Join your firm's team", intro)

    def _accept_staff(self, answer: Answer) -> HttpResponse:
        def done(accepted: Any) -> str:
            firm, role = escape(accepted["firm_name"]), escape(accepted["role"])
            return f"<p>You are now on the team of <strong>{firm}</strong> ({role}).</p>"

        return self._accepted(answer, "/staff-invitations", done)

    def _show(
        self, base: str, page: str, token: str, title: str, intro: Callable[[Any], str]
    ) -> HttpResponse:
        """The invitation behind `token` (the API's `{base}/verify`), with the forms to accept it."""
        status, found = self._call("POST", f"{base}/verify", {"token": token})
        if status != 200:
            return _page(404, "Invitation not valid", f"<p>{escape(found.get('message', ''))}</p>")
        return _page(200, title, intro(found) + _forms(page, token))

    def _accepted(self, answer: Answer, base: str, done: Callable[[Any], str]) -> HttpResponse:
        outcome = self._answer(answer, base)
        if isinstance(outcome, HttpResponse):
            return outcome
        email, accepted = outcome
        return _page(200, "Invitation accepted", done(accepted) + _token_hint(email))

    def _answer(self, answer: Answer, base: str) -> HttpResponse | tuple[str, Any]:
        """Create the account and accept (no email: the invited one), or sign in and accept."""
        if not answer.password:
            return _page(400, "Password needed", "<p>Enter a password.</p>")
        if not answer.email:
            status, accepted = self._call(
                "POST", f"{base}/create-account", {"token": answer.token, "password": answer.password}
            )
            if status != 200:
                return _page(status, "Could not accept", f"<p>{escape(accepted.get('message', ''))}</p>")
            return "", accepted  # the account is the invited email's
        try:
            bearer = self._accounts.sign_in(answer.email, answer.password)
        except SignInRefused:
            return _page(401, "Sign-in refused", "<p>That email and password do not sign in.</p>")
        status, accepted = self._call("POST", f"{base}/accept", {"token": answer.token}, bearer)
        if status != 200:
            return _page(status, "Could not accept", f"<p>{escape(accepted.get('message', ''))}</p>")
        return answer.email.strip().lower(), accepted

    def _call(
        self, method: str, path: str, body: dict[str, Any], bearer: str | None = None
    ) -> tuple[int, Any]:
        headers = {"content-type": "application/json"}
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(  # noqa: S310 - always our own loopback API
            self._api + path, data=json.dumps(body).encode(), headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310 # our loopback API, fixed paths
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def _connection_complete(outcome: str) -> HttpResponse:
    """The landing page after the bank: only a known outcome's own words, never the query's text."""
    title, sentence = OUTCOMES.get(outcome, UNKNOWN_OUTCOME)
    return _page(200, title, f"<p>{escape(sentence)}</p>")


def _page(status: int, title: str, content: str) -> HttpResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body style='font-family:sans-serif;max-width:40em;margin:3em auto'><h1>{escape(title)}</h1>"
        f"{content}</body></html>"
    )
    return HttpResponse(status, [("content-type", "text/html; charset=utf-8")], html.encode())


@dataclass(frozen=True)
class Answer:
    """What an accept form posts: the link's token, and a password alone (create the account) or
    an email and password (sign in with an existing account)."""

    token: str
    email: str
    password: str


def _forms(action: str, token: str) -> str:
    hidden = f'<input type="hidden" name="token" value="{escape(token, quote=True)}">'
    return (
        f'<form method="post" action="{action}">{hidden}'
        '<p><label>Choose a password <input name="password" type="password" required '
        'autocomplete="new-password" minlength="12"></label> '
        "<button>Create my account and accept</button></p></form>"
        f'<form method="post" action="{action}">{hidden}'
        '<p>Already have an account? <label>Email <input name="email" type="email" required></label> '
        '<label>Password <input name="password" type="password" required '
        'autocomplete="current-password"></label> <button>Sign in and accept</button></p></form>'
    )


def _token_hint(email: str) -> str:
    command = f"make token USER={email or '<the invited email>'} PASSWORD=<yours>"
    return f"<p>Call the API as yourself: <code>{escape(command)}</code></p>"
