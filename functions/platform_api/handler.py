"""Health, who-am-I, my notifications and the API documentation."""

from functions.platform_api.routes import docs, health, me, notifications
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(health.router, me.router, notifications.router, docs.router)
lambda_handler = api_handler(app)
