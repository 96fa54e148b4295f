"""Aggregator adapters, built on first use and cached for the process (one GoCardless login
per process, not per call). Importing this package loads no HTTP stack: each adapter module
imports httpx when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from shared.domain.aggregator import AggregatorProvider
from shared.domain.errors import InvalidRequest
from shared.settings import Settings, get_settings

PROVIDERS = ("gocardless", "plaid")


def _gocardless(settings: Settings) -> AggregatorProvider:
    from shared.adapters.aggregator.credentials import secrets_manager_source
    from shared.adapters.aggregator.gocardless import GoCardlessAdapter
    from shared.adapters.dynamodb.request_gate import DynamoRequestGate
    from shared.adapters.dynamodb.request_pace import DynamoRequestPace

    return GoCardlessAdapter(
        settings.gocardless_base_url,
        secrets_manager_source(settings.aggregator_secret_name),
        gate=DynamoRequestGate(settings.data_table_name),  # GoCardless limits requests per account a day
        # ... and its account endpoints company-wide, per minute
        pace=DynamoRequestPace(settings.data_table_name, limit=settings.gocardless_account_calls_per_minute),
    )


def _plaid(settings: Settings) -> AggregatorProvider:
    from shared.adapters.aggregator.credentials import secrets_manager_source
    from shared.adapters.aggregator.plaid import PlaidAdapter

    return PlaidAdapter(settings.plaid_base_url, secrets_manager_source(settings.aggregator_secret_name))


_BUILDERS: dict[str, Callable[[Settings], AggregatorProvider]] = {"gocardless": _gocardless, "plaid": _plaid}


@cache
def provider(name: str) -> AggregatorProvider:
    """The adapter for `name` (one of PROVIDERS); an unknown name is an invalid request."""
    build = _BUILDERS.get(name)
    if build is None:
        raise InvalidRequest(f"Unknown bank data provider: {name!r}.")
    return build(get_settings())


def reset() -> None:
    """Forget built adapters (tests change the environment)."""
    provider.cache_clear()
