"""Aggregator connections: institutions, consent, callbacks, webhooks, troubleshooting (R-CON-*)."""

from functions.connections_api.routes import callbacks, connections, lifecycle, my_data, webhooks
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(connections.router, my_data.router, callbacks.router, webhooks.router, lifecycle.router)
lambda_handler = api_handler(app)
