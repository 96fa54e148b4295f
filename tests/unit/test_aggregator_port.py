"""The aggregator port's values and errors, and the adapter factory."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.aggregator import (
    AggregatorError,
    AggregatorRateLimited,
    AggregatorTransaction,
    AggregatorUnavailable,
    ConsentExpired,
    ConsentOutcome,
    ConsentRevoked,
    ConsentState,
    DateWindow,
    SyncCursor,
    cursor_from_json,
    cursor_to_json,
    mask_identifier,
)
from shared.domain.errors import DomainError, InvalidRequest, RateLimited, UpstreamUnavailable
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "cursor",
    [
        DateWindow(date(2026, 3, 1)),
        DateWindow(date(2026, 3, 1), date(2026, 3, 9)),
        SyncCursor(None),
        SyncCursor("c"),
    ],
)
def test_cursors_round_trip_through_json(cursor):
    assert cursor_from_json(cursor_to_json(cursor)) == cursor


def test_until_bounds_a_date_window_and_leaves_a_sync_cursor_alone():
    assert DateWindow(date(2026, 3, 1)).until(date(2026, 3, 9)) == DateWindow(
        date(2026, 3, 1), date(2026, 3, 9)
    )
    assert DateWindow(date(2026, 3, 9)).until(date(2026, 3, 1)) == DateWindow(
        date(2026, 3, 9), date(2026, 3, 9)
    )
    assert SyncCursor("c").until(date(2026, 3, 9)) == SyncCursor("c")


def test_an_unknown_cursor_is_refused():
    with pytest.raises(ValueError):
        cursor_from_json({"kind": "page"})


@pytest.mark.parametrize(
    ("identifier", "masked"),
    [("GB33 BUKB 2020 1555 5555 55", "•••• 5555"), ("0000", "•••• 0000"), ("", None), (None, None)],
)
def test_masked_identifiers_keep_four_characters(identifier, masked):
    assert mask_identifier(identifier) == masked


def test_a_fingerprint_depends_on_the_fields_not_their_order():
    def transaction(fields):
        return AggregatorTransaction(
            transaction_id=None,
            internal_id=None,
            account_id="acc",
            booking_date=None,
            value_date=None,
            amount=Decimal("-1.00"),
            currency="EUR",
            description="Bäckerei",
            counterparty=None,
            pending=False,
            raw_fingerprint_fields=fields,
        )

    one = transaction((("amount", "-1.00"), ("remittance", "Bäckerei")))
    same = transaction((("remittance", "Bäckerei"), ("amount", "-1.00")))
    other = transaction((("amount", "-1.00"), ("remittance", "Bäckerei"), ("occurrence", "1")))
    assert one.fingerprint == same.fingerprint != other.fingerprint
    assert len(one.fingerprint) == 64


def test_the_credential_is_not_in_a_repr():
    outcome = ConsentOutcome(state=ConsentState.LINKED, credential="access-sandbox-secret")
    assert "access-sandbox-secret" not in repr(outcome)


def test_errors_are_domain_errors_that_the_api_maps():
    limited = AggregatorRateLimited(retry_after_seconds=30, provider="gocardless")
    assert isinstance(limited, RateLimited) and isinstance(limited, AggregatorError)
    assert (limited.status, limited.retry_after_seconds, limited.provider) == (429, 30, "gocardless")
    assert isinstance(AggregatorUnavailable(), UpstreamUnavailable)
    assert isinstance(ConsentRevoked(), ConsentExpired) and ConsentRevoked().code == "consent_revoked"
    assert all(issubclass(cls, DomainError) for cls in (AggregatorError, ConsentExpired))


def test_importing_the_port_and_the_factory_loads_no_http_stack():
    check = (
        "import sys, shared.domain.aggregator, shared.adapters.aggregator;"
        "print(','.join(m for m in ('httpx', 'boto3') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.strip() == ""


def test_the_factory_builds_each_provider_once_and_refuses_others(monkeypatch):
    from shared.adapters import aggregator
    from shared.adapters.aggregator.gocardless import GoCardlessAdapter
    from shared.adapters.aggregator.plaid import PlaidAdapter
    from shared.settings import get_settings

    monkeypatch.setenv("GOCARDLESS_BASE_URL", "http://127.0.0.1:9/sandbox/gocardless")
    monkeypatch.setenv("AGGREGATOR_SECRET_NAME", "aggregator")
    get_settings.cache_clear()
    aggregator.reset()
    try:
        gocardless = aggregator.provider("gocardless")
        assert isinstance(gocardless, GoCardlessAdapter) and aggregator.provider("gocardless") is gocardless
        assert isinstance(aggregator.provider("plaid"), PlaidAdapter)
        with pytest.raises(InvalidRequest):
            aggregator.provider("yodlee")
    finally:
        aggregator.reset()
        get_settings.cache_clear()


def test_the_imports_adapter_leaves_a_fifth_of_gocardlesss_pace_to_people(monkeypatch):
    """People's requests (an API call, the bank's redirect back) get the provider's whole limit; the
    imports' adapter stops a fifth short of it (shared/domain/aggregator.py, calls_kept_for_people)."""
    from shared.adapters import aggregator
    from shared.adapters.dynamodb import request_pace
    from shared.settings import get_settings

    built: list[tuple[int, int]] = []
    real = request_pace.DynamoRequestPace

    def recorded(*args: Any, **options: Any) -> Any:
        pace = real(*args, **options)
        built.append((pace.limit, pace.kept_for_people))
        return pace

    monkeypatch.setattr(request_pace, "DynamoRequestPace", recorded)
    monkeypatch.setenv("GOCARDLESS_BASE_URL", "http://127.0.0.1:9/sandbox/gocardless")
    monkeypatch.setenv("AGGREGATOR_SECRET_NAME", "aggregator")
    monkeypatch.setenv("GOCARDLESS_ACCOUNT_CALLS_PER_MINUTE", "250")
    get_settings.cache_clear()
    aggregator.reset()
    try:
        people, imports = aggregator.provider("gocardless"), aggregator.background_provider("gocardless")
        assert people is not imports and aggregator.background_provider("gocardless") is imports
        assert built == [(250, 0), (250, 50)]
    finally:
        aggregator.reset()
        get_settings.cache_clear()
