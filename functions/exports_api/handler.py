"""CSV exports: a customer's transactions and the firm's audit log (issue 16 item 8)."""

from functions.exports_api.routes import exports
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(exports.router)
lambda_handler = api_handler(app)
