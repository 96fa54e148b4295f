"""The emails the service sends, as text and HTML. Every value a person typed is escaped in HTML."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import urlencode

from shared.domain.email import EmailMessage

# The web console's screens the emailed links open (web/src/App.tsx has a route for each).
CUSTOMER_ACCEPT_PAGE = "/invitations/accept"
FILE_ACCEPT_PAGE = "/file-invitations/accept"
STAFF_ACCEPT_PAGE = "/staff-invitations/accept"


def _page_link(app_base_url: str, page: str, token: str) -> str:
    return f"{app_base_url.rstrip('/')}{page}?{urlencode({'token': token})}"


def invitation_link(app_base_url: str, token: str) -> str:
    return _page_link(app_base_url, CUSTOMER_ACCEPT_PAGE, token)


def _message(
    to: str, subject: str, paragraphs: list[str], link: tuple[str, str] | None = None
) -> EmailMessage:
    text = "\n\n".join(paragraphs + ([f"{link[0]}: {link[1]}"] if link else []))
    html_parts = [f"<p>{escape(p)}</p>" for p in paragraphs]
    if link:
        html_parts.append(f'<p><a href="{escape(link[1], quote=True)}">{escape(link[0])}</a></p>')
    return EmailMessage(to=to, subject=subject, text=text, html="\n".join(html_parts))


def invitation_email(
    *,
    to: str,
    customer_name: str,
    firm_name: str,
    message: str | None,
    link: str,
    expires_at: datetime,
    reminder: bool = False,
) -> EmailMessage:
    opening = f"Hello {customer_name},"
    ask = (
        f"{firm_name} invites you to share your bank data securely with them. "
        "You connect your bank accounts once, at your bank: we never see your bank credentials."
    )
    paragraphs = [opening, ask]
    if message:
        paragraphs.append(f"A message from {firm_name}: {message}")
    paragraphs.append(f"This link is personal and works once, until {expires_at:%d %B %Y}.")
    subject = f"{'Reminder: ' if reminder else ''}{firm_name} invites you to share your bank data"
    return _message(to, subject, paragraphs, ("Accept the invitation", link))


def account_decision_email(
    *, to: str, customer_name: str, firm_name: str, account_label: str, accepted: bool
) -> EmailMessage:
    outcome = "now receives" if accepted else "declined and will not receive"
    return _message(
        to,
        f"{firm_name} reviewed an account you shared",
        [f"Hello {customer_name},", f"{firm_name} {outcome} the data of your account {account_label}."],
    )


# client file access (R-ACC-3) ----------------------------------------------------------------
_LEVEL_TEXT = {"read_write": "read and write", "read_only": "read-only"}


def file_invitation_link(app_base_url: str, token: str) -> str:
    return _page_link(app_base_url, FILE_ACCEPT_PAGE, token)


def file_invitation_email(
    *,
    to: str,
    grantee_name: str,
    firm_name: str,
    file_label: str,
    level: str,
    link: str,
    expires_at: datetime,
    reminder: bool = False,
) -> EmailMessage:
    """To a grantee without an account: create one (or sign in) and accept, with a single-use link."""
    paragraphs = [
        f"Hello {grantee_name},",
        f"{firm_name} gives you {_LEVEL_TEXT[level]} access to the client file of {file_label}. "
        "Create your account, or sign in, to open it.",
        f"This link is personal and works once, until {expires_at:%d %B %Y}.",
    ]
    subject = f"{'Reminder: ' if reminder else ''}{firm_name} gives you access to a client file"
    return _message(to, subject, paragraphs, ("Accept the invitation", link))


def file_access_email(
    *, to: str, grantee_name: str, firm_name: str, file_label: str, level: str
) -> EmailMessage:
    """To a grantee who already has an account: the access is theirs at once."""
    return _message(
        to,
        f"{firm_name} gave you access to a client file",
        [
            f"Hello {grantee_name},",
            f"{firm_name} gave you {_LEVEL_TEXT[level]} access to the client file of {file_label}. "
            "Sign in to open it: it is listed with your files.",
        ],
    )


# staff (issue 15) ------------------------------------------------------------------------------
def staff_invitation_link(app_base_url: str, token: str) -> str:
    return _page_link(app_base_url, STAFF_ACCEPT_PAGE, token)


def staff_invitation_email(
    *, to: str, name: str, firm_name: str, role: str, link: str, expires_at: datetime, reminder: bool = False
) -> EmailMessage:
    """To a person an admin invites to join the firm's staff: create an account (or sign in) and join."""
    paragraphs = [
        f"Hello {name},",
        f"{firm_name} invites you to join its team as {'an admin' if role == 'admin' else 'an adviser'}. "
        "Create your account, or sign in, to accept.",
        f"This link is personal and works once, until {expires_at:%d %B %Y}.",
    ]
    subject = f"{'Reminder: ' if reminder else ''}{firm_name} invites you to join its team"
    return _message(to, subject, paragraphs, ("Accept the invitation", link))


# consent expiry (issue 16) ---------------------------------------------------------------------
def reauthorise_link(app_base_url: str, connection_id: str) -> str:
    """The front end's page that starts reauthorising the connection (it calls the API, signed in)."""
    return f"{app_base_url.rstrip('/')}/connections/reauthorise?{urlencode({'connection_id': connection_id})}"


def consent_expiry_email(
    *, to: str, customer_name: str, firm_name: str, institution_name: str, expires_on: str, link: str
) -> EmailMessage:
    """To the customer, 7 days before a bank consent lapses: reauthorise to keep sharing."""
    return _message(
        to,
        f"Your connection to {institution_name} expires on {expires_on}",
        [
            f"Hello {customer_name},",
            f"The consent you gave to share your {institution_name} data with {firm_name} expires on "
            f"{expires_on}. Reauthorise the connection at your bank before then to keep sharing it: "
            "it takes a minute, and we never see your bank credentials.",
        ],
        ("Reauthorise the connection", link),
    )


# staff notifications (issue 16) --------------------------------------------------------------
def notification_digest_email(*, to: str, lines: list[str], app_base_url: str) -> EmailMessage:
    """The daily digest: counts per firm and kind, and a link to the app (no bank data, no names)."""
    return _message(
        to,
        "Your notifications of the last day",
        ["Hello,", "Waiting for you since yesterday:", *lines],
        ("Open your notifications", f"{app_base_url.rstrip('/')}/notifications"),
    )
