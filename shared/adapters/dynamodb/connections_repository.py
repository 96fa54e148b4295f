"""Connections (in the customer's item collection) and the pointers that find them: by id,
by callback reference (single use) and by Plaid item.

A connection's credential is stored sealed only (`credential_sealed`, base64, and its
`credential_scheme`): `save` seals a clear one through the credential vault, and reads hand the
sealed value on unopened, so listing or showing connections never decrypts. An item written before
sealing (a clear `credential` attribute) is read as it is and sealed by its next save."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import dynamodb_client, from_item, query_pages, to_item, write_chained
from shared.domain.connections import (
    CALLBACK_REPLAY_WINDOW,
    IMPORTABLE,
    Connection,
    ConnectionStatus,
    SealedCredential,
)
from shared.domain.errors import (
    StaleConnection,
)
from shared.ports.connections import ConnectionAddress
from shared.ports.credentials import CredentialVault
from shared.ports.storage import TransactItem

CONSENT_REFERENCE_LIFETIME = timedelta(days=30)  # far beyond any bank's consent journey


@dataclass
class ConnectionsRepository:
    table_name: str
    vault: CredentialVault | None = None  # seals clear credentials on save; None: reads only

    def get(self, address: ConnectionAddress) -> Connection | None:
        item = self._get(
            keys.customer_collection_pk(address.firm_id, address.customer_id),
            keys.connection_sk(address.connection_id),
        )
        return _connection(item) if item else None

    def locate(self, connection_id: str) -> ConnectionAddress | None:
        return self._pointer(keys.connection_pointer_pk(connection_id), keys.CONNECTION)

    def locate_by_reference(self, reference_hash: str) -> ConnectionAddress | None:
        return self._pointer(keys.consent_reference_pk(reference_hash), keys.CONSENT_REFERENCE)

    def locate_by_item(self, item_id: str) -> ConnectionAddress | None:
        return self._pointer(keys.plaid_item_pk(item_id), keys.PLAID_ITEM)

    def list_for_customer(self, firm_id: str, customer_id: str) -> list[Connection]:
        response = dynamodb_client().query(
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=to_item(
                {":pk": keys.customer_collection_pk(firm_id, customer_id), ":prefix": keys.CONNECTION_PREFIX}
            ),
        )
        return [_connection(from_item(raw)) for raw in response["Items"]]

    def active_addresses(self) -> Iterator[list[ConnectionAddress]]:
        """Every importable connection, a page at a time: one Query per page on each GSI2 shard."""
        paginator = dynamodb_client().get_paginator("query")
        for shard in range(keys.ACTIVE_CONNECTION_SHARDS):
            for page in paginator.paginate(
                TableName=self.table_name,
                IndexName="GSI2",
                KeyConditionExpression="GSI2PK = :pk",
                ExpressionAttributeValues=to_item({":pk": keys.active_connections_gsi2pk(shard)}),
                ProjectionExpression="firm_id, customer_id, connection_id",
            ):
                if page["Items"]:
                    yield [
                        ConnectionAddress(i["firm_id"]["S"], i["customer_id"]["S"], i["connection_id"]["S"])
                        for i in page["Items"]
                    ]

    def awaiting_expiry_reminder(self, day: date, after: datetime) -> Iterator[list[ConnectionAddress]]:
        """Connections whose consent expires on the UTC `day`, later than `after`, and whose customer
        was not reminded of that expiry yet (#65): one Query per page."""
        for page in query_pages(
            self.table_name,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK >= :after",
            ExpressionAttributeValues=to_item(
                {
                    ":pk": keys.consent_expiry_gsi1pk(day.isoformat()),  # a UTC day, as _utc_day
                    ":after": keys.consent_expiring_after(_utc_iso(after)),
                }
            ),
            ProjectionExpression="firm_id, customer_id, connection_id",
        ):
            yield [_address(item) for item in page]

    def save(self, connection: Connection, previous: Connection | None, *extra: TransactItem) -> Connection:
        """Write with an optimistic lock; new connections also get their id pointer."""
        [saved] = self.save_all([(connection, previous)], *extra)
        return saved

    def save_all(
        self, changes: Sequence[tuple[Connection, Connection | None]], *extra: TransactItem
    ) -> list[Connection]:
        """Each connection over the version read (an optimistic lock each), with `extra`, in one
        TransactWriteItems: all or nothing (StaleConnection)."""
        saved: list[Connection] = []
        items: list[TransactItem] = []
        for connection, previous in changes:
            one, writes = self._writes(connection, previous)
            saved.append(one)
            items += writes
        items.extend(extra)
        try:
            write_chained(items)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise StaleConnection() from None
            raise
        return saved

    def _writes(
        self, connection: Connection, previous: Connection | None
    ) -> tuple[Connection, list[TransactItem]]:
        """The connection as it will be stored, and its writes (the item; pointers when new)."""
        saved = replace(self._sealed(connection), version=(previous.version + 1) if previous else 1)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(_values(saved))}
        if previous:
            put["ConditionExpression"] = "version = :version"
            put["ExpressionAttributeValues"] = {":version": {"N": str(previous.version)}}
        else:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        items: list[TransactItem] = [{"Put": put}]
        if previous is None:
            items.append(
                self._pointer_put(keys.connection_pointer_pk(saved.connection_id), keys.CONNECTION, saved)
            )
        if saved.item_id and (previous is None or previous.item_id != saved.item_id):
            items.append(self._pointer_put(keys.plaid_item_pk(saved.item_id), keys.PLAID_ITEM, saved))
        return saved, items

    def _sealed(self, connection: Connection) -> Connection:
        """The connection with its credential sealed: a clear one is never stored."""
        if not isinstance(connection.credential, str):
            return connection
        if self.vault is None:
            raise RuntimeError(
                "this connections repository has no credential vault: it cannot save a credential"
            )
        sealed = self.vault.seal(
            connection.credential, firm_id=connection.firm_id, connection_id=connection.connection_id
        )
        return replace(connection, credential=sealed)

    def reference_put(
        self, connection: Connection, reference_hash: str, *, issued_at: datetime
    ) -> TransactItem:
        """The callback reference of a consent being given; a callback that never comes leaves it
        to the table's TTL (clean-up only: a late callback then finds no reference, as any unknown one)."""
        item = self._pointer_put(
            keys.consent_reference_pk(reference_hash), keys.CONSENT_REFERENCE, connection
        )
        expires_at = int((issued_at + CONSENT_REFERENCE_LIFETIME).timestamp())
        item["Put"]["Item"]["expires_at"] = {"N": str(expires_at)}
        return item

    def reference_forget(self, reference_hash: str) -> TransactItem:
        """Remove a callback reference whether or not it was used (the consent is abandoned)."""
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_item(
                    {"PK": keys.consent_reference_pk(reference_hash), "SK": keys.CONSENT_REFERENCE}
                ),
            }
        }

    def reference_consume(self, reference_hash: str, *, used_at: datetime) -> TransactItem:
        """Fails the transaction when the reference was already used: a replay changes nothing.
        The used reference is kept `CALLBACK_REPLAY_WINDOW` (then left to the TTL), so that a
        double-clicked redirect can be told the outcome (`reference_used_at`)."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item(
                    {"PK": keys.consent_reference_pk(reference_hash), "SK": keys.CONSENT_REFERENCE}
                ),
                "UpdateExpression": "SET used_at = :used_at, expires_at = :expires_at",
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(used_at)",
                "ExpressionAttributeValues": to_item(
                    {
                        ":used_at": used_at.isoformat(),
                        ":expires_at": int((used_at + CALLBACK_REPLAY_WINDOW).timestamp()),
                    }
                ),
            }
        }

    def reference_used_at(self, reference_hash: str) -> datetime | None:
        """When the reference completed its consent; None if unused or unknown."""
        item = self._get(keys.consent_reference_pk(reference_hash), keys.CONSENT_REFERENCE)
        return _dt(item.get("used_at")) if item else None

    def _pointer_put(self, pk: str, sk: str, connection: Connection) -> TransactItem:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(
                    {
                        "PK": pk,
                        "SK": sk,
                        "type": "connection_pointer",
                        "firm_id": connection.firm_id,
                        "customer_id": connection.customer_id,
                        "connection_id": connection.connection_id,
                        **keys.customer_trace(connection.firm_id, connection.customer_id, pk),
                    }
                ),
            }
        }

    def _pointer(self, pk: str, sk: str) -> ConnectionAddress | None:
        item = self._get(pk, sk)
        return _address(item) if item else None

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = dynamodb_client().get_item(
            TableName=self.table_name, Key=to_item({"PK": pk, "SK": sk}), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None


def _address(item: dict[str, Any]) -> ConnectionAddress:
    return ConnectionAddress(item["firm_id"], item["customer_id"], item["connection_id"])


def _values(connection: Connection) -> dict[str, Any]:
    active = connection.status in IMPORTABLE
    reminder = connection.expires_at if connection.awaits_expiry_reminder else None
    shard = zlib.crc32(connection.connection_id.encode()) % keys.ACTIVE_CONNECTION_SHARDS
    return {
        "PK": keys.customer_collection_pk(connection.firm_id, connection.customer_id),
        "SK": keys.connection_sk(connection.connection_id),
        "type": "connection",
        "firm_id": connection.firm_id,
        "customer_id": connection.customer_id,
        "connection_id": connection.connection_id,
        "user_id": connection.user_id,
        "provider": connection.provider,
        "institution_id": connection.institution_id,
        "institution_name": connection.institution_name,
        "status": connection.status.value,
        "created_at": connection.created_at.isoformat(),
        "consent_handle": connection.consent_handle,
        **_credential_values(connection.credential),
        "item_id": connection.item_id,
        "reference_hash": connection.reference_hash,
        "linked_at": _iso(connection.linked_at),
        "expires_at_iso": _iso(connection.expires_at),  # not `expires_at`: that name is the table's TTL
        "status_changed_at": _iso(connection.status_changed_at),
        "last_error": connection.last_error,
        "last_import_at": _iso(connection.last_import_at),
        "last_import_outcome": connection.last_import_outcome,
        "rate_limited_until": _iso(connection.rate_limited_until),
        "expiry_reminded_for": _iso(connection.expiry_reminded_for),
        "import_requested_at": _iso(connection.import_requested_at),
        "consent_ended_at": _iso(connection.consent_ended_at),
        "version": connection.version,
        # #65, sparse: only while a reminder of this expiry is still to be sent
        "GSI1PK": keys.consent_expiry_gsi1pk(_utc_day(reminder)) if reminder else None,
        "GSI1SK": keys.consent_expiry_gsi1sk(
            _utc_iso(reminder), connection.firm_id, connection.customer_id, connection.connection_id
        )
        if reminder
        else None,
        "GSI2PK": keys.active_connections_gsi2pk(shard) if active else None,
        "GSI2SK": keys.active_connection_gsi2sk(
            connection.firm_id, connection.customer_id, connection.connection_id
        )
        if active
        else None,
    }


def _connection(item: dict[str, Any]) -> Connection:
    return Connection(
        firm_id=item["firm_id"],
        customer_id=item["customer_id"],
        connection_id=item["connection_id"],
        user_id=item["user_id"],
        provider=item["provider"],
        institution_id=item["institution_id"],
        institution_name=item["institution_name"],
        status=ConnectionStatus(item["status"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        consent_handle=item.get("consent_handle"),
        credential=_credential(item),
        item_id=item.get("item_id"),
        reference_hash=item.get("reference_hash"),
        linked_at=_dt(item.get("linked_at")),
        expires_at=_dt(item.get("expires_at_iso")),
        status_changed_at=_dt(item.get("status_changed_at")),
        last_error=item.get("last_error"),
        last_import_at=_dt(item.get("last_import_at")),
        rate_limited_until=_dt(item.get("rate_limited_until")),
        last_import_outcome=item.get("last_import_outcome"),
        expiry_reminded_for=_dt(item.get("expiry_reminded_for")),
        import_requested_at=_dt(item.get("import_requested_at")),
        consent_ended_at=_dt(item.get("consent_ended_at")),
        version=int(item["version"]),
    )


def _credential_values(credential: str | SealedCredential | None) -> dict[str, str | None]:
    if isinstance(credential, str):  # `save` sealed it: only a sealed credential is stored
        raise TypeError("a clear credential is never stored")
    return {
        "credential_scheme": credential.scheme if credential else None,
        "credential_sealed": credential.ciphertext if credential else None,
    }


def _credential(item: dict[str, Any]) -> str | SealedCredential | None:
    if "credential_sealed" in item:
        return SealedCredential(item["credential_scheme"], item["credential_sealed"])
    legacy: str | None = item.get("credential")  # written before sealing: sealed by its next save
    return legacy


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _utc_iso(moment: datetime) -> str:
    """An instant as sortable text: UTC, so that key order is time order."""
    return moment.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
