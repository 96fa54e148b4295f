from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from shared import bootstrap
from shared.api.caller import current_principal
from shared.domain.identity import Principal, StaffRole
from shared.services.me import describe_caller

router = Router()


class StaffOfOut(BaseModel):
    firm_id: str
    firm_name: str
    role: StaffRole


class CustomerOfOut(BaseModel):
    firm_id: str
    firm_name: str
    customer_id: str


class MeOut(BaseModel):
    user_id: str
    email: str
    name: str | None
    staff_of: list[StaffOfOut]
    customer_of: list[CustomerOfOut]


@router.get("/me", tags=["platform"], summary="Who am I: profile, firms and roles")
def get_me(principal: Annotated[Principal, Depends(current_principal)]) -> MeOut:
    caller = describe_caller(principal, bootstrap.identity_repository())
    return MeOut.model_validate(caller, from_attributes=True)
