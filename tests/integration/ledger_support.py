"""The firm's chart of accounts for tests that link accounts or write rules (issue 16 item 7)."""

from __future__ import annotations

from typing import Any

from functions.invitations_api import handler as invitations
from tests.integration.onboarding_support import call


def chart(admin: Any, **kinds: str) -> None:
    """Add these ledger accounts (code=kind) to the admin's firm, as an admin does."""
    for code, kind in kinds.items():
        body = {"code": code, "name": f"Account {code}", "kind": kind}
        status, created = call(invitations, "POST", "/ledger-accounts", admin, body=body)
        assert status == 201, created
