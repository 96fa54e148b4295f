"""Client files' contents: members, advisers, patrimony, donations and documents, in the
customer's item collection (keys.py #26-#27). The grants kept in that same collection are
grants_repository.py's; the whole file is still read in one Query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.adapters.dynamodb import keys
from shared.adapters.dynamodb.client import query_prefix, to_item, transact_or_raise
from shared.adapters.dynamodb.grants_repository import (
    grant_from_item,
    grant_key,
    read_item,
    transact_file_items,
)
from shared.domain.errors import NotFound
from shared.domain.files import (
    AdviserType,
    DocumentKind,
    Donation,
    ExternalAdviser,
    FamilyMember,
    FileDocument,
    PatrimonyItem,
    PatrimonyKind,
    Relation,
    Subject,
)
from shared.ports.files import Entry, FileContents
from shared.ports.storage import TransactItem


@dataclass
class FilesRepository:
    table_name: str

    # reads -------------------------------------------------------------------------------
    def contents(self, firm_id: str, file_id: str) -> FileContents:
        """The whole file in one Query (paginated), oldest first within each section."""
        contents = FileContents()
        pk = keys.customer_collection_pk(firm_id, file_id)
        for item in query_prefix(self.table_name, pk, keys.FILE_PREFIX, consistent=True):
            kind = item["type"]
            if kind == "file_member":
                contents.members.append(_member(item))
            elif kind == "file_adviser":
                contents.advisers.append(_adviser(item))
            elif kind == "file_patrimony":
                contents.patrimony.append(_patrimony(item))
            elif kind == "file_donation":
                contents.donations.append(_donation(item))
            elif kind == "file_document":
                contents.documents.append(_document(item))
            elif kind == "file_grant":
                contents.grants.append(grant_from_item(item))
        return contents

    def get_member(self, firm_id: str, file_id: str, member_id: str) -> FamilyMember | None:
        item = self._get(firm_id, file_id, keys.file_member_sk(member_id))
        return _member(item) if item else None

    def get_adviser(self, firm_id: str, file_id: str, adviser_id: str) -> ExternalAdviser | None:
        item = self._get(firm_id, file_id, keys.file_adviser_sk(adviser_id))
        return _adviser(item) if item else None

    def get_patrimony_item(self, firm_id: str, file_id: str, item_id: str) -> PatrimonyItem | None:
        item = self._get(firm_id, file_id, keys.file_patrimony_sk(item_id))
        return _patrimony(item) if item else None

    def get_donation(self, firm_id: str, file_id: str, donation_id: str) -> Donation | None:
        item = self._get(firm_id, file_id, keys.file_donation_sk(donation_id))
        return _donation(item) if item else None

    # section entries ---------------------------------------------------------------------
    def put_entry(
        self, entry: Entry, *extra: TransactItem, new: bool, grant_absent: Subject | None = None
    ) -> None:
        """Create (`new`) or replace an entry that must still exist, with `extra` (its audit event), in
        one transaction; with `grant_absent`, only while that subject has no grant."""
        put: TransactItem = {
            "TableName": self.table_name,
            "Item": to_item(_entry_values(entry)),
            "ConditionExpression": "attribute_not_exists(PK)" if new else "attribute_exists(PK)",
        }
        self._write({"Put": put}, entry, grant_absent, extra)

    def delete_entry(self, entry: Entry, *extra: TransactItem, grant_absent: Subject | None = None) -> None:
        values = _entry_values(entry)
        delete: TransactItem = {
            "TableName": self.table_name,
            "Key": to_item({"PK": values["PK"], "SK": values["SK"]}),
            "ConditionExpression": "attribute_exists(PK)",
        }
        self._write({"Delete": delete}, entry, grant_absent, extra)

    # helpers -----------------------------------------------------------------------------
    def _write(
        self,
        operation: TransactItem,
        entry: Entry,
        grant_absent: Subject | None,
        extra: tuple[TransactItem, ...],
    ) -> None:
        """One transaction: the entry's write (NotFound when it was removed meanwhile: a new id never
        collides), its extra writes, and the check that the subject has no grant."""
        items = [operation, *extra]
        if grant_absent is not None:
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": self.table_name,
                        "Key": to_item(grant_key(entry.firm_id, entry.file_id, grant_absent)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
            transact_file_items(items)
            return
        transact_or_raise(items, NotFound)

    def _get(self, firm_id: str, file_id: str, sk: str) -> dict[str, Any] | None:
        return read_item(self.table_name, keys.customer_collection_pk(firm_id, file_id), sk)


# (de)serialisation ---------------------------------------------------------------------------
def _base(entry: Entry, sk: str, kind: str) -> dict[str, Any]:
    return {
        "PK": keys.customer_collection_pk(entry.firm_id, entry.file_id),
        "SK": sk,
        "type": kind,
        "firm_id": entry.firm_id,
        "file_id": entry.file_id,
    }


def _entry_values(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, FamilyMember):
        return _base(entry, keys.file_member_sk(entry.member_id), "file_member") | {
            "member_id": entry.member_id,
            "name": entry.name,
            "relation": entry.relation.value,
            "birth_date": entry.birth_date.isoformat() if entry.birth_date else None,
            "updated_by": entry.updated_by,
            "updated_at": entry.updated_at.isoformat(),
        }
    if isinstance(entry, ExternalAdviser):
        return _base(entry, keys.file_adviser_sk(entry.adviser_id), "file_adviser") | {
            "adviser_id": entry.adviser_id,
            "name": entry.name,
            "email": entry.email,
            "phone": entry.phone,
            "adviser_type": entry.adviser_type.value,
            "registered_by": entry.registered_by,
            "registered_at": entry.registered_at.isoformat(),
        }
    if isinstance(entry, PatrimonyItem):
        return _base(entry, keys.file_patrimony_sk(entry.item_id), "file_patrimony") | {
            "item_id": entry.item_id,
            "kind": entry.kind.value,
            "label": entry.label,
            "value": str(entry.value),  # exact decimal text, never a float
            "currency": entry.currency,
            "updated_by": entry.updated_by,
            "updated_at": entry.updated_at.isoformat(),
        }
    if isinstance(entry, Donation):
        return _base(entry, keys.file_donation_sk(entry.donation_id), "file_donation") | {
            "donation_id": entry.donation_id,
            "donor": entry.donor,
            "beneficiary": entry.beneficiary,
            "donated_on": entry.donated_on.isoformat(),
            "value": str(entry.value),
            "currency": entry.currency,
            "description": entry.description,
            "updated_by": entry.updated_by,
            "updated_at": entry.updated_at.isoformat(),
        }
    return _base(entry, keys.file_document_sk(entry.document_id), "file_document") | {
        "document_id": entry.document_id,
        "kind": entry.kind.value,
        "title": entry.title,
        "content": entry.content,
        "created_by": entry.created_by,
        "created_at": entry.created_at.isoformat(),
    }


def _member(item: dict[str, Any]) -> FamilyMember:
    return FamilyMember(
        firm_id=item["firm_id"],
        file_id=item["file_id"],
        member_id=item["member_id"],
        name=item["name"],
        relation=Relation(item["relation"]),
        birth_date=date.fromisoformat(item["birth_date"]) if item.get("birth_date") else None,
        updated_by=item["updated_by"],
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )


def _adviser(item: dict[str, Any]) -> ExternalAdviser:
    return ExternalAdviser(
        firm_id=item["firm_id"],
        file_id=item["file_id"],
        adviser_id=item["adviser_id"],
        name=item["name"],
        email=item["email"],
        phone=item["phone"],
        adviser_type=AdviserType(item["adviser_type"]),
        registered_by=item["registered_by"],
        registered_at=datetime.fromisoformat(item["registered_at"]),
    )


def _patrimony(item: dict[str, Any]) -> PatrimonyItem:
    return PatrimonyItem(
        firm_id=item["firm_id"],
        file_id=item["file_id"],
        item_id=item["item_id"],
        kind=PatrimonyKind(item["kind"]),
        label=item["label"],
        value=Decimal(item["value"]),
        currency=item["currency"],
        updated_by=item["updated_by"],
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )


def _donation(item: dict[str, Any]) -> Donation:
    return Donation(
        firm_id=item["firm_id"],
        file_id=item["file_id"],
        donation_id=item["donation_id"],
        donor=item["donor"],
        beneficiary=item["beneficiary"],
        donated_on=date.fromisoformat(item["donated_on"]),
        value=Decimal(item["value"]),
        currency=item["currency"],
        description=item.get("description"),
        updated_by=item["updated_by"],
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )


def _document(item: dict[str, Any]) -> FileDocument:
    return FileDocument(
        firm_id=item["firm_id"],
        file_id=item["file_id"],
        document_id=item["document_id"],
        kind=DocumentKind(item["kind"]),
        title=item["title"],
        content=item["content"],
        created_by=item["created_by"],
        created_at=datetime.fromisoformat(item["created_at"]),
    )
