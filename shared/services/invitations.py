"""One invitation lifecycle for every kind of invitee (R-INV-2/4, R-ACC-3): issue, resend, revoke,
verify, accept, the 7- and 30-day reminders and expiry.

The steps are written once, here; a kind of invitee plugs in only what differs, as an
`InvitationKind` (a small object holding that kind's ports):

- where its invitation record lives: `find` (by the token's hash), `due` (reminders and expiry due
  by a day), `store` (a `RecordStore`: save with transaction items, its token rows), and which
  error a lost optimistic lock raises (`concurrent`);
- how the record carries its `Invitation` (`invitation`, `with_invitation`, `invitee_name`);
- what accepting grants (`bind`: one transaction that also consumes the token, conditionally);
- the email's words (`letter`), its audit action names (`events`) and how its audit event reads
  (`audit`), its metric names (`metric_prefix`), what a log line names (`log_ref`).

Today's kinds: customers (`customer_invitations.CustomerInvitee`, the record is the `Customer`),
file grantees, family members and external advisers (`file_access.invitations.GranteeInvitee`, the
record is the `Grant`), and staff members (`staff_invitations.StaffInvitee`, the record is the
`StaffInvitation`; accepting creates the membership).

Adding a kind:
1. a record with `firm_id`, a normalised `email` and an `Invitation` (shared/domain/customers.py),
   stored with a token index (a token row pointing at the record, unique, deleted conditionally
   when the token is consumed) and a reminders index (the day `Invitation.next_due` gives);
2. a class satisfying `InvitationKind[YourRecord]` over your ports bag (which must satisfy
   `InvitationPorts`: identities, email, directory, clock);
3. your use cases call `issue` / `revoke` / `verify` / `accept` / `accept_with_new_account` /
   `send_due_reminders` with it; the reminders job (functions/reminders_job) calls the last once a
   day for your kind; your route for `accept_with_new_account` is public (infra/spec.py).
Tests: add the kind to the parametrised lifecycle tests (tests/unit/test_invitation_lifecycle.py).

Accepting (R-INV-2): the token names the invitation; the person is either the signed-in user, who
must be signed in with the invited email (`wrong_account` otherwise), or, with no account yet (the
pool has self sign-up off), a new user the directory creates for the invited email with the
password given (`account_exists` when the email already has one: sign in and accept then;
`weak_password` from the pool leaves the invitation untouched). The token is consumed in the same
transaction that binds the record, so a second acceptance changes nothing. Passwords and tokens
are never logged nor stored (only the token's SHA-256).

Every function takes its kind (and through it its ports); none knows about Lambda, HTTP or
environment variables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

from shared.clock import Now
from shared.domain.audit import SYSTEM
from shared.domain.customers import (
    NOT_DUE,
    REMINDER_AGES,
    Invitation,
    InvitationStatus,
    hash_token,
    issue_invitation,
    normalise_email,
)
from shared.domain.email import EmailMessage, EmailSender
from shared.domain.errors import Conflict, Forbidden, NotFound, UpstreamUnavailable
from shared.domain.identity import Firm, Principal, UserProfile
from shared.domain.limits import Action, charges
from shared.observability import logger, metrics
from shared.ports.directory import UserDirectory
from shared.ports.identity import IdentityStore
from shared.ports.limits import Limiter
from shared.ports.storage import TransactItem

SYSTEM_ACTOR = SYSTEM
MAX_TOKEN_LENGTH = 256


class InvitationInvalid(NotFound):
    """One answer for a wrong, used, expired or revoked token: it reveals nothing (R-INV-2)."""

    code = "invitation_invalid"
    default_message = "This invitation link is not valid. Ask your adviser to send a new one."


class WrongAccount(Forbidden):
    code = "wrong_account"
    default_message = (
        "This invitation was sent to another email address. Sign in with the account of the address it "
        "was sent to, or sign out and create your account from the link."
    )


class AccountExists(Conflict):
    code = "account_exists"
    default_message = (
        "An account with this email address already exists: sign in, then accept the invitation."
    )


class Invited(Protocol):
    """What every invitation record has."""

    @property
    def firm_id(self) -> str: ...

    @property
    def email(self) -> str: ...  # normalised: the address the invitation went to


R = TypeVar("R", bound=Invited)


class InvitationPorts(Protocol):
    """What the lifecycle itself needs from a kind's ports bag."""

    @property
    def identities(self) -> IdentityStore: ...

    @property
    def email(self) -> EmailSender: ...

    @property
    def directory(self) -> UserDirectory: ...

    @property
    def limits(self) -> Limiter: ...

    @property
    def clock(self) -> Now: ...


@dataclass(frozen=True)
class Events:
    """A kind's audit action names for the lifecycle's steps."""

    sent: str
    resent: str
    revoked: str
    accepted: str
    reminded: str
    expired: str
    email_failed: str  # recorded as sent (or reminded) but the email could not be sent

    @classmethod
    def prefixed(cls, prefix: str, **named: str) -> Events:
        """`prefix` + the step's name, but for the steps `named` otherwise."""
        steps = [f.name for f in fields(cls)]
        return cls(**{step: named.get(step, prefix + step) for step in steps})


@dataclass(frozen=True)
class RecordStore(Generic[R]):
    """Where a kind's invitation records live, as the lifecycle writes them: `save` a record over
    the one read (None: a new one) with transaction items, `token_put` (the record's token row),
    `token_drop` (a token's row, removed whether or not it is still there: it may have expired
    away), `transact` items alone."""

    save: Callable[..., R]
    token_put: Callable[[R], TransactItem]
    token_drop: Callable[[str], TransactItem]
    transact: Callable[[list[TransactItem]], None]


class InvitationKind(Protocol[R]):
    """What one kind of invitee plugs into the lifecycle (see the module docstring)."""

    @property
    def ports(self) -> InvitationPorts: ...

    @property
    def events(self) -> Events: ...

    @property
    def metric_prefix(self) -> str: ...  # "Invitation": InvitationRemindersSent, ...

    @property
    def not_sent(self) -> str: ...  # what the caller is told when the email could not be sent

    @property
    def concurrent(self) -> type[Conflict]: ...  # what `save` raises when the record changed meanwhile

    # where the record lives
    @property
    def store(self) -> RecordStore[R]: ...

    def find(self, token_hash: str) -> R | None: ...

    def due(self, today: str) -> Iterable[R]: ...

    # how it carries its invitation
    def invitation(self, record: R) -> Invitation | None: ...

    def with_invitation(self, record: R, invitation: Invitation) -> R: ...

    def invitee_name(self, record: R) -> str: ...

    # what differs
    def bind(self, record: R, user_id: str, *extra: TransactItem) -> R:
        """What accepting grants: `record` bound to the person, and the token consumed (a
        conditional delete), in one transaction with `extra` (its audit event); raises `concurrent`
        when it lost a race."""
        ...

    def letter(self, record: R, token: str, *, firm: Firm | None, reminder: bool) -> EmailMessage | None:
        """The invitation email, or None when there is nothing to invite to any more."""
        ...

    def audit_op(self, record: R, actor_id: str, action: str, details: Mapping[str, Any]) -> TransactItem:
        """The audit event of what happened to the record, to write in the change's transaction."""
        ...

    def audit_alone(self, record: R, actor_id: str, action: str, details: Mapping[str, Any]) -> None:
        """An audit event with no change to write with (an email that could not be sent)."""
        ...

    def log_ref(self, record: R) -> dict[str, str]: ...  # ids only, never the address


# issuing -------------------------------------------------------------------------------------
def issue(
    kind: InvitationKind[R],
    invited: Callable[[Invitation], R],
    previous: R | None,
    *,
    actor_id: str,
    message: str | None = None,
    also_write: Callable[[R], Sequence[TransactItem]] | None = None,
    audit: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
) -> R:
    """A new single-use link (256 bits, only its hash stored) for `invited(invitation)`, saved over
    `previous` (whose link dies in the same transaction) with the kind's `also_write` items, audited,
    then emailed. `audit` replaces the default event (sent, or resent over a previous record).
    The email's abuse limits (per address, sender and firm) are spent first: beyond one, nothing
    is written or sent (`LimitReached`)."""
    ports = kind.ports
    token, invitation = issue_invitation(ports.clock(), message)
    record = invited(invitation)
    spend_email(ports, firm_id=record.firm_id, actor_id=actor_id, to=record.email)
    operations = [*(also_write(record) if also_write else ()), kind.store.token_put(record)]
    old = kind.invitation(previous) if previous is not None else None
    if old is not None:
        operations.insert(0, kind.store.token_drop(old.token_hash))
    events = audit if audit is not None else [(_sent(kind, old), {})]
    operations += [kind.audit_op(record, actor_id, action, details) for action, details in events]
    saved = kind.store.save(record, previous, *operations)
    try:
        _deliver(kind, saved, token, firm=ports.identities.get_firm(saved.firm_id), reminder=False)
    except UpstreamUnavailable:
        # Saved and audited as sent, but no email left: the log says so (the link works once resent).
        kind.audit_alone(saved, actor_id, kind.events.email_failed, {})
        raise
    return saved


def resend(
    kind: InvitationKind[R],
    record: R,
    *,
    actor_id: str,
    message: str | None = None,
    update: Callable[[R], R] | None = None,
) -> R:
    """A fresh link, the lifetime and the reminders from zero; the old link stops working. The
    message stays unless a new one is given; `update` changes what else the kind renews (the
    staff kind: who sent it)."""
    invitation = _open_invitation(kind, record)
    words = message if message is not None else invitation.message
    renewed = update(record) if update is not None else record
    return issue(
        kind, lambda fresh: kind.with_invitation(renewed, fresh), record, actor_id=actor_id, message=words
    )


def revoke(kind: InvitationKind[R], record: R, *, actor_id: str) -> R:
    invitation = _open_invitation(kind, record)
    revoked = kind.with_invitation(record, replace(invitation, status=InvitationStatus.REVOKED))
    audited = kind.audit_op(revoked, actor_id, kind.events.revoked, {})
    return kind.store.save(revoked, record, kind.store.token_drop(invitation.token_hash), audited)


# the link ------------------------------------------------------------------------------------
def verify(kind: InvitationKind[R], token: str) -> R:
    """The invitation this token opens: a wrong, used, replaced, revoked or expired one gets one
    and the same answer. No sign-in needed to check a token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvitationInvalid()
    token_hash = hash_token(token)
    record = kind.find(token_hash)
    invitation = kind.invitation(record) if record is not None else None
    if (
        record is None
        or invitation is None
        or invitation.token_hash != token_hash
        or not invitation.is_usable(kind.ports.clock())
    ):
        raise InvitationInvalid()
    return record


def accept(kind: InvitationKind[R], principal: Principal, token: str) -> R:
    """Bind the invitation to the signed-in person, who must be signed in with the invited email."""
    record = verify(kind, token)
    if normalise_email(principal.email) != record.email:
        raise WrongAccount()
    return _bind(kind, record, principal.user_id, principal.email, {})


def accept_with_new_account(kind: InvitationKind[R], token: str, password: str) -> R:
    """No account yet: the directory creates one for the invited email with `password` (never
    stored nor logged here), then the invitation is bound to it. An email that already has an
    account is refused (`account_exists`: sign in and accept); a password the pool refuses
    (`weak_password`) leaves everything as it was, the link still usable."""
    record = verify(kind, token)
    directory = kind.ports.directory
    if directory.find_by_email(record.email) is not None:
        raise AccountExists()
    user = directory.create_user(record.email, password)
    try:
        return _bind(kind, record, user.user_id, user.email, {"account": "created"})
    except Exception:
        # The link died meanwhile (revoked, resent, used, a race lost): no account may outlive it,
        # or someone would hold a verified account made without a live invitation.
        directory.delete_user(user.user_id)
        raise


def _bind(kind: InvitationKind[R], record: R, user_id: str, email: str, details: Mapping[str, Any]) -> R:
    try:
        bound = kind.bind(record, user_id, kind.audit_op(record, user_id, kind.events.accepted, details))
    except kind.concurrent:  # used or changed meanwhile: the same answer as a used token
        raise InvitationInvalid() from None
    kind.ports.identities.put_profile_if_absent(UserProfile(user_id, email, kind.invitee_name(record)))
    return bound


# reminders and expiry (R-INV-4) ----------------------------------------------------------------
def send_due_reminders(kind: InvitationKind[Any]) -> dict[str, int]:
    """The daily run: 7- and 30-day reminders, once each whatever the runs, and expiry."""
    now = kind.ports.clock()
    outcome = {"reminders_sent": 0, "expired": 0, "skipped": 0, "failed": 0}
    firm_of = cache(kind.ports.identities.get_firm)  # one read per firm per run
    for record in kind.due(now.date().isoformat()):
        try:
            if (done := _remind_or_expire(kind, record, now, firm_of)) != NOT_DUE:
                outcome[done] += 1
        except kind.concurrent:
            outcome["skipped"] += 1  # a concurrent run or change handled it
    for name, value in outcome.items():
        metrics.add_metric(
            name=f"{kind.metric_prefix}{name.title().replace('_', '')}", unit="Count", value=value
        )
    return outcome


def _remind_or_expire(
    kind: InvitationKind[R], record: R, now: datetime, firm_of: Callable[[str], Firm | None]
) -> str:
    invitation = kind.invitation(record)
    if invitation is None:
        return NOT_DUE
    if invitation.status is InvitationStatus.SENT and now >= invitation.expires_at:
        expired = kind.with_invitation(record, replace(invitation, status=InvitationStatus.EXPIRED))
        audited = kind.audit_op(expired, SYSTEM_ACTOR, kind.events.expired, {})
        kind.store.save(expired, record, kind.store.token_drop(invitation.token_hash), audited)
        return "expired"
    firm = firm_of(record.firm_id)
    age = invitation.reminder_due(now, firm.timezone if firm else "UTC")
    if age is None:
        return NOT_DUE
    # Every reminder due by now counts as sent: after a missed day-7 run, day 31 sends only one.
    # We keep only the token's hash, so the reminder carries a fresh token (same expiry) that
    # replaces the old one once the email is sent. The conditional save is the claim: a second
    # run or a retry finds the reminder already sent.
    sent = tuple(sorted({*invitation.reminders_sent, *(a for a in REMINDER_AGES if a <= age)}))
    token, fresh = issue_invitation(invitation.sent_at, invitation.message)
    reminded = kind.with_invitation(record, replace(fresh, reminders_sent=sent))
    # Everything the email needs is read before the claim: once it is taken, only the send may
    # fail, and that releases it (a read failing in between would lose the reminder for good).
    letter = kind.letter(reminded, token, firm=firm, reminder=True)
    if letter is None:
        return "skipped"  # nothing to invite to any more
    store = kind.store
    audited = kind.audit_op(reminded, SYSTEM_ACTOR, kind.events.reminded, {"days": age})
    claimed = store.save(reminded, record, store.token_put(reminded), audited)
    try:
        _send(kind, claimed, letter)
    except UpstreamUnavailable:
        # Not sent: put everything back (the link already emailed keeps working) so that the next
        # run tries again; the log says the reminder it recorded was not sent after all.
        released = kind.with_invitation(claimed, invitation)
        failed = kind.audit_op(released, SYSTEM_ACTOR, kind.events.email_failed, {"days": age})
        store.save(released, claimed, store.token_drop(fresh.token_hash), failed)
        return "failed"
    store.transact([store.token_drop(invitation.token_hash)])  # the previous link stops working now
    return "reminders_sent"


# helpers -------------------------------------------------------------------------------------
def spend_email(ports: InvitationPorts, *, firm_id: str, actor_id: str, to: str) -> None:
    """An invitation or access email's abuse limits (shared/domain/limits.py), before it is sent."""
    spent = charges(Action.SEND_INVITATION, email=to, user=actor_id, firm=firm_id)
    ports.limits.spend(spent, ports.clock())


def _sent(kind: InvitationKind[Any], previous: Invitation | None) -> str:
    return kind.events.resent if previous is not None else kind.events.sent


def _open_invitation(kind: InvitationKind[R], record: R) -> Invitation:
    """The invitation of a record whose person has not accepted it yet."""
    invitation = kind.invitation(record)
    if invitation is None or invitation.status is InvitationStatus.ACCEPTED:
        raise Conflict("This invitation was already accepted.", code="invitation_already_accepted")
    return invitation


def _deliver(kind: InvitationKind[R], record: R, token: str, *, firm: Firm | None, reminder: bool) -> None:
    letter = kind.letter(record, token, firm=firm, reminder=reminder)
    if letter is not None:
        _send(kind, record, letter)


def _send(kind: InvitationKind[R], record: R, letter: EmailMessage) -> None:
    try:
        kind.ports.email.send(letter)
    except Exception as error:  # the type only: a provider's message may quote the address
        logger.error(
            "Invitation email failed", extra={**kind.log_ref(record), "error_type": type(error).__name__}
        )
        raise UpstreamUnavailable(kind.not_sent, code="email_not_sent") from None
