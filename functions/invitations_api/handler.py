"""Customer invitations, onboarding, shared-account review and browsing (R-INV-1..7); the firm's
staff and who looks after each customer (R-ID-2, R-ID-3); the firm's chart of accounts (seed 003)."""

from functions.invitations_api.routes import (
    bank_lines,
    customers,
    invitations,
    ledger,
    staff,
    staff_invitations,
)
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(
    invitations.router,
    customers.router,
    bank_lines.router,
    staff_invitations.router,
    staff.router,
    ledger.router,
)
lambda_handler = api_handler(app)
