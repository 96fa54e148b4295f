"""Pure connection rules: stable account ids and the state machine (R-CON-4/6/8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.accounts import stable_account_id
from shared.domain.connections import Connection, ConnectionStatus, Fix

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def connection(status: ConnectionStatus, **changes) -> Connection:
    return Connection(
        "f", "c", "conn", "u", "gocardless", "BANK", "Bank", status, NOW, status_changed_at=NOW, **changes
    )


def test_account_ids_survive_a_new_consent_and_differ_between_accounts():
    first = stable_account_id("conn", "•••• 1234", "GBP", "Current")
    assert first == stable_account_id("conn", "•••• 1234", "GBP", "Current")
    assert first != stable_account_id("conn", "•••• 9876", "GBP", "Current")
    assert first != stable_account_id("other", "•••• 1234", "GBP", "Current")


def test_an_older_event_never_wins_and_revoked_is_final_until_a_new_consent():
    linked = connection(ConnectionStatus.LINKED)
    assert linked.with_status(ConnectionStatus.CREDENTIALS_REJECTED, NOW - timedelta(seconds=1)) == linked
    revoked = linked.with_status(ConnectionStatus.REVOKED, NOW)
    assert (
        revoked.with_status(ConnectionStatus.LINKED, NOW + timedelta(days=1)).status
        is ConnectionStatus.REVOKED
    )
    assert (
        revoked.with_status(ConnectionStatus.PENDING, NOW + timedelta(days=1)).status
        is ConnectionStatus.PENDING
    )


def test_each_problem_says_how_to_fix_it_and_expiry_warns_a_week_ahead():
    assert connection(ConnectionStatus.NO_ACCOUNTS).fix is Fix.FIND_NEW_ACCOUNTS
    assert connection(ConnectionStatus.REFRESH_FAILED).fix is Fix.REFRESH
    assert connection(ConnectionStatus.EXPIRED).fix is Fix.REAUTHORISE
    assert connection(ConnectionStatus.REVOKED).fix is Fix.RECONNECT  # issue 16: connect the bank again
    assert (
        connection(ConnectionStatus.PENDING).fix is None and connection(ConnectionStatus.LINKED).fix is None
    )
    soon = connection(ConnectionStatus.LINKED, expires_at=NOW + timedelta(days=6))
    later = connection(ConnectionStatus.LINKED, expires_at=NOW + timedelta(days=8))
    assert soon.expiring_soon(NOW) and not later.expiring_soon(NOW)
