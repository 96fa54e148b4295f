"""Data Refresh: the dashboard, bulk "refresh data now" jobs and the customer's EULA (R-REF-*)."""

from functions.refresh_api.routes import engagements, eula, jobs
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(engagements.router, jobs.router, eula.router)
lambda_handler = api_handler(app)
