from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from functions.invitations_api.routes.models import (
    AccountListOut,
    AccountOut,
    AccountViewOut,
    AuditEventOut,
    AuditListOut,
    CustomerListOut,
    CustomerOut,
    CustomerRow,
    LinkIn,
    SectionCounts,
    TransactionListOut,
    TransactionViewOut,
)
from shared import bootstrap
from shared.api.caller import current_staff
from shared.domain.accounts import AccountStatus, Decision
from shared.domain.audit import AuditKind
from shared.domain.customers import Section
from shared.domain.identity import StaffContext
from shared.services import consent_history, customers
from shared.services.audit import read_audit_log

router = Router()
TAGS = ["customers"]
Staff = Annotated[StaffContext, Depends(current_staff)]
CustomerId = Annotated[str, Path(min_length=1, max_length=40)]
AccountId = Annotated[str, Path(min_length=1, max_length=100)]
Cursor = Annotated[str | None, Query(max_length=512)]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get(
    "/customers",
    tags=TAGS,
    summary="Dashboard section, newest first, with counts per section; `ended`: the ended relationships,"
    " latest end first, with their retention end (admins only, 403 for advisers; no `q`)",
)
def list_customers(
    staff: Staff,
    section: Annotated[Section, Query()] = Section.INVITED,
    q: Annotated[str | None, Query(max_length=100, description="Name or email prefix (3+ chars)")] = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> CustomerListOut:
    page, counts = customers.list_customers(
        bootstrap.onboarding_for(staff), staff, section=section, search=q, cursor=cursor, limit=limit
    )
    return CustomerListOut(
        items=[CustomerRow.model_validate(row) for row in page.rows],
        counts=SectionCounts(**counts),
        next_cursor=page.next_cursor,
    )


@router.get("/customers/<customer_id>", tags=TAGS, summary="One customer")
def get_customer(customer_id: CustomerId, staff: Staff) -> CustomerOut:
    return CustomerOut.of(customers.visible_customer(bootstrap.onboarding_for(staff), staff, customer_id))


@router.get(
    "/customers/<customer_id>/accounts",
    tags=TAGS,
    summary="New and connected shared accounts, live or historical",
)
def list_accounts(customer_id: CustomerId, staff: Staff) -> AccountListOut:
    found = consent_history.customer_accounts(bootstrap.onboarding_for(staff), staff, customer_id)
    shown = [(a.status, AccountViewOut.shown(a, found.ended_on)) for a in found.rows]
    return AccountListOut(
        new_accounts=[a for status, a in shown if status is AccountStatus.NEW],
        connected_accounts=[a for status, a in shown if status is AccountStatus.ACCEPTED],
    )


@router.post(
    "/customers/<customer_id>/accounts/<account_id>/accept", tags=TAGS, summary="Accept a new account"
)
def accept_account(customer_id: CustomerId, account_id: AccountId, staff: Staff) -> AccountOut:
    return AccountOut.of(
        customers.review_account(
            bootstrap.onboarding_for(staff), staff, customer_id, account_id, Decision.ACCEPT
        )
    )


@router.post(
    "/customers/<customer_id>/accounts/<account_id>/decline", tags=TAGS, summary="Decline a new account"
)
def decline_account(customer_id: CustomerId, account_id: AccountId, staff: Staff) -> AccountOut:
    return AccountOut.of(
        customers.review_account(
            bootstrap.onboarding_for(staff), staff, customer_id, account_id, Decision.DECLINE
        )
    )


@router.post(
    "/customers/<customer_id>/accounts/<account_id>/link",
    tags=TAGS,
    summary="Link to a bank ledger account of the firm's chart (else 400 unknown_ledger_account,"
    " ledger_account_archived or ledger_account_not_bank)",
)
def link_account(customer_id: CustomerId, account_id: AccountId, body: LinkIn, staff: Staff) -> AccountOut:
    linked = customers.link_account(
        bootstrap.onboarding_for(staff),
        bootstrap.ledger_for(staff).ledger,
        staff,
        customer_id,
        account_id,
        body.ledger_account,
    )
    return AccountOut.of(linked)


@router.post(
    "/customers/<customer_id>/accounts/<account_id>/unlink", tags=TAGS, summary="Undo a link (admins)"
)
def unlink_account(customer_id: CustomerId, account_id: AccountId, staff: Staff) -> AccountOut:
    return AccountOut.of(
        customers.link_account(
            bootstrap.onboarding_for(staff),
            bootstrap.ledger_for(staff).ledger,
            staff,
            customer_id,
            account_id,
            None,
        )
    )


@router.get(
    "/customers/<customer_id>/transactions",
    tags=TAGS,
    summary="Transactions of accepted accounts, live or historical",
)
def list_transactions(
    customer_id: CustomerId,
    staff: Staff,
    account_id: Annotated[str | None, Query(max_length=100)] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> TransactionListOut:
    page = consent_history.customer_transactions(
        bootstrap.onboarding_for(staff),
        staff,
        customer_id,
        account_id=account_id,
        date_from=date_from,
        date_to=date_to,
        cursor=cursor,
        limit=limit,
    )
    return TransactionListOut(
        items=[TransactionViewOut.shown(t, page.ended_on) for t in page.transactions],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/audit",
    tags=["audit"],
    summary="The firm's audit log, newest first (admins): all, one customer's, one kind's, or both",
)
def list_audit(
    staff: Staff,
    customer_id: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[
        AuditKind | None, Query(description="the action's family: the part before its dot")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AuditListOut:
    events, next_cursor = read_audit_log(
        bootstrap.audit_for(staff), staff, customer_id=customer_id, kind=kind, cursor=cursor, limit=limit
    )
    return AuditListOut(
        items=[
            AuditEventOut(
                actor_id=e.actor_id,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                customer_id=e.customer_id,
                details=e.details,
                occurred_at=e.occurred_at,
            )
            for e in events
        ],
        next_cursor=next_cursor,
    )
