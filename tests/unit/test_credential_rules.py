"""Sealed credentials in the import rules, on the in-memory ports: the job opens the connection's
credential once, right before the provider, and a credential that does not open for its connection
parks the connection as rejected without calling the provider (issue 17 item 4)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from shared.domain.aggregator import TransactionPage
from shared.domain.connections import ConnectionStatus, SealedCredential
from shared.domain.imports import Outcome
from shared.ports.connections import ConnectionAddress
from shared.services.imports import import_connection
from tests.unit.test_import_rules import CONNECTION, CUSTOMER, FIRM, JOB, NOW, Provider, line, page, world

pytestmark = pytest.mark.fakes

ADDRESS = ConnectionAddress(FIRM, CUSTOMER, CONNECTION)


@dataclass
class RecordingProvider(Provider):
    """The scripted provider, noting the credential of every call."""

    credentials: list[str] = field(default_factory=list)

    def fetch_transactions(self, credential: str, account_id: str, cursor: Any) -> TransactionPage:
        self.credentials.append(credential)
        return super().fetch_transactions(credential, account_id, cursor)

    def list_accounts(self, credential: str, *, only=None, skip=None) -> Any:
        self.credentials.append(credential)
        return super().list_accounts(credential, only=only, skip=skip)


def sealed_world(*accounts: str, sealed_for: str = CONNECTION) -> Any:
    fakes = world(*accounts)
    stored = fakes.connections.rows[ADDRESS]
    credential = fakes.connections.vault.seal("the-token", firm_id=FIRM, connection_id=sealed_for)
    fakes.connections.rows[ADDRESS] = replace(stored, credential=credential)
    return fakes


def test_an_import_opens_the_credential_once_and_the_provider_gets_it_clear():
    fakes = sealed_world("p-a", "p-b")
    script = {a: [page(added=[line(f"t-{a}", "-1.00", account=a)])] for a in ("p-a", "p-b")}
    provider = RecordingProvider(feed_per_account=True, script=script)

    report = import_connection(fakes.ports(provider, lambda: NOW), JOB)

    assert report.outcome is Outcome.IMPORTED and report.written == 2
    assert fakes.connections.vault.opened == 1  # once per job, not per feed or call
    assert provider.credentials and set(provider.credentials) == {"the-token"}
    stored = fakes.connections.rows[ADDRESS].credential
    assert isinstance(stored, SealedCredential) and fakes.connections.vault.sealed == 1  # not re-sealed


def test_a_credential_sealed_for_another_connection_parks_the_job_without_calling_the_provider():
    fakes = sealed_world("p-a", sealed_for="another-connection")
    provider = RecordingProvider(script={"p-a": [page()]})

    report = import_connection(fakes.ports(provider, lambda: NOW), JOB)

    assert report.outcome is Outcome.CREDENTIALS_REJECTED
    assert provider.credentials == [] and provider.fetched == []
    assert fakes.connections.rows[ADDRESS].status is ConnectionStatus.CREDENTIALS_REJECTED


def test_a_clear_credential_from_before_sealing_is_used_as_it_is_and_sealed_by_the_next_save():
    fakes = world("p-a")  # its connection holds a clear credential, as items written before sealing
    provider = RecordingProvider(script={"p-a": [page(added=[line("t-1", "-1.00")])]})

    import_connection(fakes.ports(provider, lambda: NOW), JOB)

    assert set(provider.credentials) == {"credential"} and fakes.connections.vault.opened == 0
    saved = fakes.connections.rows[ADDRESS]  # the job recorded its outcome on the connection
    assert saved.version > 1 and isinstance(saved.credential, SealedCredential)
    assert (
        fakes.connections.vault.open(saved.credential, firm_id=FIRM, connection_id=CONNECTION) == "credential"
    )
