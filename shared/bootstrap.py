"""Composition root: adapters built on first use and cached (nothing at import time).

Tests reset them with `reset()` after changing the environment.
"""

from __future__ import annotations

from functools import cache

from shared.adapters.dynamodb.audit_log import AuditLog
from shared.adapters.dynamodb.identity_repository import IdentityRepository
from shared.settings import get_settings


@cache
def identity_repository() -> IdentityRepository:
    return IdentityRepository(get_settings().data_table_name)


@cache
def audit_log() -> AuditLog:
    return AuditLog(get_settings().data_table_name)


def reset() -> None:
    """Forget cached settings, clients and adapters (tests change the environment)."""
    from shared.adapters.dynamodb.client import dynamodb_client
    from shared.api.idempotency import _persistence_store

    for cached in (get_settings, dynamodb_client, identity_repository, audit_log, _persistence_store):
        cached.cache_clear()
