"""Assignment rules and bank lines (R-IMP-3): auto-assign, unassigned lines, assign by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, Field

from functions.invitations_api.routes.models import StrictBody, TransactionOut
from shared import bootstrap
from shared.api.caller import current_staff
from shared.api.fields import SingleLineText
from shared.domain.assignment import AssignmentRule, Direction
from shared.domain.identity import StaffContext
from shared.services import assignment

router = Router()
TAGS = ["bank lines"]
Staff = Annotated[StaffContext, Depends(current_staff)]
CustomerId = Annotated[str, Path(min_length=1, max_length=40)]
RuleId = Annotated[str, Path(min_length=1, max_length=40)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 ._/-]+$")]


class RuleIn(StrictBody):
    name: SingleLineText = Field(min_length=1, max_length=100)
    position: int = Field(ge=0, le=10_000, description="Lower runs first; the first match wins")
    text_contains: SingleLineText | None = Field(default=None, max_length=100)
    amount_min: Decimal | None = Field(default=None, ge=0, description="On the absolute amount")
    amount_max: Decimal | None = Field(default=None, ge=0)
    direction: Direction = Direction.ANY
    ledger_account: Code | None = None
    category: Code | None = None


class RuleOut(RuleIn):
    rule_id: str
    # As stored: a rule saved before the text rules (shared/api/fields.py) is still shown.
    name: str = Field(min_length=1, max_length=100)
    text_contains: str | None = Field(default=None, max_length=100)

    @classmethod
    def of(cls, rule: AssignmentRule) -> RuleOut:
        return cls(
            rule_id=rule.rule_id,
            name=rule.name,
            position=rule.position,
            text_contains=rule.text_contains,
            amount_min=rule.amount_min,
            amount_max=rule.amount_max,
            direction=rule.direction,
            ledger_account=rule.ledger_account,
            category=rule.category,
        )


class AssignIn(StrictBody):
    ledger_account: Code | None = None
    category: Code | None = None


class AssignedOut(BaseModel):
    assigned: int


class LinesOut(BaseModel):
    items: list[TransactionOut]
    next_cursor: str | None


def _rule(body: RuleIn) -> AssignmentRule:
    return AssignmentRule(rule_id="", firm_id="", **body.model_dump())


@router.get("/assignment-rules", tags=TAGS, summary="The firm's assignment rules, in order")
def list_rules(staff: Staff) -> list[RuleOut]:
    return [RuleOut.of(r) for r in assignment.list_rules(bootstrap.assignment_for(staff), staff)]


@router.post("/assignment-rules", tags=TAGS, summary="Add a rule (admins)", status_code=201)
def create_rule(body: RuleIn, staff: Staff) -> Response[RuleOut]:
    ledger = bootstrap.ledger_for(staff).ledger
    saved = assignment.save_rule(
        bootstrap.assignment_for(staff), ledger, bootstrap.audit_for(staff), staff, _rule(body), rule_id=None
    )
    return Response(status_code=201, content_type="application/json", body=RuleOut.of(saved))


@router.put("/assignment-rules/<rule_id>", tags=TAGS, summary="Replace a rule (admins)")
def replace_rule(rule_id: RuleId, body: RuleIn, staff: Staff) -> RuleOut:
    ledger = bootstrap.ledger_for(staff).ledger
    return RuleOut.of(
        assignment.save_rule(
            bootstrap.assignment_for(staff),
            ledger,
            bootstrap.audit_for(staff),
            staff,
            _rule(body),
            rule_id=rule_id,
        )
    )


@router.delete("/assignment-rules/<rule_id>", tags=TAGS, summary="Delete a rule (admins)", status_code=204)
def delete_rule(rule_id: RuleId, staff: Staff) -> Response[None]:
    assignment.delete_rule(bootstrap.assignment_for(staff), bootstrap.audit_for(staff), staff, rule_id)
    return Response(status_code=204)


@router.post("/customers/<customer_id>/auto-assign", tags=TAGS, summary="Auto assign bank lines now")
def auto_assign(customer_id: CustomerId, staff: Staff) -> AssignedOut:
    count = assignment.auto_assign_now(
        bootstrap.onboarding_for(staff), bootstrap.assignment_for(staff), staff, customer_id
    )
    return AssignedOut(assigned=count)


@router.get("/customers/<customer_id>/unassigned-lines", tags=TAGS, summary="Booked lines still to assign")
def unassigned(
    customer_id: CustomerId,
    staff: Staff,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> LinesOut:
    lines, next_cursor = assignment.unassigned_lines(
        bootstrap.onboarding_for(staff), bootstrap.assignment_for(staff), staff, customer_id, cursor, limit
    )
    return LinesOut(items=[TransactionOut.of(line) for line in lines], next_cursor=next_cursor)


@router.post("/customers/<customer_id>/lines/<line_id>/assign", tags=TAGS, summary="Assign one line by hand")
def assign(
    customer_id: CustomerId,
    line_id: Annotated[str, Path(min_length=5, max_length=300)],
    body: AssignIn,
    staff: Staff,
) -> TransactionOut:
    line = assignment.assign_line(
        bootstrap.onboarding_for(staff),
        bootstrap.assignment_for(staff),
        bootstrap.ledger_for(staff).ledger,
        staff,
        customer_id,
        line_id,
        ledger_account=body.ledger_account,
        category=body.category,
    )
    return TransactionOut.of(line)
