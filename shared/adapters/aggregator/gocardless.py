"""GoCardless Bank Account Data (formerly Nordigen) API v2 behind the aggregator port.

Flow: an end-user agreement (history ≤ the institution's `transaction_total_days`, access 90
days, scopes balances/details/transactions) and a requisition whose `redirect` is our
callback and whose `reference` is ours; the person consents at the bank and is redirected
back; we read the requisition (its status, its accounts) and then each account.

Access token: `POST token/new/` once per process, refreshed with `token/refresh/` shortly
before its 24 h expiry (the refresh token lasts 30 days), a new login only when both are
spent or the API rejects the token.

Budget: `details`, `balances` and `transactions` are limited per account and per day by the
bank (as few as 4 successful calls each); `list_accounts` spends one `details` and one
`balances` call per ready account, `fetch_transactions` one `transactions` call.
"""

from __future__ import annotations

import random
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from shared.adapters.aggregator.credentials import CredentialSource, required
from shared.adapters.aggregator.http_client import (
    DEFAULT_TIMEOUT,
    JsonHttpClient,
    Reply,
    RetryPolicy,
    Sleep,
    rate_limit_values,
    rate_limited,
    redact,
    reset_seconds,
)
from shared.adapters.aggregator.payload import Payload, malformed
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.aggregator import (
    AccountUnavailable,
    AggregatorAccount,
    AggregatorError,
    AggregatorRateLimited,
    AggregatorRequestRejected,
    AggregatorTransaction,
    AggregatorUnavailable,
    CompletionInput,
    ConsentExpired,
    ConsentOutcome,
    ConsentRequest,
    ConsentRevoked,
    ConsentStart,
    ConsentState,
    DateWindow,
    Institution,
    OpenGate,
    RequestGate,
    TransactionCursor,
    TransactionPage,
    mask_identifier,
)

PROVIDER = "gocardless"
ACCESS_SCOPE = ("balances", "details", "transactions")
DEFAULT_HISTORY_DAYS = 90
TOKEN_MARGIN = timedelta(minutes=5)  # renew a token this long before it expires
INSTITUTIONS_TTL = timedelta(hours=6)

# Requisition statuses (developer.gocardless.com/bank-account-data/statuses). UA/GA can last
# for days at some banks: still pending, polled later.
_STATES = {
    "CR": ConsentState.PENDING,  # created
    "GC": ConsentState.PENDING,  # giving consent at GoCardless
    "UA": ConsentState.PENDING,  # undergoing authentication at the bank
    "SA": ConsentState.PENDING,  # selecting accounts
    "GA": ConsentState.PENDING,  # granting access
    "ID": ConsentState.PENDING,  # identifying (older API versions)
    "LN": ConsentState.LINKED,
    "RJ": ConsentState.REJECTED,  # SSN check failed or wrong credentials at the bank
    "EX": ConsentState.EXPIRED,
    "SU": ConsentState.REVOKED,  # suspended
    "ER": ConsentState.ERROR,
}
_HEALTHY = (ConsentState.PENDING, ConsentState.LINKED)
_PREFERRED_BALANCES = ("interimBooked", "closingBooked", "interimAvailable", "expected", "closingAvailable")
_SAFE_DETAILS = ("product", "cashAccountType", "usage", "bic", "details")  # no owner name, address, IBAN
# Fields that identify a transaction when the bank gives no id; never account numbers.
_FINGERPRINT_KEYS = (
    "bookingDate",
    "bookingDateTime",
    "valueDate",
    "valueDateTime",
    "endToEndId",
    "entryReference",
    "mandateId",
    "checkId",
    "creditorId",
    "bankTransactionCode",
    "proprietaryBankTransactionCode",
    "remittanceInformationUnstructured",
    "remittanceInformationStructured",
    "additionalInformation",
    "creditorName",
    "debtorName",
)
_EXPIRED = re.compile(
    r"\b(EUA|end user agreement)\b.*\bexpired\b|access has expired|no valid end user agreement",
    re.IGNORECASE | re.DOTALL,
)
_SUSPENDED = re.compile(r"\bsuspended\b", re.IGNORECASE)
_PROCESSING = re.compile(r"AccountProcessing|\bprocessing\b|being processed", re.IGNORECASE)
_ACCOUNT_GONE = re.compile(r"AccountInactive|\binactive\b|\bsuspended\b|\bclosed\b|not found", re.IGNORECASE)
_INVALID_TOKEN = re.compile(r"token is invalid or expired|invalid token", re.IGNORECASE)


@dataclass(frozen=True)
class _Tokens:
    access: str
    access_expires_at: datetime
    refresh: str | None
    refresh_expires_at: datetime | None

    def access_valid(self, now: datetime) -> bool:
        return now < self.access_expires_at - TOKEN_MARGIN

    def refresh_valid(self, now: datetime) -> bool:
        return (
            bool(self.refresh)
            and self.refresh_expires_at is not None
            and now < self.refresh_expires_at - TOKEN_MARGIN
        )


def _segment(value: str) -> str:
    """An id as one URL path segment (an id is never a path). Quoting leaves "." and "..", which
    the URL would resolve as dot segments (`institutions/../` is another endpoint): refused."""
    if value in ("", ".", ".."):
        raise AggregatorRequestRejected("Not an id the bank data provider knows.", provider=PROVIDER)
    return quote(value, safe="")


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for name search ("Crédit" finds "credit")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _is_retryable(reply: Reply) -> bool:
    """5xx, except UnknownRequestError: GoCardless suspends an account after 10 consecutive
    ones, so a burst of retries must not spend them."""
    return reply.status >= 500 and reply.object_body().get("type") != "UnknownRequestError"


class GoCardlessAdapter:
    """The aggregator port over GoCardless Bank Account Data (see the module docstring)."""

    name = PROVIDER
    feed_per_account = True  # a date window per account

    def __init__(
        self,
        base_url: str,
        credentials: CredentialSource,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Now = business_now,
        sleep: Sleep = time.sleep,
        rand: Callable[[], float] = random.random,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        gate: RequestGate | None = None,
    ) -> None:
        self._gate = gate or OpenGate()
        self._http = JsonHttpClient(
            PROVIDER,
            base_url,
            _is_retryable,
            transport=transport,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            rand=rand,
        )
        self._credentials = credentials
        self._clock = clock
        self._tokens: _Tokens | None = None
        self._login_secrets: tuple[str, ...] = ()  # redacted from every error message
        self._token_lock = threading.Lock()
        self._institutions: dict[str, tuple[datetime, list[Institution]]] = {}

    # ------------------------------------------------------------------ institutions

    def search_institutions(self, country: str, query: str = "") -> list[Institution]:
        """The API lists a country's institutions; the name match happens here (cached list)."""
        institutions = self._institutions_in(country.upper())
        needle = _fold(query.strip())
        return [i for i in institutions if needle in _fold(i.name)] if needle else list(institutions)

    def get_institution(self, institution_id: str) -> Institution:
        payload = self._institution_payload(institution_id)
        countries = payload.strings("countries")
        return _institution(payload, countries[0] if countries else "")

    def _institutions_in(self, country: str) -> list[Institution]:
        now = self._clock()
        cached = self._institutions.get(country)
        if cached and now - cached[0] < INSTITUTIONS_TTL:
            return cached[1]
        reply = self._call(
            "GET", "api/v2/institutions/", operation="list_institutions", params={"country": country.lower()}
        )
        if not isinstance(reply.body, list):
            raise malformed(PROVIDER, "institutions is not a list")
        institutions = [_institution(Payload(item, PROVIDER, "institution"), country) for item in reply.body]
        self._institutions[country] = (now, institutions)
        return institutions

    def _institution_payload(self, institution_id: str) -> Payload:
        reply = self._call(
            "GET", f"api/v2/institutions/{_segment(institution_id)}/", operation="get_institution"
        )
        return Payload(reply.body, PROVIDER, "institution")

    # ------------------------------------------------------------------ consent

    def start_consent(self, request: ConsentRequest) -> ConsentStart:
        """An agreement within the institution's limits, then a requisition carrying our
        reference and callback. GoCardless has no update mode: reauthorising is a new consent."""
        institution = self._institution_payload(request.institution_id)
        agreement_id = self._create_agreement(request, institution)
        reply = self._call(
            "POST",
            "api/v2/requisitions/",
            operation="create_requisition",
            idempotent=False,  # the reference is unique: a blind resend would be refused
            json_body={
                "redirect": request.redirect_url,
                "institution_id": request.institution_id,
                "reference": request.reference,
                "agreement": agreement_id,
                "user_language": request.language[:2].upper(),
            },
        )
        requisition = Payload(reply.body, PROVIDER, "requisition")
        return ConsentStart(
            consent_handle=requisition.identifier("id"),
            consent_url=requisition.text("link"),
            agreement_id=agreement_id,
        )

    def _create_agreement(self, request: ConsentRequest, institution: Payload) -> str:
        total_days = institution.opt_int("transaction_total_days")
        max_access_days = institution.opt_int("max_access_valid_for_days")
        history = min((d for d in (request.max_history_days, total_days) if d), default=DEFAULT_HISTORY_DAYS)
        access = min(request.access_days, max_access_days) if max_access_days else request.access_days
        reply = self._call(
            "POST",
            "api/v2/agreements/enduser/",
            operation="create_agreement",
            json_body={
                "institution_id": request.institution_id,
                "max_historical_days": history,
                "access_valid_for_days": access,
                "access_scope": list(ACCESS_SCOPE),
            },
        )
        return Payload(reply.body, PROVIDER, "agreement").identifier("id")

    def complete_consent(self, completion: CompletionInput) -> ConsentOutcome:
        """The redirect itself is unsigned: the requisition read here is the only truth."""
        return self.consent_state(completion.consent_handle)

    def consent_state(self, credential: str) -> ConsentOutcome:
        reply = self._authorised(
            "GET", f"api/v2/requisitions/{_segment(credential)}/", operation="get_requisition"
        )
        if reply.status == 404:
            return ConsentOutcome(
                state=ConsentState.REVOKED, credential=credential, reason="The requisition no longer exists."
            )
        requisition = Payload(self._checked(reply).body, PROVIDER, "requisition")
        status = requisition.text("status")
        state = _STATES.get(status, ConsentState.ERROR)
        expires_at = None
        if state is ConsentState.LINKED:
            expires_at = self._agreement_expiry(requisition.opt_identifier("agreement"))
            if expires_at is not None and expires_at <= self._clock():
                state = ConsentState.EXPIRED  # GoCardless shows EX only once an account is read
        return ConsentOutcome(
            state=state,
            credential=requisition.identifier("id"),
            account_ids=tuple(requisition.identifiers("accounts")),
            reason=None if state in _HEALTHY else f"requisition status {status}",
            reference=requisition.opt_text("reference"),
            institution_id=requisition.opt_identifier("institution_id"),
            access_expires_at=expires_at,
        )

    def _agreement_expiry(self, agreement_id: str | None) -> datetime | None:
        """Acceptance + access_valid_for_days; None while unknown."""
        if not agreement_id:
            return None
        reply = self._authorised(
            "GET", f"api/v2/agreements/enduser/{_segment(agreement_id)}/", operation="get_agreement"
        )
        if reply.status == 404:
            return None
        agreement = Payload(self._checked(reply).body, PROVIDER, "agreement")
        accepted = agreement.opt_datetime("accepted")
        days = agreement.opt_int("access_valid_for_days")
        return accepted + timedelta(days=days) if accepted and days else None

    def revoke(self, credential: str) -> None:
        """Deleting the requisition deletes its agreement: access ends at once (R-CON-7)."""
        reply = self._authorised(
            "DELETE", f"api/v2/requisitions/{_segment(credential)}/", operation="delete_requisition"
        )
        if reply.status != 404:
            self._checked(reply)

    # ------------------------------------------------------------------ accounts

    def list_accounts(
        self,
        credential: str,
        *,
        only: Collection[str] | None = None,
        skip: Callable[[AggregatorAccount], bool] | None = None,
    ) -> list[AggregatorAccount]:
        """The consent's accounts (or `only` these, without reading the requisition), each with
        details and balances. An account `skip` refuses on sight (its metadata: id, masked
        IBAN, identity, status; a free call) is left out without spending a limited request."""
        if only is None:
            outcome = self.consent_state(credential)
            if outcome.state is ConsentState.REVOKED:
                raise ConsentRevoked(outcome.reason, provider=PROVIDER)
            only = outcome.account_ids
        found = []
        for account_id in only:
            account = self._account(credential, account_id, skip)
            if account is not None:
                found.append(account)
        return found

    def _account(
        self, credential: str, account_id: str, skip: Callable[[AggregatorAccount], bool] | None
    ) -> AggregatorAccount | None:
        path = f"api/v2/accounts/{_segment(account_id)}/"
        meta = Payload(self._call("GET", path, operation="get_account").body, PROVIDER, "account")
        status = meta.opt_text("status") or "READY"
        if status == "EXPIRED":  # the agreement's access ended: the consent's state
            raise ConsentExpired(provider=PROVIDER, provider_code="EXPIRED")
        masked = mask_identifier(meta.opt_text("iban"))
        seen = AggregatorAccount(
            account_id=account_id,
            name=masked or "Account",
            masked_identifier=masked,
            currency=None,
            balance=None,
            balance_type=None,
            institution_id=meta.opt_identifier("institution_id"),
            details={"status": status},
            identity=_identity(meta.opt_text("iban")),
        )
        if skip is not None and skip(seen):
            return None
        if status != "READY":  # DISCOVERED, PROCESSING, ERROR: no data yet, spend no daily call
            return seen
        details = Payload(
            self._account_call(credential, account_id, "details", "get_details").body, PROVIDER, "details"
        )
        balances = Payload(
            self._account_call(credential, account_id, "balances", "get_balances").body, PROVIDER, "balances"
        )
        return _account(seen, details.obj("account"), balances.objects("balances"))

    # ------------------------------------------------------------------ transactions

    def initial_cursor(self, since: date) -> TransactionCursor:
        return DateWindow(since)

    def fetch_transactions(
        self, credential: str, account_id: str, cursor: TransactionCursor
    ) -> TransactionPage:
        """Booked and pending transactions of the window (one call: GoCardless does not page).

        The next window starts at this window's end (one day of overlap: storage is
        idempotent) or at the oldest pending transaction, so a pending one is seen booked.
        """
        if not isinstance(cursor, DateWindow):
            raise AggregatorRequestRejected(
                "GoCardless reads transactions by date window.", provider=PROVIDER
            )
        today = self._clock().date()
        date_to = min(cursor.date_to or today, today)
        date_from = min(cursor.date_from, date_to)
        reply = self._account_call(
            credential,
            account_id,
            "transactions",
            "get_transactions",
            params={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
        )
        body = Payload(reply.body, PROVIDER, "transactions").obj("transactions")
        booked = _with_occurrences(_transaction(t, account_id, pending=False) for t in body.objects("booked"))
        pending = _with_occurrences(
            _transaction(t, account_id, pending=True) for t in body.opt_objects("pending")
        )
        pending_dates = [d for t in pending if (d := t.value_date or t.booking_date)]
        next_from = max(cursor.date_from, min([date_to, *pending_dates]))
        return TransactionPage(
            added=(*booked, *pending),
            modified=(),
            removed=(),
            next_cursor=DateWindow(next_from),
            complete=True,
            pending_snapshot=True,
        )

    # ------------------------------------------------------------------ HTTP and errors

    def _call(self, method: str, path: str, *, operation: str, **options: Any) -> Reply:
        return self._checked(self._authorised(method, path, operation=operation, **options))

    def _account_call(
        self, credential: str, account_id: str, endpoint: str, operation: str, **options: Any
    ) -> Reply:
        """A request to an endpoint the bank limits per account and day: each attempt passes the
        gate before it is sent, and what the provider says of the limit is kept for the next."""
        reply = self._authorised(
            "GET",
            f"api/v2/accounts/{_segment(account_id)}/{endpoint}/",
            operation=operation,
            before_each=lambda: self._gate.admit(account_id, endpoint),
            **options,
        )
        self._note_limit(account_id, endpoint, reply)
        if not reply.ok and (unavailable := self._account_problem(credential, reply)) is not None:
            raise unavailable
        return self._checked(reply)

    def _account_problem(self, credential: str, reply: Reply) -> AggregatorError | None:
        """A 4xx about the account, not the consent (an expired agreement is the consent's):
        still processing (409 AccountProcessing: try later), or inactive, suspended, closed or
        unknown. A bare 404 is checked against the requisition first (an unlimited call): a
        deleted or expired consent is the consent's problem, not every account's."""
        if not 400 <= reply.status < 500 or reply.status == 429:
            return None
        error = self._error(reply)
        if type(error) is ConsentExpired:
            return None
        kind = error.provider_code or ""
        text = f"{kind} {error.message or ''}"
        if _PROCESSING.search(text):
            return AccountUnavailable(error.message, retry_later=True, provider=PROVIDER, provider_code=kind)
        if reply.status == 404:
            consent = self.consent_state(credential).state
            if consent is ConsentState.REVOKED:
                return ConsentRevoked(error.message, provider=PROVIDER, provider_code=kind)
            if consent is ConsentState.EXPIRED:
                return ConsentExpired(error.message, provider=PROVIDER, provider_code=kind)
        if reply.status == 404 or _ACCOUNT_GONE.search(text):
            return AccountUnavailable(error.message, provider=PROVIDER, provider_code=kind)
        return None

    def _note_limit(self, account_id: str, endpoint: str, reply: Reply) -> None:
        """A 429, or a success that leaves none of the account's requests: no request to this
        endpoint before the reset the provider gave."""
        remaining = rate_limit_values(reply.headers).get("x-ratelimit-account-success-remaining")
        if reply.status != 429 and remaining != 0:
            return
        _, detail = _summary_and_detail(reply.object_body())
        seconds = reset_seconds(reply.headers, detail)
        if seconds is None:
            seconds = AggregatorRateLimited.default_retry_after_seconds
        self._gate.hold(account_id, endpoint, self._clock() + timedelta(seconds=seconds))

    def _checked(self, reply: Reply) -> Reply:
        if reply.ok:
            return reply
        raise self._error(reply)

    def _authorised(self, method: str, path: str, *, operation: str, **options: Any) -> Reply:
        """One call with the access token; a token the API rejects is replaced once."""
        token = self._access_token()
        reply = self._http.request(method, path, operation=operation, headers=_bearer(token), **options)
        if reply.status == 401 and _is_invalid_token(reply):
            self._forget(token)
            reply = self._http.request(
                method, path, operation=operation, headers=_bearer(self._access_token()), **options
            )
        return reply

    def _access_token(self) -> str:
        with self._token_lock:
            now = self._clock()
            tokens = self._tokens
            if tokens is None or not tokens.access_valid(now):
                refreshed = self._refreshed(tokens, now) if tokens and tokens.refresh_valid(now) else None
                tokens = refreshed or self._new_tokens(now)
                self._tokens = tokens
            return tokens.access

    def _new_tokens(self, now: datetime) -> _Tokens:
        values = self._credentials()
        secret_id = required(values, "gocardless_secret_id", PROVIDER)
        secret_key = required(values, "gocardless_secret_key", PROVIDER)
        self._login_secrets = (secret_id, secret_key)
        reply = self._http.request(
            "POST",
            "api/v2/token/new/",
            operation="token_new",
            json_body={"secret_id": secret_id, "secret_key": secret_key},
        )
        if not reply.ok:
            error = self._error(reply)
            if reply.status in (401, 403):  # our credentials, not the person's: a configuration fault
                raise AggregatorUnavailable(
                    error.message, provider=PROVIDER, provider_code="authentication_failed"
                )
            raise error
        body = Payload(reply.body, PROVIDER, "token")
        refresh_seconds = body.opt_int("refresh_expires")
        return _Tokens(
            access=body.text("access"),
            access_expires_at=now + timedelta(seconds=body.opt_int("access_expires") or 0),
            refresh=body.opt_text("refresh"),
            refresh_expires_at=now + timedelta(seconds=refresh_seconds) if refresh_seconds else None,
        )

    def _refreshed(self, tokens: _Tokens, now: datetime) -> _Tokens | None:
        """A new access token from the refresh token; None if it was refused (log in again)."""
        reply = self._http.request(
            "POST", "api/v2/token/refresh/", operation="token_refresh", json_body={"refresh": tokens.refresh}
        )
        if 400 <= reply.status < 500 and reply.status != 429:
            return None
        if not reply.ok:
            raise self._error(reply)
        body = Payload(reply.body, PROVIDER, "token")
        return replace(
            tokens,
            access=body.text("access"),
            access_expires_at=now + timedelta(seconds=body.opt_int("access_expires") or 0),
        )

    def _forget(self, token: str) -> None:
        with self._token_lock:
            if self._tokens is not None and self._tokens.access == token:
                self._tokens = replace(self._tokens, access_expires_at=datetime.fromtimestamp(0, UTC))

    def _error(self, reply: Reply) -> AggregatorError:
        """The domain error for a non-2xx reply; an expired agreement is read from the body,
        whatever the status code (GoCardless answers 401, 403 or 400 for it)."""
        body = reply.object_body()
        summary, detail = _summary_and_detail(body)
        kind = body.get("type") if isinstance(body.get("type"), str) else None
        tokens = (self._tokens.access, self._tokens.refresh) if self._tokens else ()
        message = redact(_sentence(summary, detail), (*self._login_secrets, *tokens))
        details: dict[str, str | None] = {"provider": PROVIDER, "provider_code": kind or str(reply.status)}
        if kind == "AccessExpiredError" or any(_EXPIRED.search(text) for text in (summary, detail) if text):
            return ConsentExpired(message, **details)
        if kind == "AccountInactiveError" or _SUSPENDED.search(summary or ""):
            return ConsentRevoked(message, **details)
        if reply.status == 429:
            return rate_limited(
                PROVIDER, message, reset_seconds(reply.headers, detail), self._clock(), provider_code=kind
            )
        if reply.status >= 500:
            return AggregatorUnavailable(message, **details)
        return AggregatorRequestRejected(message, **details)


# --------------------------------------------------------------------------- mapping


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _is_invalid_token(reply: Reply) -> bool:
    summary, detail = _summary_and_detail(reply.object_body())
    text = f"{summary or ''} {detail or ''}"
    return bool(_INVALID_TOKEN.search(text)) and not _EXPIRED.search(text)


def _summary_and_detail(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """`summary`/`detail` of an error body, or of its per-field errors ({field: {summary, detail}})."""
    summary, detail = body.get("summary"), body.get("detail")
    if isinstance(summary, str) or isinstance(detail, str):
        return (summary if isinstance(summary, str) else None, detail if isinstance(detail, str) else None)
    fields = {name: value for name, value in body.items() if isinstance(value, dict)}
    if not fields:
        return None, None
    summaries = "; ".join(f"{name}: {value.get('summary')}" for name, value in fields.items())
    details = "; ".join(
        f"{name}: {value.get('detail')}" for name, value in fields.items() if value.get("detail")
    )
    return summaries, details or None


def _sentence(summary: str | None, detail: str | None) -> str | None:
    if summary and detail and detail != summary:
        return f"{summary}: {detail}"
    return summary or detail


def _institution(payload: Payload, country: str) -> Institution:
    """GoCardless gives no web address or notice: those stay None."""
    return Institution(
        id=payload.identifier("id"),
        name=payload.text("name"),
        country=country,
        logo_url=payload.opt_text("logo"),
        max_history_days=payload.opt_int("transaction_total_days"),
    )


def _identity(identifier: str | None, kind: str = "iban") -> str | None:
    """The bank account itself, whatever the consent: its IBAN (or BBAN, sort code and number),
    compact and upper case. Never stored or shown as is: hashed with the institution."""
    compact = "".join((identifier or "").split()).upper()
    return f"{kind}:{compact}" if compact else None


def _account(seen: AggregatorAccount, details: Payload, balances: list[Payload]) -> AggregatorAccount:
    masked = seen.masked_identifier or mask_identifier(
        details.opt_text("iban") or details.opt_text("bban") or details.opt_text("maskedPan")
    )
    identity = (
        seen.identity
        or _identity(details.opt_text("iban"))
        or _identity(details.opt_text("bban"), "bban")
        or _identity(details.opt_text("scan"), "scan")
        or _identity(details.opt_text("resourceId"), "resource")
    )
    balance = _preferred_balance(balances)
    amount = balance.obj("balanceAmount") if balance else None
    return replace(
        seen,
        name=details.opt_text("name")
        or details.opt_text("displayName")
        or details.opt_text("product")
        or masked
        or "Account",
        masked_identifier=masked,
        currency=details.opt_text("currency") or (amount.opt_text("currency") if amount else None),
        balance=amount.decimal("amount") if amount else None,
        balance_type=balance.opt_text("balanceType") if balance else None,
        details={"status": "READY", **{k: v for k in _SAFE_DETAILS if (v := details.opt_text(k))}},
        identity=identity,
    )


def _preferred_balance(balances: list[Payload]) -> Payload | None:
    by_type = {b.opt_text("balanceType"): b for b in balances}
    preferred = next((by_type[t] for t in _PREFERRED_BALANCES if t in by_type), None)
    return preferred or (balances[0] if balances else None)


def _transaction(payload: Payload, account_id: str, *, pending: bool) -> AggregatorTransaction:
    """Amounts are signed by the bank (Berlin Group): negative = money out, as in our convention."""
    money = payload.obj("transactionAmount")
    amount = money.decimal("amount")
    currency = money.text("currency")
    debtor, creditor = payload.opt_text("debtorName"), payload.opt_text("creditorName")
    fields = [(key, value) for key in _FINGERPRINT_KEYS if (value := payload.scalar(key))]
    remittance_lines = [
        line for line in payload.opt_array("remittanceInformationUnstructuredArray") if isinstance(line, str)
    ]
    if remittance_lines:
        fields.append(("remittanceInformationUnstructuredArray", "\n".join(remittance_lines)))
    fields += [
        ("amount", str(amount)),
        ("currency", currency),
        ("status", "pending" if pending else "booked"),
    ]
    return AggregatorTransaction(
        transaction_id=payload.opt_identifier("transactionId"),
        internal_id=payload.opt_identifier("internalTransactionId"),
        account_id=account_id,
        booking_date=payload.opt_date("bookingDate") or payload.opt_date("bookingDateTime"),
        value_date=payload.opt_date("valueDate") or payload.opt_date("valueDateTime"),
        amount=amount,
        currency=currency,
        description=_description(payload, remittance_lines),
        counterparty=(creditor if amount < 0 else debtor) or creditor or debtor,
        pending=pending,
        raw_fingerprint_fields=tuple(fields),
    )


def _description(payload: Payload, remittance_lines: list[str]) -> str | None:
    return (
        payload.opt_text("remittanceInformationUnstructured")
        or (" ".join(remittance_lines) if remittance_lines else None)
        or payload.opt_text("remittanceInformationStructured")
        or payload.opt_text("additionalInformation")
    )


def _with_occurrences(transactions: Iterable[AggregatorTransaction]) -> list[AggregatorTransaction]:
    """Number identical movements (two equal coffees the same day) so their fingerprints differ.

    Stable across fetches because identical movements share their dates, so a window holds
    all of them or none.
    """
    seen: Counter[tuple[tuple[str, str], ...]] = Counter()
    numbered = []
    for transaction in transactions:
        fields = transaction.raw_fingerprint_fields
        numbered.append(
            replace(transaction, raw_fingerprint_fields=(*fields, ("occurrence", str(seen[fields]))))
        )
        seen[fields] += 1
    return numbered
