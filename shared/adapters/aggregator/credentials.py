"""The aggregator API credentials: one Secrets Manager secret (infra/spec.py SECRETS["aggregator"])
read through Powertools parameters, cached in the process for `SECRET_MAX_AGE_SECONDS`.

Adapters take a `CredentialSource` (a function returning the secret's JSON object), so tests
can pass a dict; production passes `secrets_manager_source(settings.aggregator_secret_name)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.domain.aggregator import AggregatorUnavailable

CredentialSource = Callable[[], Mapping[str, Any]]

SECRET_MAX_AGE_SECONDS = 300  # a rotated secret is picked up within 5 minutes


def secrets_manager_source(secret_name: str) -> CredentialSource:
    def read() -> Mapping[str, Any]:
        from aws_lambda_powertools.utilities import parameters  # boto3: only when first needed

        value = parameters.get_secret(secret_name, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
        if not isinstance(value, dict):
            raise AggregatorUnavailable("The bank data provider's credentials are not configured.")
        return value

    return read


def static_source(values: Mapping[str, Any]) -> CredentialSource:
    """Fixed credentials (tests, the local sandbox)."""
    return lambda: values


def required(values: Mapping[str, Any], key: str, provider: str) -> str:
    """One credential; its absence is a configuration error, named by key (never by value)."""
    value = values.get(key)
    if not isinstance(value, str) or not value:
        raise AggregatorUnavailable(
            f"The bank data provider's credentials are incomplete ({key} is missing).",
            provider=provider,
            provider_code="credentials_missing",
        )
    return value
