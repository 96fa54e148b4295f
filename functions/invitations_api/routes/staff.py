"""The firm's staff (R-ID-2) and who looks after each customer (R-ROLE-2, R-ID-3, R-ACC-1)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.invitations_api.routes.customers import CustomerId, Staff
from functions.invitations_api.routes.models import (
    CustomerOut,
    MfaResetOut,
    RoleIn,
    StaffListOut,
    StaffMemberOut,
    TransferIn,
)
from shared import bootstrap
from shared.services import assignees
from shared.services import mfa as mfa_service
from shared.services import staff as staff_service

router = Router()
TAGS = ["staff"]
UserId = Annotated[str, Path(min_length=1, max_length=128)]


def answers(conflict: str) -> dict[int, OpenAPIResponse]:
    return {200: {"description": "Done, or already so"}, 409: {"description": conflict}}


LAST_ADMIN = answers("It would leave the firm without an active admin (last_admin), or a concurrent change")
RACE = answers("Changed at the same time (concurrent_update): reload and try again")
ASSIGNED = answers("At most 20 assignees (too_many_assignees), or a concurrent change")
UNASSIGNED = answers("The owner is not an assignee: transfer instead (is_owner), or a concurrent change")
OWN_MFA = answers("Not your own authenticator (own_mfa_reset): another admin resets it")
ASSIGNEE = "/customers/<customer_id>/assignees/<user_id>"
HAND_OVER = "Hand the customer over: a new owner and client file manager; the previous one loses it (admins)"


@router.get("/staff", tags=TAGS, summary="The firm's staff with names, emails, roles and whether active")
def list_staff(staff: Staff) -> StaffListOut:
    members = staff_service.list_staff(bootstrap.staff_for(staff), staff)
    return StaffListOut(items=[StaffMemberOut.of(m) for m in members])


@router.patch("/staff/<user_id>", tags=TAGS, summary="Change a member's role (admins)", responses=LAST_ADMIN)
def change_role(user_id: UserId, body: RoleIn, staff: Staff) -> StaffMemberOut:
    return StaffMemberOut.of(staff_service.change_role(bootstrap.staff_for(staff), staff, user_id, body.role))


@router.post(
    "/staff/<user_id>/deactivate",
    tags=TAGS,
    summary="Deactivate a member: their next request is refused, their sign-in disabled (admins)",
    responses=LAST_ADMIN,
)
def deactivate(user_id: UserId, staff: Staff) -> StaffMemberOut:
    return StaffMemberOut.of(staff_service.deactivate(bootstrap.staff_for(staff), staff, user_id))


@router.post("/staff/<user_id>/reactivate", tags=TAGS, summary="Reactivate a member (admins)", responses=RACE)
def reactivate(user_id: UserId, staff: Staff) -> StaffMemberOut:
    return StaffMemberOut.of(staff_service.reactivate(bootstrap.staff_for(staff), staff, user_id))


@router.post(
    "/firm/staff/<user_id>/mfa/reset",
    tags=TAGS,
    summary="Reset a member's lost authenticator: TOTP off at sign-in, signed out, to enrol again (admins)",
    responses=OWN_MFA,
)
def reset_mfa(user_id: UserId, staff: Staff) -> MfaResetOut:
    removed = mfa_service.reset_member_mfa(bootstrap.staff_for(staff), staff, user_id)
    return MfaResetOut(user_id=user_id, mfa_enrolled=False, record_removed=removed)


@router.put(
    ASSIGNEE, tags=TAGS, summary="Assign an adviser: they see the customer from now on", responses=ASSIGNED
)
def assign(customer_id: CustomerId, user_id: UserId, staff: Staff) -> CustomerOut:
    return CustomerOut.of(assignees.assign(bootstrap.assignees_for(staff), staff, customer_id, user_id))


@router.delete(ASSIGNEE, tags=TAGS, summary="Unassign an adviser (admins)", responses=UNASSIGNED)
def unassign(customer_id: CustomerId, user_id: UserId, staff: Staff) -> CustomerOut:
    return CustomerOut.of(assignees.unassign(bootstrap.assignees_for(staff), staff, customer_id, user_id))


@router.post("/customers/<customer_id>/transfer", tags=TAGS, summary=HAND_OVER, responses=RACE)
def transfer(customer_id: CustomerId, body: TransferIn, staff: Staff) -> CustomerOut:
    return CustomerOut.of(
        assignees.transfer(bootstrap.assignees_for(staff), staff, customer_id, body.owner_id)
    )
