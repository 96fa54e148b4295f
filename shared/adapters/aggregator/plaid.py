"""Plaid behind the aggregator port: Link tokens, public-token exchange, accounts,
`/transactions/sync`, Items.

The credential of a connection is the Item's `access_token`: a secret, sent in request bodies
only, redacted from every error message. Authenticated calls and Plaid's errors:
plaid_client.py; payloads as domain values (amounts negated to our sign convention):
plaid_mapping.py.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from shared.adapters.aggregator.credentials import CredentialSource
from shared.adapters.aggregator.http_client import DEFAULT_TIMEOUT, JsonHttpClient, RetryPolicy, Sleep
from shared.adapters.aggregator.payload import Payload
from shared.adapters.aggregator.plaid_client import (
    CREDENTIALS_CODES,
    PROVIDER,
    REVOKED_CODES,
    PlaidClient,
    is_retryable,
)
from shared.adapters.aggregator.plaid_mapping import account_from, institution_from, transaction_from
from shared.clock import Now
from shared.clock import now as business_now
from shared.domain.aggregator import (
    AggregatorAccount,
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
)
from shared.observability import logger

ENVIRONMENTS = {"sandbox": "https://sandbox.plaid.com", "production": "https://production.plaid.com"}
MUTATION_DURING_PAGINATION = "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"
MAX_DAYS_REQUESTED = 730


def base_url_for(environment: str) -> str:
    """`sandbox`, `production`, or any URL as is (a local fake)."""
    return ENVIRONMENTS.get(environment.strip().lower(), environment.strip())


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
        http = JsonHttpClient(
            PROVIDER,
            base_url_for(base_url),
            is_retryable,
            transport=transport,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            rand=rand,
        )
        self._client = PlaidClient(http, credentials, clock)
        self._client_name = client_name
        self._country_codes = [code.upper() for code in country_codes]
        self._clock = clock
        self._sync = sync or SyncLimits()

    # ------------------------------------------------------------------ institutions

    def search_institutions(self, country: str, query: str = "") -> list[Institution]:
        """Plaid searches by name itself (10 results at most); it needs a non-empty query."""
        if not query.strip():
            return []
        found = self._client.call(
            "institutions/search",
            {
                "query": query.strip(),
                "country_codes": [country.upper()],
                "products": ["transactions"],
                "options": {"include_optional_metadata": True},
            },
            operation="institutions_search",
        )
        return [institution_from(item) for item in found.objects("institutions")]

    def get_institution(self, institution_id: str) -> Institution:
        found = self._client.call(
            "institutions/get_by_id",
            {
                "institution_id": institution_id,
                "country_codes": self._country_codes,
                "options": {"include_optional_metadata": True},
            },
            operation="institutions_get_by_id",
        )
        return institution_from(found.obj("institution"))

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
        created = self._client.call("link/token/create", body, operation="link_token_create")
        link_token = created.text("link_token")
        return ConsentStart(
            consent_handle=link_token, link_token=link_token, expires_at=created.opt_datetime("expiration")
        )

    def complete_consent(self, completion: CompletionInput) -> ConsentOutcome:
        """Exchange Link's public token (single use: never resent blindly) for the Item's
        access token; after update mode, re-read the existing Item."""
        if completion.public_token:
            exchanged = self._client.call(
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
            listed = self._client.call(
                "accounts/get", {"access_token": access_token}, operation="accounts_get"
            )
            account_ids = tuple(account.identifier("account_id") for account in listed.objects("accounts"))
            return self._outcome(access_token, listed.obj("item"), account_ids)

        return _answer_about_consent(linked, access_token, item_id)

    def consent_state(self, credential: str) -> ConsentOutcome:
        def state() -> ConsentOutcome:
            found = self._client.call("item/get", {"access_token": credential}, operation="item_get")
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
        elif code in CREDENTIALS_CODES:
            state = ConsentState.EXPIRED if expired else ConsentState.CREDENTIALS_REJECTED
        elif code in REVOKED_CODES:
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
            self._client.call("item/remove", {"access_token": credential}, operation="item_remove")
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
        listed = self._client.call("accounts/get", request, operation="accounts_get")
        institution_id = listed.obj("item").opt_identifier("institution_id")
        accounts = [account_from(account, institution_id) for account in listed.objects("accounts")]
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
            page = self._client.call("transactions/sync", request, operation="transactions_sync")
            changes.added += [transaction_from(t) for t in page.objects("added")]
            changes.modified += [transaction_from(t) for t in page.objects("modified")]
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
        key = self._client.call(
            "webhook_verification_key/get", {"key_id": key_id}, operation="webhook_verification_key_get"
        ).obj("key")
        jwk: dict[str, Any] = {name: key.text(name) for name in ("kty", "crv", "x", "y")}
        jwk |= {name: value for name in ("kid", "alg", "use") if (value := key.opt_text(name))}
        return {**jwk, "created_at": key.opt_int("created_at"), "expired_at": key.opt_int("expired_at")}


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


def _page(changes: _Changes, cursor: SyncCursor, *, complete: bool) -> TransactionPage:
    return TransactionPage(
        added=tuple(changes.added),
        modified=tuple(changes.modified),
        removed=tuple(changes.removed),
        next_cursor=cursor,
        complete=complete,
    )
