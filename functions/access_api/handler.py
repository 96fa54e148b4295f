"""The access API. Its routes arrive with the access issue; the function, its permissions
and its place behind the gateway exist from the foundation."""

from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app()
lambda_handler = api_handler(app)
