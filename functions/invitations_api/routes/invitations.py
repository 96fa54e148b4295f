from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path

from functions.invitations_api.routes.models import (
    CustomerOut,
    InvitationCheckOut,
    InvitationIn,
    NewAccountIn,
    TokenIn,
)
from shared import bootstrap
from shared.api.caller import current_principal, current_staff
from shared.api.idempotency import IdempotentCommand, idempotent_command, key_scope
from shared.api.invitation_answers import INVALID, NEW_ACCOUNT, SIGNED_IN
from shared.domain.customers import Customer
from shared.domain.identity import Principal, StaffContext
from shared.services import customer_invitations

router = Router()
TAGS = ["invitations"]
CustomerId = Annotated[str, Path(min_length=1, max_length=40)]


@router.post(
    "/customers/invitations",
    tags=TAGS,
    summary="Invite a customer (resends if already invited)",
    responses={
        201: {"description": "Invited"},
        200: {"description": "Already invited: sent again"},
        409: {"description": "Already an active customer (customer_already_active)"},
    },
)
def invite(
    body: InvitationIn,
    staff: Annotated[StaffContext, Depends(current_staff)],
    idempotency_key: Annotated[
        str | None, Header(alias="idempotency-key", min_length=1, max_length=255)
    ] = None,
) -> Response[CustomerOut]:
    @idempotent_command
    def invite_customer(command: IdempotentCommand) -> dict[str, Any]:
        outcome = customer_invitations.invite_customer(
            bootstrap.onboarding_for(staff), staff, **command.payload
        )
        return {
            "created": outcome.created,
            "customer": CustomerOut.of(outcome.customer).model_dump(mode="json"),
        }

    result = invite_customer(
        IdempotentCommand(
            actor_id=key_scope(staff.firm_id, staff.principal.user_id),
            idempotency_key=idempotency_key,
            payload=body.model_dump(mode="json"),
        )
    )
    return Response(
        status_code=201 if result["created"] else 200,
        content_type="application/json",
        body=CustomerOut.model_validate(result["customer"]),
    )


@router.post("/customers/<customer_id>/invitation/resend", tags=TAGS, summary="Send the invitation again")
def resend(customer_id: CustomerId, staff: Annotated[StaffContext, Depends(current_staff)]) -> CustomerOut:
    return CustomerOut.of(
        customer_invitations.resend_invitation(bootstrap.onboarding_for(staff), staff, customer_id)
    )


@router.post(
    "/customers/<customer_id>/invitation/revoke", tags=TAGS, summary="Revoke an unaccepted invitation"
)
def revoke(customer_id: CustomerId, staff: Annotated[StaffContext, Depends(current_staff)]) -> CustomerOut:
    return CustomerOut.of(
        customer_invitations.revoke_invitation(bootstrap.onboarding_for(staff), staff, customer_id)
    )


@router.post(
    "/invitations/verify",
    tags=TAGS,
    summary="Check an invitation token before signing in (no authentication)",
    responses={200: {"description": "The token is valid: the inviting firm"}, **INVALID},
)
def verify(body: TokenIn) -> InvitationCheckOut:
    return InvitationCheckOut(
        firm_name=customer_invitations.verify_invitation(bootstrap.onboarding(), body.token)
    )


@router.post(
    "/invitations/accept",
    tags=TAGS,
    summary="Accept an invitation as the signed-in person (signed in with the invited email)",
    responses={200: {"description": "Accepted: the inviting firm"}, **SIGNED_IN},
)
def accept(body: TokenIn, principal: Annotated[Principal, Depends(current_principal)]) -> InvitationCheckOut:
    return _accepted(customer_invitations.accept_invitation(bootstrap.onboarding(), principal, body.token))


@router.post(
    "/invitations/create-account",
    tags=TAGS,
    summary="Accept an invitation by creating my account with a password (no authentication)",
    responses={200: {"description": "Account created, invitation accepted"}, **NEW_ACCOUNT},
)
def create_account(body: NewAccountIn) -> InvitationCheckOut:
    password = body.password.get_secret_value()
    ports = bootstrap.onboarding()
    return _accepted(customer_invitations.accept_invitation_with_new_account(ports, body.token, password))


def _accepted(customer: Customer) -> InvitationCheckOut:
    firm = bootstrap.identity_repository().get_firm(customer.firm_id)
    return InvitationCheckOut(firm_name=firm.name if firm else "")
