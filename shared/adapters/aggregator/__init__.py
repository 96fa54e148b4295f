"""Aggregator adapters, built on first use and cached for the process (one GoCardless login
per process and kind of use, not per call: people's requests, the imports). Importing this package
loads no HTTP stack: each adapter module imports httpx when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from shared.domain.aggregator import AggregatorProvider, calls_kept_for_people
from shared.domain.errors import InvalidRequest
from shared.settings import Settings, get_settings

PROVIDERS = ("gocardless", "plaid")


def _gocardless(settings: Settings, background: bool) -> AggregatorProvider:
    from shared.adapters.aggregator.credentials import secrets_manager_source
    from shared.adapters.aggregator.gocardless import GoCardlessAdapter
    from shared.adapters.dynamodb.request_gate import DynamoRequestGate
    from shared.adapters.dynamodb.request_pace import DynamoRequestPace

    limit = settings.gocardless_account_calls_per_minute
    return GoCardlessAdapter(
        settings.gocardless_base_url,
        secrets_manager_source(settings.aggregator_secret_name),
        gate=DynamoRequestGate(settings.data_table_name),  # GoCardless limits requests per account a day
        # ... and its account endpoints company-wide, per minute: the imports leave a share to people
        pace=DynamoRequestPace(
            settings.data_table_name,
            limit=limit,
            kept_for_people=calls_kept_for_people(limit) if background else 0,
        ),
    )


def _plaid(settings: Settings, background: bool) -> AggregatorProvider:
    from shared.adapters.aggregator.credentials import secrets_manager_source
    from shared.adapters.aggregator.plaid import PlaidAdapter

    return PlaidAdapter(settings.plaid_base_url, secrets_manager_source(settings.aggregator_secret_name))


_BUILDERS: dict[str, Callable[[Settings, bool], AggregatorProvider]] = {
    "gocardless": _gocardless,
    "plaid": _plaid,
}


def _built(name: str, background: bool) -> AggregatorProvider:
    build = _BUILDERS.get(name)
    if build is None:
        raise InvalidRequest(f"Unknown bank data provider: {name!r}.")
    return build(get_settings(), background)


@cache
def provider(name: str) -> AggregatorProvider:
    """The adapter for `name` (one of PROVIDERS) for requests a person waits for (an API call, the
    bank's redirect back); an unknown name is an invalid request."""
    return _built(name, background=False)


@cache
def background_provider(name: str) -> AggregatorProvider:
    """The adapter for `name` for the imports (queue workers): GoCardless's pace leaves them all but
    the share of each minute kept for people (`calls_kept_for_people`)."""
    return _built(name, background=True)


def reset() -> None:
    """Forget built adapters (tests change the environment)."""
    provider.cache_clear()
    background_provider.cache_clear()
