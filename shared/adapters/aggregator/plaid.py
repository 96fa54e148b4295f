"""Plaid behind the aggregator port: Link tokens, public-token exchange, accounts,
`/transactions/sync`, Items.

Every call is a JSON POST authenticated by the `PLAID-CLIENT-ID` and `PLAID-SECRET` headers
(Plaid accepts them there or in the body; headers keep them out of any body we might
echo). The credential of a connection is the Item's `access_token`: a secret, sent in
request bodies only, redacted from every error message.

Sign convention: Plaid's `amount` is positive when money moves OUT of the account; ours
is negative for money out. Every amount is negated here, exactly (Decimal from the JSON
text, never a float).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from shared.adapters.aggregator.credentials import CredentialSource, required
from shared.adapters.aggregator.http_client import (
    DEFAULT_TIMEOUT,
    JsonHttpClient,
    Reply,
    RetryPolicy,
    Sleep,
    rate_limited,
    redact,
    reset_seconds,
)
from shared.adapters.aggregator.payload import Payload, malformed
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.aggregator import (
    AggregatorAccount,
    AggregatorError,
    AggregatorRequestRejected,
    AggregatorTransaction,
    AggregatorUnavailable,
    CompletionInput,
    ConsentOutcome,
    ConsentRequest,
    ConsentRevoked,
    ConsentStart,
    ConsentState,
    CredentialsRejected,
    Institution,
    SyncCursor,
    TransactionCursor,
    TransactionPage,
    mask_identifier,
)
from shared.observability import logger

PROVIDER = "plaid"
ENVIRONMENTS = {"sandbox": "https://sandbox.plaid.com", "production": "https://production.plaid.com"}
MUTATION_DURING_PAGINATION = "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"
MAX_DAYS_REQUESTED = 730

_RETRYABLE_CODES = frozenset({"INTERNAL_SERVER_ERROR", "PLANNED_MAINTENANCE"})
_CREDENTIALS_CODES = frozenset({"ITEM_LOGIN_REQUIRED", "ACCESS_NOT_GRANTED"})  # fixed by update mode
_REVOKED_CODES = frozenset({"ITEM_NOT_FOUND", "USER_PERMISSION_REVOKED"})
_UNAVAILABLE_TYPES = frozenset({"API_ERROR", "INSTITUTION_ERROR"})
_SAFE_DETAILS = ("type", "subtype", "official_name")


def base_url_for(environment: str) -> str:
    """`sandbox`, `production`, or any URL as is (a local fake)."""
    return ENVIRONMENTS.get(environment.strip().lower(), environment.strip())


def _is_retryable(reply: Reply) -> bool:
    return reply.status >= 500 or reply.object_body().get("error_code") in _RETRYABLE_CODES


@dataclass(frozen=True)
class SyncLimits:
    """Bounds of one `fetch_transactions`: pages per call and restarts after a mutation."""

    page_size: int = 500  # Plaid's maximum `count`
    max_pages: int = 100
    restarts: int = 3


@dataclass
class _Changes:
    added: list[AggregatorTransaction] = field(default_factory=list)
    modified: list[AggregatorTransaction] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class PlaidAdapter:
    """The aggregator port over Plaid (see the module docstring)."""

    name = PROVIDER
    feed_per_account = False  # one /transactions/sync feed per Item

    def __init__(
        self,
        base_url: str,
        credentials: CredentialSource,
        *,
        client_name: str = "Client data sharing",
        country_codes: Sequence[str] = ("GB",),
        transport: httpx.BaseTransport | None = None,
        clock: Now = business_now,
        sleep: Sleep = time.sleep,
        rand: Callable[[], float] = random.random,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sync: SyncLimits | None = None,
    ) -> None:
        self._http = JsonHttpClient(
            PROVIDER,
            base_url_for(base_url),
            _is_retryable,
            transport=transport,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            rand=rand,
        )
        self._credentials = credentials
        self._client_name = client_name
        self._country_codes = [code.upper() for code in country_codes]
        self._clock = clock
        self._sync = sync or SyncLimits()

    # ------------------------------------------------------------------ institutions

    def search_institutions(self, country: str, query: str = "") -> list[Institution]:
        """Plaid searches by name itself (10 results at most); it needs a non-empty query."""
        if not query.strip():
            return []
        found = self._call(
            "institutions/search",
            {
                "query": query.strip(),
                "country_codes": [country.upper()],
                "products": ["transactions"],
                "options": {"include_optional_metadata": True},
            },
            operation="institutions_search",
        )
        return [_institution(item) for item in found.objects("institutions")]

    def get_institution(self, institution_id: str) -> Institution:
        found = self._call(
            "institutions/get_by_id",
            {
                "institution_id": institution_id,
                "country_codes": self._country_codes,
                "options": {"include_optional_metadata": True},
            },
            operation="institutions_get_by_id",
        )
        return _institution(found.obj("institution"))

    # ------------------------------------------------------------------ consent

    def start_consent(self, request: ConsentRequest) -> ConsentStart:
        """A Link token; with `update_consent` (an access token) Link opens in update mode,
        which re-logs the same Item: no products then, and the access token stays the same.
        The person picks the institution in Link."""
        body: dict[str, Any] = {
            "client_name": self._client_name,
            "language": request.language[:2].lower(),
            "country_codes": [request.country.upper()] if request.country else self._country_codes,
            "user": {"client_user_id": request.user_id},
        }
        if request.webhook_url:
            body["webhook"] = request.webhook_url
        if request.redirect_url:
            body["redirect_uri"] = request.redirect_url  # OAuth return page, registered with Plaid
        if request.update_consent:
            body["access_token"] = request.update_consent
        else:
            body["products"] = ["transactions"]
            # Plaid's default is 90 days; no limit given means the institution's full history
            # (Plaid's maximum, 730), as R-CON-2 asks. Set at Link: it cannot be raised later.
            days = request.max_history_days or MAX_DAYS_REQUESTED
            body["transactions"] = {"days_requested": max(1, min(days, MAX_DAYS_REQUESTED))}
        created = self._call("link/token/create", body, operation="link_token_create")
        link_token = created.text("link_token")
        return ConsentStart(
            consent_handle=link_token, link_token=link_token, expires_at=created.opt_datetime("expiration")
        )

    def complete_consent(self, completion: CompletionInput) -> ConsentOutcome:
        """Exchange Link's public token (single use: never resent blindly) for the Item's
        access token; after update mode, re-read the existing Item."""
        if completion.public_token:
            exchanged = self._call(
                "item/public_token/exchange",
                {"public_token": completion.public_token},
                operation="public_token_exchange",
                idempotent=False,
            )
            access_token, item_id = exchanged.text("access_token"), exchanged.opt_identifier("item_id")
        elif completion.credential:
            access_token, item_id = completion.credential, None
        else:
            return ConsentOutcome(
                state=ConsentState.PENDING, reason="Plaid Link has not returned a public token yet."
            )

        def linked() -> ConsentOutcome:
            listed = self._call("accounts/get", {"access_token": access_token}, operation="accounts_get")
            account_ids = tuple(account.identifier("account_id") for account in listed.objects("accounts"))
            return self._outcome(access_token, listed.obj("item"), account_ids)

        return _answer_about_consent(linked, access_token, item_id)

    def consent_state(self, credential: str) -> ConsentOutcome:
        def state() -> ConsentOutcome:
            found = self._call("item/get", {"access_token": credential}, operation="item_get")
            return self._outcome(credential, found.obj("item"), ())

        return _answer_about_consent(state, credential, None)

    def _outcome(self, access_token: str, item: Payload, account_ids: tuple[str, ...]) -> ConsentOutcome:
        """The Item's state: its `error` and its consent expiry (OAuth institutions only)."""
        expires_at = item.opt_datetime("consent_expiration_time")
        expired = expires_at is not None and expires_at <= self._clock()
        error = item.opt_obj("error")
        code = error.opt_text("error_code") if error else None
        if code is None:
            state = ConsentState.EXPIRED if expired else ConsentState.LINKED
        elif code in _CREDENTIALS_CODES:
            state = ConsentState.EXPIRED if expired else ConsentState.CREDENTIALS_REJECTED
        elif code in _REVOKED_CODES:
            state = ConsentState.REVOKED
        else:
            state = ConsentState.ERROR
        return ConsentOutcome(
            state=state,
            credential=access_token,
            item_id=item.opt_identifier("item_id"),
            account_ids=account_ids,
            reason=code or ("consent expired" if expired else None),
            institution_id=item.opt_identifier("institution_id"),
            access_expires_at=expires_at,
        )

    def revoke(self, credential: str) -> None:
        """`/item/remove`: the access token stops working and billing ends. Already gone: done."""
        try:
            self._call("item/remove", {"access_token": credential}, operation="item_remove")
        except ConsentRevoked:
            return

    # ------------------------------------------------------------------ accounts

    def list_accounts(
        self,
        credential: str,
        *,
        only: Collection[str] | None = None,
        skip: Callable[[AggregatorAccount], bool] | None = None,
    ) -> list[AggregatorAccount]:
        """Balances as Plaid last saw them (`/accounts/get` is free and cached by Plaid);
        `only` is sent as `options.account_ids`, `skip` leaves accounts out."""
        request: dict[str, Any] = {"access_token": credential}
        if only is not None:
            request["options"] = {"account_ids": list(only)}
        listed = self._call("accounts/get", request, operation="accounts_get")
        institution_id = listed.obj("item").opt_identifier("institution_id")
        accounts = [_account(account, institution_id) for account in listed.objects("accounts")]
        return [account for account in accounts if skip is None or not skip(account)]

    # ------------------------------------------------------------------ transactions

    def initial_cursor(self, since: date) -> TransactionCursor:
        """The start of the Item's change feed (its history was fixed at Link: days_requested)."""
        return SyncCursor(None)

    def fetch_transactions(
        self, credential: str, account_id: str, cursor: TransactionCursor
    ) -> TransactionPage:
        """Every page of `/transactions/sync` from `cursor` until `has_more` is false.

        The pages are returned together with the final cursor, to be saved only once they
        are all stored. If Plaid's data changes mid-way
        (TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION), the pages so far are dropped and the
        sync restarts from the cursor it was given, a bounded number of times. The cursor
        spans every account of the Item: `account_id` is not used.
        """
        if not isinstance(cursor, SyncCursor):
            raise AggregatorRequestRejected("Plaid reads transactions from a sync cursor.", provider=PROVIDER)
        for attempt in range(1, self._sync.restarts + 1):
            try:
                return self._sync_from(credential, cursor)
            except AggregatorRequestRejected as error:
                if error.provider_code != MUTATION_DURING_PAGINATION:
                    raise
                logger.info("Plaid sync restarted", extra={"provider": PROVIDER, "attempt": attempt})
        raise AggregatorUnavailable(
            "Plaid transactions kept changing during pagination; try again later.",
            provider=PROVIDER,
            provider_code=MUTATION_DURING_PAGINATION,
        )

    def _sync_from(self, credential: str, start: SyncCursor) -> TransactionPage:
        changes = _Changes()
        position = start.value
        for _ in range(self._sync.max_pages):
            request: dict[str, Any] = {
                "access_token": credential,
                "count": self._sync.page_size,
                "options": {"include_original_description": True},
            }
            if position:
                request["cursor"] = position
            page = self._call("transactions/sync", request, operation="transactions_sync")
            changes.added += [_transaction(t) for t in page.objects("added")]
            changes.modified += [_transaction(t) for t in page.objects("modified")]
            changes.removed += [
                i for r in page.objects("removed") if (i := r.opt_identifier("transaction_id"))
            ]
            position = page.string("next_cursor") or position  # "" while Plaid is still preparing data
            if not page.flag("has_more"):
                return _page(changes, SyncCursor(position), complete=True)
        return _page(changes, SyncCursor(position), complete=False)  # more next time, from here

    # ------------------------------------------------------------------ webhooks

    def webhook_verification_key(self, key_id: str) -> dict[str, Any]:
        """The JWK that verifies webhooks signed with `key_id` (`/webhook_verification_key/get`):
        the public members, `kid`/`alg`/`use`, and `created_at`/`expired_at` (Unix seconds or
        None). An unknown key id is Plaid's INVALID_WEBHOOK_VERIFICATION_KEY_ID, raised as
        AggregatorRequestRejected; see plaid_webhooks.py for the cache in front of this call."""
        key = self._call(
            "webhook_verification_key/get", {"key_id": key_id}, operation="webhook_verification_key_get"
        ).obj("key")
        jwk: dict[str, Any] = {name: key.text(name) for name in ("kty", "crv", "x", "y")}
        jwk |= {name: value for name in ("kid", "alg", "use") if (value := key.opt_text(name))}
        return {**jwk, "created_at": key.opt_int("created_at"), "expired_at": key.opt_int("expired_at")}

    # ------------------------------------------------------------------ HTTP and errors

    def _call(
        self, path: str, body: Mapping[str, Any], *, operation: str, idempotent: bool = True
    ) -> Payload:
        values = self._credentials()
        client_id = required(values, "plaid_client_id", PROVIDER)
        secret = required(values, "plaid_secret", PROVIDER)
        reply = self._http.request(
            "POST",
            path,
            operation=operation,
            json_body=body,
            headers={"PLAID-CLIENT-ID": client_id, "PLAID-SECRET": secret},
            idempotent=idempotent,
        )
        if reply.ok:
            return Payload(reply.body, PROVIDER, operation)
        tokens = (body.get("access_token"), body.get("public_token"))
        raise self._error(reply, (secret, client_id, *tokens))

    def _error(self, reply: Reply, secrets: Sequence[str | None]) -> AggregatorError:
        """Plaid's error object ({error_type, error_code, error_message, display_message,
        request_id}) as a domain error; codes and types matter, not the HTTP status."""
        body = reply.object_body()
        error_type, code = _text(body, "error_type"), _text(body, "error_code")
        message = _text(body, "error_message") or _text(body, "display_message")
        text = redact(f"{code}: {message}" if code and message else message or code, secrets)
        details: dict[str, str | None] = {
            "provider": PROVIDER,
            "provider_code": code or error_type or str(reply.status),
            "request_id": _text(body, "request_id"),
        }
        if code in _CREDENTIALS_CODES:
            return CredentialsRejected(text, **details)
        if code in _REVOKED_CODES:
            return ConsentRevoked(text, **details)
        if error_type == "RATE_LIMIT_EXCEEDED" or reply.status == 429:
            seconds = reset_seconds(reply.headers)
            return rate_limited(
                PROVIDER, text, seconds, self._clock(), provider_code=code, request_id=details["request_id"]
            )
        if error_type in _UNAVAILABLE_TYPES or reply.status >= 500 or code in _RETRYABLE_CODES:
            return AggregatorUnavailable(text, **details)
        return AggregatorRequestRejected(text, **details)


# --------------------------------------------------------------------------- consent failures


def _answer_about_consent(
    read: Callable[[], ConsentOutcome], access_token: str, item_id: str | None
) -> ConsentOutcome:
    """A rejected login or a removed Item is an answer about the consent, not a failure."""
    try:
        return read()
    except CredentialsRejected as error:
        state, reason = ConsentState.CREDENTIALS_REJECTED, error.provider_code
    except ConsentRevoked as error:
        state, reason = ConsentState.REVOKED, error.provider_code
    return ConsentOutcome(state=state, credential=access_token, item_id=item_id, reason=reason)


# --------------------------------------------------------------------------- mapping


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


def _institution(payload: Payload) -> Institution:
    countries = payload.strings("country_codes")
    logo = payload.opt_text("logo")  # base64 PNG
    return Institution(
        id=payload.text("institution_id"),
        name=payload.text("name"),
        country=countries[0] if countries else "",
        website=payload.opt_text("url"),
        logo_url=f"data:image/png;base64,{logo}" if logo else None,
    )


def _account(payload: Payload, institution_id: str | None) -> AggregatorAccount:
    """Plaid's `current` balance (else `available`); for credit and loan accounts Plaid
    reports the amount owed as a positive number, kept as is."""
    balances = payload.obj("balances")
    current, available = balances.opt_decimal("current"), balances.opt_decimal("available")
    balance, balance_type = (current, "current") if current is not None else (available, "available")
    masked = mask_identifier(payload.opt_text("mask"))
    persistent = payload.opt_identifier("persistent_account_id")
    # The same bank account under another Item: Plaid's persistent id, where the institution has
    # one. Mask, name and subtype are not enough (two look-alike accounts share them).
    identity = f"persistent:{persistent}" if persistent else None
    return AggregatorAccount(
        account_id=payload.identifier("account_id"),
        name=payload.opt_text("name") or payload.opt_text("official_name") or masked or "Account",
        masked_identifier=masked,
        currency=balances.opt_text("iso_currency_code") or balances.opt_text("unofficial_currency_code"),
        balance=balance,
        balance_type=balance_type if balance is not None else None,
        institution_id=institution_id,
        details={key: value for key in _SAFE_DETAILS if (value := payload.opt_text(key))},
        identity=identity,
    )


def _transaction(payload: Payload) -> AggregatorTransaction:
    """Plaid's `amount` is positive for money out: negated to our convention (negative = out).

    `date` is the posting date of a posted transaction and the transaction date of a
    pending one, so a pending transaction has no booking date.
    """
    amount = Decimal(0) - payload.decimal("amount")  # not unary minus: no "-0.00"
    currency = payload.opt_text("iso_currency_code") or payload.opt_text("unofficial_currency_code")
    if currency is None:
        raise malformed(PROVIDER, f"{payload.where} has no currency")
    pending = payload.flag("pending")
    day = payload.opt_date("date")
    transaction_id = payload.opt_identifier("transaction_id")  # blank: fingerprinted
    return AggregatorTransaction(
        transaction_id=transaction_id,
        internal_id=None,
        account_id=payload.identifier("account_id"),
        booking_date=None if pending else day,
        value_date=payload.opt_date("authorized_date") or day,
        amount=amount,
        currency=currency,
        description=payload.opt_text("original_description") or payload.opt_text("name"),
        counterparty=payload.opt_text("merchant_name") or _first_counterparty(payload),
        pending=pending,
        raw_fingerprint_fields=(
            ("transaction_id", transaction_id or ""),
            ("date", day.isoformat() if day else ""),
            ("amount", str(amount)),
            ("currency", currency),
            ("name", payload.opt_text("name") or ""),
        ),
        pending_transaction_id=payload.opt_identifier("pending_transaction_id"),
    )


def _first_counterparty(payload: Payload) -> str | None:
    for item in payload.opt_array("counterparties"):
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            return str(item["name"])
    return None


def _page(changes: _Changes, cursor: SyncCursor, *, complete: bool) -> TransactionPage:
    return TransactionPage(
        added=tuple(changes.added),
        modified=tuple(changes.modified),
        removed=tuple(changes.removed),
        next_cursor=cursor,
        complete=complete,
    )
