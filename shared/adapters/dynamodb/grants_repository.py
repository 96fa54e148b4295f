"""Grants of access to client files (keys.py #27-#31): each grant in its file's collection, its
invitation token by hash, its person's link to the file, and the grantee index by email.

A grant changes together with the items that make it true: its invitation token, the link
that lets its person find the file, the member or adviser it is for. Each such change is one
TransactWriteItems with an optimistic lock on the grant's `version`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import (
    batch_get,
    dynamodb_client,
    from_item,
    query_prefix,
    to_item,
    write_chained,
)
from shared.adapters.dynamodb.invitation_items import (
    due_items,
    invitation_of,
    invitation_values,
    versioned_put,
)
from shared.domain.customers import email_fingerprint
from shared.domain.errors import FileChanged
from shared.domain.files import AccessLevel, Grant, Subject, SubjectType
from shared.ports.files import FileLink, GrantRef
from shared.ports.storage import TransactItem


@dataclass
class GrantsRepository:
    table_name: str

    # reads -------------------------------------------------------------------------------
    def get_grant(self, firm_id: str, file_id: str, subject: Subject) -> Grant | None:
        item = read_item(self.table_name, keys.customer_collection_pk(firm_id, file_id), _grant_sk(subject))
        return grant_from_item(item) if item else None

    def get_grants(self, refs: Iterable[GrantRef]) -> list[Grant]:
        """The grants that still exist among `refs`, in one BatchGetItem per 100."""
        wanted = list(dict.fromkeys(refs))
        requested = [
            {"PK": keys.customer_collection_pk(ref.firm_id, ref.file_id), "SK": _grant_sk(ref.subject)}
            for ref in wanted
        ]
        return [grant_from_item(item) for item in batch_get(self.table_name, requested, consistent=True)]

    def find_by_token_hash(self, token_hash: str) -> GrantRef | None:
        item = read_item(self.table_name, keys.file_invite_token_pk(token_hash), keys.INVITE)
        return _ref(item) if item else None

    def links_of(self, user_id: str) -> list[FileLink]:
        links: list[FileLink] = []
        for item in query_prefix(
            self.table_name, keys.user_pk(user_id), keys.FILE_ACCESS_PREFIX, consistent=True
        ):
            ref = _ref(item)
            links.append(FileLink(ref.firm_id, ref.file_id, item.get("file_label", ""), ref.subject))
        return links

    def find_account(self, email: str) -> str | None:
        """The identity of the person who signed in with this email to accept a file invitation."""
        item = read_item(self.table_name, keys.account_email_pk(email_fingerprint(email)), keys.ACCOUNT)
        return str(item["user_id"]) if item else None

    def due_for_reminders(self, today: str) -> list[GrantRef]:
        """Grants whose invitation reminder or expiry is due by `today` (missed runs included)."""
        attributes = "firm_id, file_id, subject_type, subject_id"
        return [
            _ref(item) for item in due_items(self.table_name, keys.FILE_INVITATION_DUE, today, attributes)
        ]

    # writes ------------------------------------------------------------------------------
    def save_grant(self, grant: Grant, previous: Grant | None, *extra: TransactItem) -> Grant:
        """Write `grant` (new if `previous` is None, else only if unchanged since read) with `extra`."""
        saved = replace(grant, version=(previous.version + 1) if previous else 1)
        put = versioned_put(self.table_name, _grant_values(saved), previous.version if previous else None)
        self.transact([{"Put": put}, *extra])
        return saved

    def delete_grant_op(self, grant: Grant) -> TransactItem:
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_item(grant_key(grant.firm_id, grant.file_id, grant.subject)),
                "ConditionExpression": "version = :version",
                "ExpressionAttributeValues": {":version": {"N": str(grant.version)}},
            }
        }

    def subject_exists(self, firm_id: str, file_id: str, subject: Subject) -> TransactItem:
        """The member or adviser a grant is for must still be in the file when the grant is written."""
        sk = (
            keys.file_member_sk(subject.subject_id)
            if subject.type is SubjectType.MEMBER
            else keys.file_adviser_sk(subject.subject_id)
        )
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": to_item({"PK": keys.customer_collection_pk(firm_id, file_id), "SK": sk}),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }

    def token_put(self, grant: Grant) -> TransactItem:
        assert grant.invitation is not None
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(
                    {
                        "PK": keys.file_invite_token_pk(grant.invitation.token_hash),
                        "SK": keys.INVITE,
                        "type": "file_invite_token",
                        **_ref_values(grant),
                        **keys.customer_trace(
                            grant.firm_id,
                            grant.file_id,
                            keys.file_invite_token_pk(grant.invitation.token_hash),
                        ),
                        "expires_at": int(grant.invitation.expires_at.timestamp()),  # TTL clean-up
                    }
                ),
            }
        }

    def token_delete(self, token_hash: str, *, must_exist: bool) -> TransactItem:
        """Consume a token (`must_exist`: the whole change fails if it was already used), or
        remove it whether or not it is still there (it may have expired away)."""
        delete: TransactItem = {
            "TableName": self.table_name,
            "Key": to_item({"PK": keys.file_invite_token_pk(token_hash), "SK": keys.INVITE}),
        }
        if must_exist:
            delete["ConditionExpression"] = "attribute_exists(PK)"
        return {"Delete": delete}

    def link_put(self, grant: Grant, file_label: str) -> TransactItem:
        """Let the grant's person find the file; fails if they already have access to it."""
        assert grant.user_id is not None
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(
                    {
                        "PK": keys.user_pk(grant.user_id),
                        "SK": keys.file_access_sk(grant.firm_id, grant.file_id),
                        "type": "file_link",
                        **_ref_values(grant),
                        **keys.customer_trace(grant.firm_id, grant.file_id, keys.user_pk(grant.user_id)),
                        "file_label": file_label,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def link_delete(self, grant: Grant) -> TransactItem:
        assert grant.user_id is not None
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_item(
                    {
                        "PK": keys.user_pk(grant.user_id),
                        "SK": keys.file_access_sk(grant.firm_id, grant.file_id),
                    }
                ),
            }
        }

    def account_put(self, email: str, user_id: str) -> TransactItem:
        """Record which identity signed in with this email (the grantee index, keys.py #31)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(
                    {
                        "PK": keys.account_email_pk(email_fingerprint(email)),
                        "SK": keys.ACCOUNT,
                        "type": "grantee_account",
                        "user_id": user_id,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(PK) OR user_id = :user",
                "ExpressionAttributeValues": {":user": {"S": user_id}},
            }
        }

    def transact(self, items: list[TransactItem]) -> None:
        transact_file_items(items)


# shared with the file's contents (files_repository.py) -------------------------------------------
def read_item(table_name: str, pk: str, sk: str) -> dict[str, Any] | None:
    response = dynamodb_client().get_item(
        TableName=table_name, Key=to_item({"PK": pk, "SK": sk}), ConsistentRead=True
    )
    return from_item(response["Item"]) if "Item" in response else None


def transact_file_items(items: list[TransactItem]) -> None:
    """One TransactWriteItems; a failed condition anywhere in it is `FileChanged`."""
    try:
        write_chained(items)
    except ClientError as error:
        if error.response["Error"]["Code"] == "TransactionCanceledException":
            raise FileChanged() from None
        raise


# (de)serialisation ---------------------------------------------------------------------------
def _grant_sk(subject: Subject) -> str:
    return keys.file_grant_sk(subject.type.value, subject.subject_id)


def grant_key(firm_id: str, file_id: str, subject: Subject) -> dict[str, str]:
    return {"PK": keys.customer_collection_pk(firm_id, file_id), "SK": _grant_sk(subject)}


def _ref_values(grant: Grant) -> dict[str, str]:
    return {
        "firm_id": grant.firm_id,
        "file_id": grant.file_id,
        "subject_type": grant.subject.type.value,
        "subject_id": grant.subject.subject_id,
    }


def _ref(item: dict[str, Any]) -> GrantRef:
    return GrantRef(
        item["firm_id"], item["file_id"], Subject(SubjectType(item["subject_type"]), item["subject_id"])
    )


def _grant_values(grant: Grant) -> dict[str, Any]:
    invitation = grant.invitation
    next_due = invitation.next_due() if invitation else None
    subject = grant.subject
    return {
        **grant_key(grant.firm_id, grant.file_id, subject),
        "type": "file_grant",
        **_ref_values(grant),
        "grantee_name": grant.grantee_name,
        "central": grant.central,
        "email": grant.email,
        "phone": grant.phone,
        "level": grant.level.value,
        "granted_by": grant.granted_by,
        "granted_at": grant.granted_at.isoformat(),
        "user_id": grant.user_id,
        "version": grant.version,
        "invitation": invitation_values(invitation) if invitation else None,
        "GSI2PK": keys.FILE_INVITATION_DUE if next_due else None,
        "GSI2SK": keys.file_due_gsi2sk(
            next_due.isoformat(), grant.firm_id, grant.file_id, subject.type.value, subject.subject_id
        )
        if next_due
        else None,
    }


def grant_from_item(item: dict[str, Any]) -> Grant:
    raw = item.get("invitation")
    invitation = invitation_of(raw) if raw else None
    ref = _ref(item)
    return Grant(
        firm_id=ref.firm_id,
        file_id=ref.file_id,
        subject=ref.subject,
        grantee_name=item["grantee_name"],
        central=bool(item["central"]),
        email=item["email"],
        phone=item["phone"],
        level=AccessLevel(item["level"]),
        granted_by=item["granted_by"],
        granted_at=datetime.fromisoformat(item["granted_at"]),
        user_id=item.get("user_id"),
        invitation=invitation,
        version=int(item["version"]),
    )
