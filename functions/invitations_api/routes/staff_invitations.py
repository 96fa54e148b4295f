"""Admins invite staff by email (issue 15): invite, resend, revoke, list; the invitee checks the
link, then accepts it signed in (with the invited email) or by creating their account."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from functions.invitations_api.routes.customers import Staff
from functions.invitations_api.routes.models import NewAccountIn, StrictBody, TokenIn
from shared import bootstrap
from shared.api.caller import current_principal
from shared.api.fields import EmailAddress, SingleLineText
from shared.api.invitation_answers import ALREADY_ACCEPTED, INVALID, NEW_ACCOUNT, SIGNED_IN
from shared.clock import now
from shared.domain.identity import Principal, StaffRole
from shared.domain.staff_invitations import StaffInvitation
from shared.services import staff_invitations as service
from shared.services.staff_invitations import StaffInvitationCheck

router = Router()
TAGS = ["staff"]
InvitationId = Annotated[str, Path(min_length=1, max_length=40)]
MEMBER_CONFLICTS = (
    "Already an active member (already_staff), or a deactivated one (deactivated_member: reactivate "
    "them with POST /staff/{user_id}/reactivate)"
)
JOINED = "Joined: the firm and the role (the person's next request as staff has it)"


class StaffInvitationIn(StrictBody):
    email: EmailAddress
    name: SingleLineText = Field(min_length=1, max_length=200)
    role: StaffRole


class StaffInvitationOut(BaseModel):
    invitation_id: str
    email: str
    name: str
    role: StaffRole
    status: str = Field(description="pending, expired, accepted or revoked")
    invited_by: str = Field(description="The admin's user id (names in GET /staff)")
    sent_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, record: StaffInvitation) -> StaffInvitationOut:
        return cls(
            invitation_id=record.invitation_id,
            email=record.email,
            name=record.name,
            role=record.role,
            status=record.status(now()),
            invited_by=record.invited_by,
            sent_at=record.invitation.sent_at,
            expires_at=record.invitation.expires_at,
        )


class StaffInvitationListOut(BaseModel):
    items: list[StaffInvitationOut]


class StaffInvitationCheckOut(BaseModel):
    firm_name: str
    role: StaffRole

    @classmethod
    def of(cls, check: StaffInvitationCheck) -> StaffInvitationCheckOut:
        return cls(firm_name=check.firm_name, role=check.role)


@router.post(
    "/staff/invitations",
    tags=TAGS,
    summary="Invite a person to the firm's staff by email (admins; resends if already invited)",
    responses={
        201: {"description": "Invited"},
        200: {"description": "Invited before, not accepted: sent again with this name and role"},
        409: {"description": MEMBER_CONFLICTS},
    },
)
def invite(body: StaffInvitationIn, staff: Staff) -> Response[StaffInvitationOut]:
    ports = bootstrap.staff_invitations_for(staff)
    outcome = service.invite_staff(ports, staff, email=body.email, name=body.name, role=body.role)
    return Response(
        status_code=201 if outcome.created else 200,
        content_type="application/json",
        body=StaffInvitationOut.of(outcome.invitation),
    )


@router.get("/staff/invitations", tags=TAGS, summary="The firm's open staff invitations (admins)")
def list_invitations(staff: Staff) -> StaffInvitationListOut:
    found = service.list_staff_invitations(bootstrap.staff_invitations_for(staff), staff)
    return StaffInvitationListOut(items=[StaffInvitationOut.of(r) for r in found])


@router.post(
    "/staff/invitations/<invitation_id>/resend",
    tags=TAGS,
    summary="Send a staff invitation again: a new link, the old one stops working (admins)",
    responses={200: {"description": "The invitation, sent again with a new link"}, **ALREADY_ACCEPTED},
)
def resend(invitation_id: InvitationId, staff: Staff) -> StaffInvitationOut:
    ports = bootstrap.staff_invitations_for(staff)
    return StaffInvitationOut.of(service.resend_staff_invitation(ports, staff, invitation_id))


@router.post(
    "/staff/invitations/<invitation_id>/revoke",
    tags=TAGS,
    summary="Revoke a staff invitation not accepted yet (admins)",
    responses={200: {"description": "The invitation, revoked: its link no longer works"}, **ALREADY_ACCEPTED},
)
def revoke(invitation_id: InvitationId, staff: Staff) -> StaffInvitationOut:
    ports = bootstrap.staff_invitations_for(staff)
    return StaffInvitationOut.of(service.revoke_staff_invitation(ports, staff, invitation_id))


@router.post(
    "/staff-invitations/verify",
    tags=TAGS,
    summary="Check a staff invitation token before signing in (no authentication)",
    responses={200: {"description": "The token is valid: the firm and the role"}, **INVALID},
)
def verify(body: TokenIn) -> StaffInvitationCheckOut:
    return StaffInvitationCheckOut.of(
        service.verify_staff_invitation(bootstrap.staff_invitations(), body.token)
    )


@router.post(
    "/staff-invitations/accept",
    tags=TAGS,
    summary="Join the firm's staff as the signed-in person (signed in with the invited email)",
    responses={200: {"description": JOINED}, **SIGNED_IN, 409: {"description": MEMBER_CONFLICTS}},
)
def accept(
    body: TokenIn, principal: Annotated[Principal, Depends(current_principal)]
) -> StaffInvitationCheckOut:
    ports = bootstrap.staff_invitations()
    return StaffInvitationCheckOut.of(service.accept_staff_invitation(ports, principal, body.token))


@router.post(
    "/staff-invitations/create-account",
    tags=TAGS,
    summary="Join the firm's staff by creating my account with a password (no authentication)",
    responses={200: {"description": JOINED}, **NEW_ACCOUNT},
)
def create_account(body: NewAccountIn) -> StaffInvitationCheckOut:
    password = body.password.get_secret_value()
    ports = bootstrap.staff_invitations()
    return StaffInvitationCheckOut.of(
        service.accept_staff_invitation_with_new_account(ports, body.token, password)
    )
