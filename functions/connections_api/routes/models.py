"""Bodies of the connections API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api.history import ConsentHistoryOut, history
from shared.domain.accounts import AccountStatus, SharedAccount
from shared.domain.aggregator import Institution
from shared.domain.connections import Connection, ConnectionProblem, ConnectionStatus, Fix
from shared.domain.errors import DomainError
from shared.domain.money import format_amount
from shared.services.connections import ImportState, Refreshed
from shared.services.consent_expiry import Reauthorisation

Provider = Literal["gocardless", "plaid"]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConnectIn(StrictBody):
    provider: Provider
    institution_id: str = Field(min_length=1, max_length=100)
    firm_id: str | None = Field(
        default=None, max_length=40, description="Needed if you are a customer of several firms"
    )


class CompleteIn(StrictBody):
    public_token: str | None = Field(default=None, max_length=500, description="Plaid Link's public token")


class InstitutionOut(BaseModel):
    id: str
    name: str
    country: str
    website: str | None
    logo_url: str | None
    max_history_days: int | None
    notice: str | None

    @classmethod
    def of(cls, institution: Institution) -> InstitutionOut:
        return cls(
            id=institution.id,
            name=institution.name,
            country=institution.country,
            website=institution.website,
            logo_url=institution.logo_url,
            max_history_days=institution.max_history_days,
            notice=institution.notice,
        )


class ConnectionOut(BaseModel):
    connection_id: str
    customer_id: str
    provider: str
    institution_id: str
    institution_name: str
    status: ConnectionStatus
    fix: Fix | None = Field(description="What to do about a problem (R-CON-8)")
    expires_soon: bool = Field(
        description="The consent lapses within 7 days: reauthorise it (computed now, never stored)"
    )
    expiring_soon: bool = Field(description="Same as expires_soon (the earlier name)")
    linked_at: datetime | None
    expires_at: datetime | None
    last_error: ConnectionProblem | None = Field(
        description="Our stable code for the connection's problem (never the provider's text)"
    )
    last_error_message: str | None = Field(description="What the problem means, for a person")
    last_import_at: datetime | None
    last_import_outcome: str | None
    rate_limited_until: datetime | None = Field(
        default=None, description="The provider asked for no request before this time (R-IMP-4)"
    )

    @classmethod
    def of(cls, connection: Connection, now: datetime) -> ConnectionOut:
        soon = connection.expiring_soon(now)
        fix = connection.fix or (Fix.REAUTHORISE if soon else None)
        return cls(
            connection_id=connection.connection_id,
            customer_id=connection.customer_id,
            provider=connection.provider,
            institution_id=connection.institution_id,
            institution_name=connection.institution_name,
            status=connection.status,
            fix=fix,
            expires_soon=soon,
            expiring_soon=soon,
            linked_at=connection.linked_at,
            expires_at=connection.expires_at,
            last_error=connection.problem,
            last_error_message=connection.problem.message if connection.problem else None,
            last_import_at=connection.last_import_at,
            last_import_outcome=connection.last_import_outcome,
            rate_limited_until=connection.rate_limited_until
            if connection.rate_limited_until and connection.rate_limited_until > now
            else None,
        )


class ConnectionViewOut(ConnectionOut, ConsentHistoryOut):
    """A connection as the listings show it: with whether its data is historical (R-PRIV-1)."""

    @classmethod
    def shown(cls, connection: Connection, now: datetime, ended_on: Mapping[str, date]) -> ConnectionViewOut:
        return cls(
            **ConnectionOut.of(connection, now).model_dump(),
            **history(ended_on.get(connection.connection_id)),
        )


class StartedOut(BaseModel):
    connection: ConnectionOut
    consent_url: str | None = Field(description="Open this bank consent page (GoCardless)")
    link_token: str | None = Field(description="Open Plaid Link with this token")


class FoundAccountsOut(BaseModel):
    new_accounts_offered: int


class RefreshOut(ConnectionOut):
    """The connection, and what the refresh did about its import."""

    import_state: ImportState = Field(
        description="queued; already_queued (the import asked for earlier is still queued or running: "
        "nothing new was asked or queued); not_queued (the consent is not usable: see status and fix)"
    )

    @classmethod
    def refreshed(cls, done: Refreshed, now: datetime) -> RefreshOut:
        return cls(**ConnectionOut.of(done.connection, now).model_dump(), import_state=done.import_state)


class ImportsOut(BaseModel):
    jobs_queued: int
    already_queued: int = Field(
        description="Connections whose import asked for earlier is still queued or running (nothing new)"
    )


# the customer's own view (GET /me/accounts, GET /me/connections) ---------------------------------
class MyAccountOut(ConsentHistoryOut):
    account_id: str
    connection_id: str
    institution: str
    name: str
    masked_identifier: str = Field(description="The last four characters of the number only, never all of it")
    currency: str
    balance: str | None = Field(
        description="Decimal string with the currency's ISO 4217 decimals (-150.00 GBP), as last read"
    )
    last_updated: datetime | None = Field(description="When its balance or transactions were last imported")
    status: AccountStatus = Field(
        description="The firm's decision: new (not reviewed yet), accepted, declined"
    )
    reviewed_at: datetime | None

    @classmethod
    def of(cls, account: SharedAccount, ended_on: Mapping[str, date]) -> MyAccountOut:
        """`ended_on`: by connection id, the firm-local day each ended consent ended."""
        return cls(
            **history(ended_on.get(account.connection_id)),
            account_id=account.account_id,
            connection_id=account.connection_id,
            institution=account.institution_name,
            name=account.name,
            masked_identifier=account.masked_identifier,
            currency=account.currency,
            balance=format_amount(account.balance, account.currency) if account.balance is not None else None,
            last_updated=account.last_updated,
            status=account.status,
            reviewed_at=account.reviewed_at,
        )


class MyFirmAccountsOut(BaseModel):
    firm_id: str
    firm_name: str
    accounts: list[MyAccountOut]


class MyAccountsOut(BaseModel):
    firms: list[MyFirmAccountsOut]
    next_cursor: str | None


class MyFirmConnectionsOut(BaseModel):
    firm_id: str
    firm_name: str
    connections: list[ConnectionViewOut]


class MyConnectionsOut(BaseModel):
    firms: list[MyFirmConnectionsOut]
    next_cursor: str | None


class FailureOut(BaseModel):
    """A domain error as one item of a batch answer (the error body, with the status it would have had)."""

    status: int
    code: str
    message: str
    reset_at: datetime | None = Field(default=None, description="With a 429: when the next call is possible")

    @classmethod
    def of(cls, error: DomainError) -> FailureOut:
        reset_at = getattr(error, "reset_at", None)
        return cls(
            status=error.status,
            code=error.code,
            message=error.message,
            reset_at=reset_at if isinstance(reset_at, datetime) else None,
        )


class ReauthorisationOut(BaseModel):
    """One connection of "reauthorise all": its new consent link, or why it could not start."""

    connection: ConnectionOut
    started: bool
    consent_url: str | None = Field(description="Open this bank consent page (GoCardless)")
    link_token: str | None = Field(description="Open Plaid Link (update mode) with this token")
    error: FailureOut | None = Field(description="Why this connection's reauthorisation did not start")

    @classmethod
    def of(cls, done: Reauthorisation, now: datetime) -> ReauthorisationOut:
        started = done.started
        return cls(
            connection=ConnectionOut.of(started.connection if started else done.connection, now),
            started=started is not None,
            consent_url=started.consent_url if started else None,
            link_token=started.link_token if started else None,
            error=FailureOut.of(done.error) if done.error else None,
        )
