from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from functions.connections_api.routes.models import (
    CompleteIn,
    ConnectIn,
    ConnectionOut,
    ConnectionViewOut,
    FoundAccountsOut,
    ImportsOut,
    InstitutionOut,
    Provider,
    ReauthorisationOut,
    RefreshOut,
    StartedOut,
)
from shared import bootstrap
from shared.api.caller import current_principal, current_staff
from shared.api.idempotency import IdempotentCommand, idempotent_command
from shared.domain.connections import Connection
from shared.domain.identity import Principal, StaffContext
from shared.services import connection_consents, connections, consent_expiry, consent_history, my_data
from shared.services.connection_consents import Started

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

router = Router()
TAGS = ["connections"]
Me = Annotated[Principal, Depends(current_principal)]
Staff = Annotated[StaffContext, Depends(current_staff)]
ConnectionId = Annotated[str, Path(min_length=1, max_length=40)]
# The 409s of a connection in the wrong state for the call (the Error body is added by tools/openapi.py).
NOT_REFRESHABLE = "Revoked (connection_revoked) or no consent yet (no_consent): connect the bank again"


def _responses(status: int, success: str, conflict: str) -> dict[int, OpenAPIResponse]:
    """A route's documented answers: its success (Powertools adds the returned model), and the 409."""
    return {status: {"description": success}, 409: {"description": conflict}}


COMPLETE_ANSWERS = _responses(200, "The connection", "No consent in progress (no_consent_in_progress)")
FOUND_ANSWERS = _responses(200, "How many new accounts were offered", "No consent yet (no_consent)")


def _shown(connection: Connection) -> ConnectionOut:
    """As the caller sees it now: whether it expires soon is read with the business clock."""
    return ConnectionOut.of(connection, bootstrap.connections().clock())


def _out(started: Started) -> StartedOut:
    return StartedOut(
        connection=_shown(started.connection),
        consent_url=started.consent_url,
        link_token=started.link_token,
    )


@router.get("/institutions", tags=TAGS, summary="Search institutions by name and country (R-CON-1)")
def search_institutions(
    _: Me,
    provider: Annotated[Provider, Query()] = "gocardless",
    country: Annotated[str, Query(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")] = "GB",
    q: Annotated[str, Query(max_length=100)] = "",
) -> list[InstitutionOut]:
    found = connection_consents.search_institutions(bootstrap.connections(), provider, country, q)
    return [InstitutionOut.of(institution) for institution in found]


@router.post("/connections", tags=TAGS, summary="Start connecting a bank (the customer)", status_code=201)
def connect(body: ConnectIn, principal: Me) -> Response[StartedOut]:
    started = connection_consents.start_connection(
        bootstrap.connections(),
        principal,
        provider=body.provider,
        institution_id=body.institution_id,
        firm_id=body.firm_id,
    )
    return Response(status_code=201, content_type="application/json", body=_out(started))


@router.get("/connections", tags=TAGS, summary="My connections (the customer), live or historical")
def my_connections(principal: Me) -> list[ConnectionViewOut]:
    ports = bootstrap.connections()
    found = my_data.my_connections_listed(ports, principal)
    return [ConnectionViewOut.shown(c, ports.clock(), found.ended_on) for c in found.rows]


@router.post(
    "/connections/<connection_id>/complete",
    tags=TAGS,
    summary="Finish or check a consent",
    responses=COMPLETE_ANSWERS,
)
def complete(connection_id: ConnectionId, body: CompleteIn, principal: Me) -> ConnectionOut:
    done = connection_consents.complete_consent(
        bootstrap.connections(), principal, connection_id, body.public_token
    )
    return _shown(done)


@router.post(
    "/connections/reauthorise",
    tags=TAGS,
    summary="Reauthorise every expired or soon-expiring connection (the customer; seed 003)",
    responses={
        200: {"description": "Per expired or soon-expiring connection: its new consent, or its own error"},
        403: {"description": "Not a firm's customer (customers_only)"},
    },
)
def reauthorise_all(
    principal: Me,
    idempotency_key: Annotated[
        str | None, Header(alias="idempotency-key", min_length=1, max_length=255)
    ] = None,
) -> list[ReauthorisationOut]:
    @idempotent_command
    def reauthorise_lapsing(command: IdempotentCommand) -> dict[str, Any]:
        ports = bootstrap.connections()
        done = consent_expiry.reauthorise_lapsing(ports, principal)
        now = ports.clock()
        return {"items": [ReauthorisationOut.of(one, now).model_dump(mode="json") for one in done]}

    # a person's key, whatever firms they are a customer of (the use case spans them all)
    command = IdempotentCommand(actor_id=principal.user_id, idempotency_key=idempotency_key, payload={})
    return [ReauthorisationOut.model_validate(one) for one in reauthorise_lapsing(command)["items"]]


@router.post("/connections/<connection_id>/reauthorise", tags=TAGS, summary="New consent (R-CON-6)")
def reauthorise(connection_id: ConnectionId, principal: Me) -> StartedOut:
    return _out(connection_consents.reauthorise(bootstrap.connections(), principal, connection_id))


@router.post("/connections/<connection_id>/deauthorise", tags=TAGS, summary="Revoke the consent (R-CON-7)")
def deauthorise(connection_id: ConnectionId, principal: Me) -> ConnectionOut:
    done = connection_consents.deauthorise(bootstrap.connections(), principal, connection_id)
    return _shown(done)


@router.post(
    "/connections/<connection_id>/refresh",
    tags=TAGS,
    summary="Get recent values again (R-CON-8)",
    status_code=202,
    responses=_responses(
        202, "Accepted: the connection, and what was done about its import", NOT_REFRESHABLE
    ),
)
def refresh(connection_id: ConnectionId, principal: Me) -> Response[RefreshOut]:
    done = connections.refresh(bootstrap.connections(), principal, connection_id)
    body = RefreshOut.refreshed(done, bootstrap.connections().clock())
    return Response(status_code=202, content_type="application/json", body=body)


@router.post(
    "/connections/<connection_id>/find-new-accounts",
    tags=TAGS,
    summary="Look for new accounts (customer only)",
    responses=FOUND_ANSWERS,
)
def find_new_accounts(connection_id: ConnectionId, principal: Me) -> FoundAccountsOut:
    offered = connections.find_new_accounts(bootstrap.connections(), principal, connection_id)
    return FoundAccountsOut(new_accounts_offered=offered)


@router.get(
    "/customers/<customer_id>/connections",
    tags=TAGS,
    summary="A customer's connections, live or historical (firm staff)",
)
def customer_connections(
    customer_id: Annotated[str, Path(min_length=1, max_length=40)], staff: Staff
) -> list[ConnectionViewOut]:
    ports = bootstrap.connections_for(staff)
    found = consent_history.customer_connections(ports, staff, customer_id)
    return [ConnectionViewOut.shown(c, ports.clock(), found.ended_on) for c in found.rows]


@router.post(
    "/firm/connections/<connection_id>/deauthorise", tags=TAGS, summary="Revoke a consent (firm admin)"
)
def deauthorise_as_admin(connection_id: ConnectionId, staff: Staff) -> ConnectionOut:
    done = connection_consents.deauthorise(bootstrap.connections_for(staff), staff, connection_id)
    return _shown(done)


@router.post(
    "/firm/connections/<connection_id>/refresh",
    tags=TAGS,
    summary="Get recent values again (firm staff)",
    status_code=202,
    responses=_responses(
        202, "Accepted: the connection, and what was done about its import", NOT_REFRESHABLE
    ),
)
def refresh_as_staff(connection_id: ConnectionId, staff: Staff) -> Response[RefreshOut]:
    ports = bootstrap.connections_for(staff)
    body = RefreshOut.refreshed(connections.refresh(ports, staff, connection_id), ports.clock())
    return Response(status_code=202, content_type="application/json", body=body)


@router.post(
    "/customers/<customer_id>/imports",
    tags=TAGS,
    summary="Import transactions now (firm staff)",
    status_code=202,
)
def import_now(
    customer_id: Annotated[str, Path(min_length=1, max_length=40)], staff: Staff
) -> Response[ImportsOut]:
    done = connections.import_now(bootstrap.connections_for(staff), staff, customer_id)
    body = ImportsOut(jobs_queued=done.queued, already_queued=done.already_queued)
    return Response(status_code=202, content_type="application/json", body=body)
