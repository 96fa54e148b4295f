"""Composition root: adapters built on first use and cached (nothing at import time).

Tests reset them with `reset()` after changing the environment.
"""

from __future__ import annotations

from functools import cache

from shared.adapters.dynamodb.accounts_repository import AccountsRepository
from shared.adapters.dynamodb.audit_log import AuditLog
from shared.adapters.dynamodb.customers_repository import CustomersRepository
from shared.adapters.dynamodb.identity_repository import IdentityRepository
from shared.adapters.dynamodb.notifications_repository import NotificationsRepository
from shared.adapters.email import SesEmailSender
from shared.services.onboarding import OnboardingPorts
from shared.settings import get_settings


@cache
def identity_repository() -> IdentityRepository:
    return IdentityRepository(get_settings().data_table_name)


@cache
def audit_log() -> AuditLog:
    return AuditLog(get_settings().data_table_name)


@cache
def notifications_repository() -> NotificationsRepository:
    return NotificationsRepository(get_settings().data_table_name)


@cache
def email_sender() -> SesEmailSender:
    settings = get_settings()
    return SesEmailSender(settings.email_sender, settings.ses_configuration_set)


@cache
def onboarding() -> OnboardingPorts:
    settings = get_settings()
    return OnboardingPorts(
        customers=CustomersRepository(settings.data_table_name),
        accounts=AccountsRepository(settings.data_table_name),
        identities=identity_repository(),
        notifications=notifications_repository(),
        audit=audit_log(),
        email=email_sender(),
        app_base_url=settings.app_base_url,
    )


def reset() -> None:
    """Forget cached settings, clients and adapters (tests change the environment)."""
    from shared.adapters import aggregator
    from shared.adapters.aws_clients import aws_client
    from shared.api.idempotency import _persistence_store

    for cached in (
        get_settings,
        aws_client,
        identity_repository,
        audit_log,
        notifications_repository,
        email_sender,
        onboarding,
        _persistence_store,
    ):
        cached.cache_clear()
    aggregator.reset()
