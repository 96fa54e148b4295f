"""The sections of a client file: family structure, patrimony, donations, simulations and reports.

Each use case opens the file for one action of the policy (shared/domain/file_access.py), so
a read_only grantee, an external adviser or a stranger is refused by the table, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from shared.domain.audit import AuditEvent, ReadOf
from shared.domain.errors import Conflict, NotFound
from shared.domain.file_access import FileAction
from shared.domain.files import (
    DocumentKind,
    Donation,
    FamilyMember,
    FileDocument,
    PatrimonyItem,
    PatrimonyKind,
    Relation,
    Subject,
    SubjectType,
)
from shared.ports.files import Entry, FileContents
from shared.ports.storage import TransactItem
from shared.services.audit import record_read
from shared.services.file_access import (
    FileAccessPorts,
    FileActor,
    FileScope,
    member_in_file,
    new_id,
    open_file,
)

_DOCUMENT_ACTIONS = {
    DocumentKind.SIMULATION: FileAction.CREATE_SIMULATION,
    DocumentKind.REPORT: FileAction.CREATE_REPORT,
}


@dataclass(frozen=True)
class FileView:
    scope: FileScope
    contents: FileContents


def view_file(ports: FileAccessPorts, actor: FileActor, file_id: str) -> FileView:
    """The file's contents. Every reader but the file's own customer (staff, family members, external
    advisers) is audited, one `read.file` event with the entries shown per section (R-PRIV-4)."""
    scope, ports = open_file(ports, actor, file_id, FileAction.VIEW_FILE)
    contents = ports.files.contents(scope.firm_id, scope.file_id)
    if scope.actor_id != scope.customer.user_id:
        shown = {
            "members": len(contents.members),
            "patrimony": len(contents.patrimony),
            "donations": len(contents.donations),
            "documents": len(contents.documents),
        }
        record_read(
            ports.audit,
            (scope.firm_id, scope.actor_id),
            ports.clock(),
            ReadOf.FILE,
            ("file", scope.file_id),
            scope.file_id,
            rows=sum(shown.values()),
            scope={"caller": scope.kind.value, **shown},
        )
    return FileView(scope, contents)


# family structure ----------------------------------------------------------------------------
def add_member(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    *,
    name: str,
    relation: Relation,
    birth_date: date | None,
) -> FamilyMember:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_FAMILY)
    now = ports.clock()
    member = FamilyMember(
        firm_id=scope.firm_id,
        file_id=scope.file_id,
        member_id=new_id(now),
        name=name.strip(),
        relation=relation,
        birth_date=birth_date,
        updated_by=scope.actor_id,
        updated_at=now,
    )
    ports.files.put_entry(member, _audited(ports, scope, "added", member), new=True)
    return member


def update_member(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    member_id: str,
    *,
    name: str,
    relation: Relation,
    birth_date: date | None,
) -> FamilyMember:
    """A member who was granted access keeps their relation: otherwise a co-holder could be
    edited into a child and revoked, around R-ACC-4 (checked again in the write's transaction)."""
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_FAMILY)
    current = member_in_file(ports, scope, member_id)
    updated = replace(
        current,
        name=name.strip(),
        relation=relation,
        birth_date=birth_date,
        updated_by=scope.actor_id,
        updated_at=ports.clock(),
    )
    guard = None
    if relation is not current.relation:
        guard = Subject(SubjectType.MEMBER, member_id)
        if ports.grants.get_grant(scope.firm_id, scope.file_id, guard) is not None:
            raise Conflict("A member who was granted access keeps their relation.", code="member_has_access")
    ports.files.put_entry(updated, _audited(ports, scope, "changed", updated), new=False, grant_absent=guard)
    return updated


def remove_member(ports: FileAccessPorts, actor: FileActor, file_id: str, member_id: str) -> None:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_FAMILY)
    member = member_in_file(ports, scope, member_id)
    subject = Subject(SubjectType.MEMBER, member_id)
    if ports.grants.get_grant(scope.firm_id, scope.file_id, subject) is not None:
        raise Conflict(
            "Revoke this member's access before removing them (a holder's or co-holder's is permanent).",
            code="member_has_access",
        )
    ports.files.delete_entry(member, _audited(ports, scope, "removed", member), grant_absent=subject)


# patrimony inventory -------------------------------------------------------------------------
def add_patrimony_item(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    *,
    kind: PatrimonyKind,
    label: str,
    value: Decimal,
    currency: str,
) -> PatrimonyItem:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_PATRIMONY)
    now = ports.clock()
    item = PatrimonyItem(
        firm_id=scope.firm_id,
        file_id=scope.file_id,
        item_id=new_id(now),
        kind=kind,
        label=label.strip(),
        value=value,
        currency=currency,
        updated_by=scope.actor_id,
        updated_at=now,
    )
    ports.files.put_entry(item, _audited(ports, scope, "added", item), new=True)
    return item


def update_patrimony_item(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    item_id: str,
    *,
    kind: PatrimonyKind,
    label: str,
    value: Decimal,
    currency: str,
) -> PatrimonyItem:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_PATRIMONY)
    current = _patrimony_item(ports, scope, item_id)
    updated = replace(
        current,
        kind=kind,
        label=label.strip(),
        value=value,
        currency=currency,
        updated_by=scope.actor_id,
        updated_at=ports.clock(),
    )
    ports.files.put_entry(updated, _audited(ports, scope, "changed", updated), new=False)
    return updated


def remove_patrimony_item(ports: FileAccessPorts, actor: FileActor, file_id: str, item_id: str) -> None:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_PATRIMONY)
    item = _patrimony_item(ports, scope, item_id)
    ports.files.delete_entry(item, _audited(ports, scope, "removed", item))


# donations inventory -------------------------------------------------------------------------
def add_donation(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    *,
    donor: str,
    beneficiary: str,
    donated_on: date,
    value: Decimal,
    currency: str,
    description: str | None,
) -> Donation:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_DONATIONS)
    now = ports.clock()
    donation = Donation(
        firm_id=scope.firm_id,
        file_id=scope.file_id,
        donation_id=new_id(now),
        donor=donor.strip(),
        beneficiary=beneficiary.strip(),
        donated_on=donated_on,
        value=value,
        currency=currency,
        description=description,
        updated_by=scope.actor_id,
        updated_at=now,
    )
    ports.files.put_entry(donation, _audited(ports, scope, "added", donation), new=True)
    return donation


def update_donation(
    ports: FileAccessPorts,
    actor: FileActor,
    file_id: str,
    donation_id: str,
    *,
    donor: str,
    beneficiary: str,
    donated_on: date,
    value: Decimal,
    currency: str,
    description: str | None,
) -> Donation:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_DONATIONS)
    current = _donation(ports, scope, donation_id)
    updated = replace(
        current,
        donor=donor.strip(),
        beneficiary=beneficiary.strip(),
        donated_on=donated_on,
        value=value,
        currency=currency,
        description=description,
        updated_by=scope.actor_id,
        updated_at=ports.clock(),
    )
    ports.files.put_entry(updated, _audited(ports, scope, "changed", updated), new=False)
    return updated


def remove_donation(ports: FileAccessPorts, actor: FileActor, file_id: str, donation_id: str) -> None:
    scope, ports = open_file(ports, actor, file_id, FileAction.EDIT_DONATIONS)
    donation = _donation(ports, scope, donation_id)
    ports.files.delete_entry(donation, _audited(ports, scope, "removed", donation))


# simulations and reports ---------------------------------------------------------------------
def add_document(
    ports: FileAccessPorts, actor: FileActor, file_id: str, kind: DocumentKind, *, title: str, content: str
) -> FileDocument:
    """Create a simulation or a report: firm staff only (R-ACC-6), as the policy says."""
    scope, ports = open_file(ports, actor, file_id, _DOCUMENT_ACTIONS[kind])
    now = ports.clock()
    document = FileDocument(
        firm_id=scope.firm_id,
        file_id=scope.file_id,
        document_id=new_id(now),
        kind=kind,
        title=title.strip(),
        content=content,
        created_by=scope.actor_id,
        created_at=now,
    )
    ports.files.put_entry(document, _audited(ports, scope, "added", document), new=True)
    return document


# helpers -------------------------------------------------------------------------------------
_ENTRY_TYPES: dict[type, tuple[str, str]] = {  # an entry's kind in the audit log, and its id field
    FamilyMember: ("member", "member_id"),
    PatrimonyItem: ("patrimony_item", "item_id"),
    Donation: ("donation", "donation_id"),
    FileDocument: ("document", "document_id"),
}


def _audited(ports: FileAccessPorts, scope: FileScope, verb: str, entry: Entry) -> TransactItem:
    """The audit event of a change to the file's contents (`file.<kind>_<verb>`, ids only), written in
    the change's own transaction."""
    kind, id_field = _ENTRY_TYPES[type(entry)]
    if isinstance(entry, FileDocument):
        kind = entry.kind.value
    event = AuditEvent(
        firm_id=scope.firm_id,
        actor_id=scope.actor_id,
        action=f"file.{kind}_{verb}",
        target_type=kind,
        target_id=str(getattr(entry, id_field)),
        occurred_at=ports.clock(),
        customer_id=scope.file_id,
    )
    return ports.audit.put_op(event)


def _patrimony_item(ports: FileAccessPorts, scope: FileScope, item_id: str) -> PatrimonyItem:
    item = ports.files.get_patrimony_item(scope.firm_id, scope.file_id, item_id)
    if item is None:
        raise NotFound("This file has no such patrimony item.", code="patrimony_item_not_found")
    return item


def _donation(ports: FileAccessPorts, scope: FileScope, donation_id: str) -> Donation:
    donation = ports.files.get_donation(scope.firm_id, scope.file_id, donation_id)
    if donation is None:
        raise NotFound("This file has no such donation.", code="donation_not_found")
    return donation
