"""Health, who-am-I and the API documentation."""

from functions.platform_api.routes import docs, health, me
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(health.router, me.router, docs.router)
lambda_handler = api_handler(app)
