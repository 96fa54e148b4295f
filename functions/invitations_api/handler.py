"""Customer invitations, onboarding, shared-account review and browsing (R-INV-1..7)."""

from functions.invitations_api.routes import bank_lines, customers, invitations
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(invitations.router, customers.router, bank_lines.router)
lambda_handler = api_handler(app)
