"""The customer's own view: their accounts and connections in every firm they are a customer of."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.connections_api.routes.models import (
    ConnectionViewOut,
    MyAccountOut,
    MyAccountsOut,
    MyConnectionsOut,
    MyFirmAccountsOut,
    MyFirmConnectionsOut,
)
from shared import bootstrap
from shared.api.caller import current_principal
from shared.domain.identity import Principal
from shared.services import my_data

router = Router()
TAGS = ["connections"]
Me = Annotated[Principal, Depends(current_principal)]
Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=my_data.MAX_FIRMS_PER_PAGE, description="Firms per page")]


@router.get("/me/accounts", tags=TAGS, summary="The accounts I shared, per firm, with each firm's decision")
def my_accounts(principal: Me, cursor: Cursor = None, limit: Limit = 10) -> MyAccountsOut:
    found, next_cursor = my_data.my_accounts(bootstrap.connections(), principal, cursor=cursor, limit=limit)
    return MyAccountsOut(
        firms=[
            MyFirmAccountsOut(
                firm_id=f.firm.firm_id,
                firm_name=f.firm.firm_name,
                accounts=[MyAccountOut.of(a, f.ended_on) for a in f.accounts],
            )
            for f in found
        ],
        next_cursor=next_cursor,
    )


@router.get("/me/connections", tags=TAGS, summary="My connections, per firm, with their fix and expiry")
def my_connections(principal: Me, cursor: Cursor = None, limit: Limit = 10) -> MyConnectionsOut:
    ports = bootstrap.connections()
    found, next_cursor = my_data.my_connections_by_firm(ports, principal, cursor=cursor, limit=limit)
    now = ports.clock()
    return MyConnectionsOut(
        firms=[
            MyFirmConnectionsOut(
                firm_id=f.firm.firm_id,
                firm_name=f.firm.firm_name,
                connections=[ConnectionViewOut.shown(c, now, f.ended_on) for c in f.connections],
            )
            for f in found
        ],
        next_cursor=next_cursor,
    )
