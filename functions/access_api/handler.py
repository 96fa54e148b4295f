"""Client files and their access grants: sections, members, external advisers, invitations (R-ACC-1..6)."""

from functions.access_api.routes import access, files, invitations
from shared.api.app import create_app
from shared.api.entrypoint import api_handler

app = create_app(files.router, access.router, invitations.router)
lambda_handler = api_handler(app)
