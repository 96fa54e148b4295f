"""GoCardless Bank Account Data (formerly Nordigen) API v2 behind the aggregator port.

Flow: an end-user agreement (history ≤ the institution's `transaction_total_days`, access 90
days, scopes balances/details/transactions) and a requisition whose `redirect` is our
callback and whose `reference` is ours; the person consents at the bank and is redirected
back; we read the requisition (its status, its accounts) and then each account.

The access token, the per-account limits and the API's errors: gocardless_session.py;
payloads as domain values: gocardless_mapping.py.

Budget: `details`, `balances` and `transactions` are limited per account and per day by the
bank (as few as 4 successful calls each); `list_accounts` spends one `details` and one
`balances` call per ready account, `fetch_transactions` one `transactions` call. Those and
`accounts/{id}/` together keep to the company-wide pace (100 a minute for all of the company's
credentials): three or four of them per account read.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from shared.adapters.aggregator.credentials import CredentialSource
from shared.adapters.aggregator.gocardless_mapping import (
    account_identity,
    institution_from,
    transaction_from,
    with_details,
    with_occurrences,
)
from shared.adapters.aggregator.gocardless_session import (
    PROVIDER,
    GoCardlessSession,
    is_retryable,
    segment,
)
from shared.adapters.aggregator.http_client import (
    DEFAULT_TIMEOUT,
    JsonHttpClient,
    Reply,
    RetryPolicy,
    Sleep,
)
from shared.adapters.aggregator.payload import Payload, malformed
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.aggregator import (
    AccountUnavailable,
    AggregatorAccount,
    AggregatorError,
    AggregatorRequestRejected,
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
    OpenPace,
    RequestGate,
    RequestPace,
    TransactionCursor,
    TransactionPage,
    mask_identifier,
)

ACCESS_SCOPE = ("balances", "details", "transactions")
DEFAULT_HISTORY_DAYS = 90
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
_PROCESSING = re.compile(r"AccountProcessing|\bprocessing\b|being processed", re.IGNORECASE)
_ACCOUNT_GONE = re.compile(r"AccountInactive|\binactive\b|\bsuspended\b|\bclosed\b|not found", re.IGNORECASE)


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for name search ("Crédit" finds "credit")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


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
        pace: RequestPace | None = None,
    ) -> None:
        http = JsonHttpClient(
            PROVIDER,
            base_url,
            is_retryable,
            transport=transport,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            rand=rand,
        )
        self._session = GoCardlessSession(http, credentials, clock, gate or OpenGate(), pace or OpenPace())
        self._clock = clock
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
        return institution_from(payload, countries[0] if countries else "")

    def _institutions_in(self, country: str) -> list[Institution]:
        now = self._clock()
        cached = self._institutions.get(country)
        if cached and now - cached[0] < INSTITUTIONS_TTL:
            return cached[1]
        reply = self._session.call(
            "GET", "api/v2/institutions/", operation="list_institutions", params={"country": country.lower()}
        )
        if not isinstance(reply.body, list):
            raise malformed(PROVIDER, "institutions is not a list")
        institutions = [
            institution_from(Payload(item, PROVIDER, "institution"), country) for item in reply.body
        ]
        self._institutions[country] = (now, institutions)
        return institutions

    def _institution_payload(self, institution_id: str) -> Payload:
        reply = self._session.call(
            "GET", f"api/v2/institutions/{segment(institution_id)}/", operation="get_institution"
        )
        return Payload(reply.body, PROVIDER, "institution")

    # ------------------------------------------------------------------ consent

    def start_consent(self, request: ConsentRequest) -> ConsentStart:
        """An agreement within the institution's limits, then a requisition carrying our
        reference and callback. GoCardless has no update mode: reauthorising is a new consent."""
        institution = self._institution_payload(request.institution_id)
        agreement_id = self._create_agreement(request, institution)
        reply = self._session.call(
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
        reply = self._session.call(
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
        reply = self._session.authorised(
            "GET", f"api/v2/requisitions/{segment(credential)}/", operation="get_requisition"
        )
        if reply.status == 404:
            return ConsentOutcome(
                state=ConsentState.REVOKED, credential=credential, reason="The requisition no longer exists."
            )
        requisition = Payload(self._session.checked(reply).body, PROVIDER, "requisition")
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
        reply = self._session.authorised(
            "GET", f"api/v2/agreements/enduser/{segment(agreement_id)}/", operation="get_agreement"
        )
        if reply.status == 404:
            return None
        agreement = Payload(self._session.checked(reply).body, PROVIDER, "agreement")
        accepted = agreement.opt_datetime("accepted")
        days = agreement.opt_int("access_valid_for_days")
        return accepted + timedelta(days=days) if accepted and days else None

    def revoke(self, credential: str) -> None:
        """Deleting the requisition deletes its agreement: access ends at once (R-CON-7)."""
        reply = self._session.authorised(
            "DELETE", f"api/v2/requisitions/{segment(credential)}/", operation="delete_requisition"
        )
        if reply.status != 404:
            self._session.checked(reply)

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
        meta = Payload(self._session.checked(self._session.account(account_id)).body, PROVIDER, "account")
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
            identity=account_identity(meta.opt_text("iban")),
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
        return with_details(seen, details.obj("account"), balances.objects("balances"))

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
        booked = with_occurrences(
            transaction_from(t, account_id, pending=False) for t in body.objects("booked")
        )
        pending = with_occurrences(
            transaction_from(t, account_id, pending=True) for t in body.opt_objects("pending")
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

    # ------------------------------------------------------------------ limited endpoints

    def _account_call(
        self, credential: str, account_id: str, endpoint: str, operation: str, **options: Any
    ) -> Reply:
        """A request to an endpoint the bank limits per account and day (the session keeps to
        the limit); an account's own problem is raised as such."""
        reply = self._session.limited(account_id, endpoint, operation=operation, **options)
        if not reply.ok and (unavailable := self._account_problem(credential, reply)) is not None:
            raise unavailable
        return self._session.checked(reply)

    def _account_problem(self, credential: str, reply: Reply) -> AggregatorError | None:
        """A 4xx about the account, not the consent (an expired agreement is the consent's):
        still processing (409 AccountProcessing: try later), or inactive, suspended, closed or
        unknown. A bare 404 is checked against the requisition first (an unlimited call): a
        deleted or expired consent is the consent's problem, not every account's."""
        if not 400 <= reply.status < 500 or reply.status == 429:
            return None
        error = self._session.error(reply)
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
