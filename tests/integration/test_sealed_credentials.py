"""Secrets sealed (issue 17 item 4): provider credentials are stored only as KMS ciphertext bound to
their firm and connection, opened only where the provider is called, and never logged.

Prints its part of `BAR privacy:` (`plaintext_tokens`): every item of every table of infra/spec.py
is read after Plaid connections were linked and imported through the real routes and worker, and
every attribute value (in maps and lists too, whatever the item's kind) is searched for the tokens
the provider issued.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pytest

from functions.connections_api import handler as connections_api
from functions.invitations_api import handler as invitations
from infra.spec import KEYS
from local.demo_data import DEMO_FIRM
from local.provision import key_alias
from shared import bootstrap
from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client
from shared.adapters.dynamodb.connections_repository import ConnectionsRepository
from shared.adapters.kms_vault import KmsCredentialVault
from shared.domain.aggregator import CompletionInput, ConsentOutcome
from shared.domain.connections import (
    CREDENTIAL_SCHEME,
    Connection,
    ConnectionStatus,
    CredentialUnreadable,
    SealedCredential,
)
from shared.domain.errors import UpstreamUnavailable
from shared.ports.connections import ConnectionAddress
from shared.services.credentials import provider_credential
from tests.bars import SUM_KEY
from tests.conftest import counting_aws_calls
from tests.integration.connection_support import PLAID_BANK, jane_with_plaid, link_plaid
from tests.integration.onboarding_support import ADMIN, INVITEE, call, take_first_imports
from tests.integration.test_imports import deliver
from tests.reliability.test_token_properties import stored_strings

FIRM = "01JFIRMSEALED0000000000000"
NOW = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
TOKEN = "access-sandbox-5e2a0f6c-sealed-test-token"


def vault() -> KmsCredentialVault:
    return KmsCredentialVault(key_alias(next(iter(KEYS))))


def a_connection(connection_id: str, credential: str | None = TOKEN, firm_id: str = FIRM) -> Connection:
    return Connection(
        firm_id=firm_id,
        customer_id="01JCUSTSEALED0000000000000",
        connection_id=connection_id,
        user_id="user-1",
        provider="plaid",
        institution_id=PLAID_BANK,
        institution_name="Bank",
        status=ConnectionStatus.LINKED,
        created_at=NOW,
        credential=credential,
        linked_at=NOW,
    )


def plaintext_tokens(tokens: set[str]) -> int:
    """Attribute values (names too, in maps and lists, of every item of every table) holding a token."""
    return sum(any(token in value for token in tokens) for value in stored_strings())


# the KMS adapter on moto ---------------------------------------------------------------------
def test_a_credential_seals_and_opens_for_its_own_firm_and_connection_only(aws):
    sealed = vault().seal(TOKEN, firm_id=FIRM, connection_id="c-1")

    assert sealed.scheme == CREDENTIAL_SCHEME and TOKEN not in sealed.ciphertext
    assert TOKEN.encode() not in base64.b64decode(sealed.ciphertext)
    assert TOKEN not in repr(sealed) and sealed.ciphertext not in repr(sealed)
    assert vault().open(sealed, firm_id=FIRM, connection_id="c-1") == TOKEN
    for firm_id, connection_id in ((FIRM, "c-2"), ("01JOTHERFIRM00000000000000", "c-1")):
        with pytest.raises(CredentialUnreadable):  # another context: KMS refuses it
            vault().open(sealed, firm_id=firm_id, connection_id=connection_id)


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: replace(
            s, ciphertext=base64.b64encode(base64.b64decode(s.ciphertext)[:-1] + b"x").decode()
        ),
        lambda s: replace(s, ciphertext="not base64!"),
        lambda s: replace(s, scheme="clear"),
    ],
    ids=["altered", "not_base64", "unknown_scheme"],
)
def test_an_altered_credential_does_not_open(aws, damage):
    sealed = vault().seal(TOKEN, firm_id=FIRM, connection_id="c-1")
    with pytest.raises(CredentialUnreadable):
        vault().open(damage(sealed), firm_id=FIRM, connection_id="c-1")


def test_an_unusable_key_is_an_unavailable_dependency_not_a_broken_connection(aws, caplog):
    with pytest.raises(UpstreamUnavailable) as refused:
        KmsCredentialVault("alias/no-such-key").seal(TOKEN, firm_id=FIRM, connection_id="c-1")
    assert refused.value.status == 503 and not isinstance(refused.value, CredentialUnreadable)
    assert TOKEN not in caplog.text


# the repository: sealed on save, never opened on read ------------------------------------------
def test_the_repository_stores_ciphertext_only_and_reads_it_unopened(aws):
    repository = ConnectionsRepository("data", vault())
    saved = repository.save(a_connection("c-1"), None)
    address = ConnectionAddress(FIRM, saved.customer_id, "c-1")

    with counting_aws_calls("kms") as calls:
        read = repository.get(address)
        listed = repository.list_for_customer(FIRM, saved.customer_id)
    assert calls == {}  # reading and listing never decrypt
    assert isinstance(saved.credential, SealedCredential) and read == saved and listed == [saved]
    assert plaintext_tokens({TOKEN}) == 0
    assert provider_credential(vault(), saved) == TOKEN


def test_a_ciphertext_moved_to_another_connections_item_does_not_open(aws):
    repository = ConnectionsRepository("data", vault())
    first = repository.save(a_connection("c-1"), None)
    second = repository.save(a_connection("c-2", credential="access-sandbox-other"), None)
    assert isinstance(first.credential, SealedCredential)
    dynamodb_client().update_item(  # someone with write access copies c-1's token into c-2's item
        TableName="data",
        Key={
            "PK": {"S": keys.customer_collection_pk(FIRM, second.customer_id)},
            "SK": {"S": keys.connection_sk("c-2")},
        },
        UpdateExpression="SET credential_sealed = :moved",
        ExpressionAttributeValues={":moved": {"S": first.credential.ciphertext}},
    )
    moved = repository.get(ConnectionAddress(FIRM, second.customer_id, "c-2"))
    assert moved is not None
    with pytest.raises(CredentialUnreadable):
        provider_credential(vault(), moved)


def test_a_clear_item_written_before_sealing_is_read_once_and_sealed_by_its_next_save(aws):
    repository = ConnectionsRepository("data", vault())
    saved = repository.save(a_connection("c-1", credential=None), None)
    key = {
        "PK": {"S": keys.customer_collection_pk(FIRM, saved.customer_id)},
        "SK": {"S": keys.connection_sk("c-1")},
    }
    dynamodb_client().update_item(  # as items were written before this change
        TableName="data",
        Key=key,
        UpdateExpression="SET credential = :clear",
        ExpressionAttributeValues={":clear": {"S": TOKEN}},
    )
    assert plaintext_tokens({TOKEN}) == 1  # the scan sees a clear token where there is one

    legacy = repository.get(ConnectionAddress(FIRM, saved.customer_id, "c-1"))
    assert legacy is not None and legacy.credential == TOKEN
    resealed = repository.save(replace(legacy, last_error=None), legacy)

    item = dynamodb_client().get_item(TableName="data", Key=key)["Item"]
    assert "credential" not in item and item["credential_scheme"] == {"S": CREDENTIAL_SCHEME}
    assert plaintext_tokens({TOKEN}) == 0
    assert provider_credential(vault(), resealed) == TOKEN


def test_a_repository_without_a_vault_refuses_to_store_a_clear_credential(aws):
    with pytest.raises(RuntimeError, match="vault"):
        ConnectionsRepository("data").save(a_connection("c-1"), None)
    assert plaintext_tokens({TOKEN}) == 0


# end to end: linked through the routes, imported by the worker ---------------------------------
@pytest.fixture
def issued_tokens(sandboxes, monkeypatch) -> set[str]:
    """The access tokens the Plaid sandbox hands our adapter, recorded as they pass."""
    tokens: set[str] = set()
    plaid = sandboxes.adapters["plaid"]
    complete = plaid.complete_consent

    def recording(completion: CompletionInput) -> ConsentOutcome:
        outcome = complete(completion)
        if outcome.credential:
            tokens.add(outcome.credential)
        return outcome

    monkeypatch.setattr(plaid, "complete_consent", recording)
    return tokens


def accept_all_and_import(customer_id: str) -> int:
    """The admin accepts every new account; the worker runs the imports that queued (real handler)."""
    ids = {"customer_id": customer_id}
    _, accounts = call(invitations, "GET", "/customers/{customer_id}/accounts", ADMIN, path_parameters=ids)
    for account in accounts["new_accounts"]:
        path = "/customers/{customer_id}/accounts/{account_id}/accept"
        call(invitations, "POST", path, ADMIN, path_parameters={**ids, "account_id": account["account_id"]})
    jobs = take_first_imports()
    assert deliver(*(json.dumps(job) for job in jobs)) == {"batchItemFailures": []}
    lines = dynamodb_client().query(
        TableName="data",
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={
            ":pk": {"S": keys.customer_transactions_pk(DEMO_FIRM.firm_id, customer_id)}
        },
        Select="COUNT",
    )
    return int(lines["Count"])


def test_plaid_tokens_are_stored_sealed_imports_work_and_no_item_holds_a_token(
    sandboxes, issued_tokens, request, caplog
):
    customer_id, _ = jane_with_plaid(sandboxes)
    link_plaid(sandboxes)
    imported = accept_all_and_import(customer_id)

    assert len(issued_tokens) == 2 and imported > 0  # two Items linked, their lines imported
    connections = ConnectionsRepository("data").list_for_customer(DEMO_FIRM.firm_id, customer_id)
    assert len(connections) == 2 and all(isinstance(c.credential, SealedCredential) for c in connections)
    found = plaintext_tokens(issued_tokens)
    request.node.user_properties.append((SUM_KEY, ["privacy", {"plaintext_tokens": found}]))
    assert found == 0
    # What the functions log (INFO and above, as deployed), with every extra field.
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.levelno >= logging.INFO)
    assert caplog.records and not any(token in logged for token in issued_tokens)


def test_listing_connections_never_decrypts_and_a_provider_call_decrypts_once(sandboxes):
    customer_id, connection_id = jane_with_plaid(sandboxes)
    with counting_aws_calls("kms") as listing:
        assert call(connections_api, "GET", "/connections", INVITEE)[0] == 200
        path = "/customers/{customer_id}/connections"
        assert (
            call(connections_api, "GET", path, ADMIN, path_parameters={"customer_id": customer_id})[0] == 200
        )
    assert listing == {}
    with counting_aws_calls("kms") as refreshing:
        path = "/connections/{connection_id}/refresh"
        status, _ = call(
            connections_api, "POST", path, INVITEE, path_parameters={"connection_id": connection_id}
        )
    assert status == 202 and refreshing == {"Decrypt": 1}


def test_readers_without_the_decrypt_grant_get_ciphertext_under_a_rotated_key(sandboxes):
    """What a function that may not decrypt reads of a connection (the Data Refresh rows read them):
    ciphertext, useless without kms:Decrypt on the key (tests/infra/test_keys.py holds the grants);
    the local key is built as the stack's, with rotation on."""
    customer_id, connection_id = jane_with_plaid(sandboxes)
    [connection] = bootstrap.engagement_index().connections.list_for_customer(DEMO_FIRM.firm_id, customer_id)
    assert connection.connection_id == connection_id
    assert isinstance(connection.credential, SealedCredential)
    kms = boto3.client("kms")
    rotation = kms.get_key_rotation_status(
        KeyId=kms.describe_key(KeyId=vault().key_id)["KeyMetadata"]["KeyId"]
    )
    assert rotation["KeyRotationEnabled"] is True
