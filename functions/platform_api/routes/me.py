from __future__ import annotations

from datetime import datetime
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
    mfa_required: bool  # staff: staff routes answer 403 mfa_required until mfa_enrolled
    mfa_enrolled: bool


class MfaOut(BaseModel):
    method: str  # "totp"
    enrolled_at: datetime


@router.get("/me", tags=["platform"], summary="Who am I: profile, firms and roles")
def get_me(principal: Annotated[Principal, Depends(current_principal)]) -> MeOut:
    caller = describe_caller(principal, bootstrap.identity_repository())
    return MeOut.model_validate(caller, from_attributes=True)


@router.post(
    "/me/mfa/confirm",
    tags=["platform"],
    summary="Staff: record that my sign-in asks for a TOTP code (enrolled with the user pool first)",
)
def confirm_mfa(principal: Annotated[Principal, Depends(current_principal)]) -> MfaOut:
    from shared.services.mfa import confirm_mfa  # only this route's requests load it (cold start)

    enrolment = confirm_mfa(bootstrap.mfa(), principal)
    return MfaOut(method=enrolment.method, enrolled_at=enrolment.enrolled_at)
