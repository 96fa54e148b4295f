"""Port: Client files: their contents (FileStore) and the grants of access to them (GrantStore).

What services need from storage; `shared/adapters/dynamodb/` implements them, tests may fake them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from shared.domain.files import (
    Donation,
    ExternalAdviser,
    FamilyMember,
    FileDocument,
    Grant,
    PatrimonyItem,
    Subject,
)
from shared.ports.storage import TransactItem

Entry = FamilyMember | ExternalAdviser | PatrimonyItem | Donation | FileDocument


@dataclass(frozen=True)
class GrantRef:
    firm_id: str
    file_id: str
    subject: Subject


@dataclass(frozen=True)
class FileLink:
    """A person's pointer to a file they were granted (one per person and file)."""

    firm_id: str
    file_id: str
    file_label: str
    subject: Subject


@dataclass
class FileContents:
    members: list[FamilyMember] = field(default_factory=list)
    advisers: list[ExternalAdviser] = field(default_factory=list)
    patrimony: list[PatrimonyItem] = field(default_factory=list)
    donations: list[Donation] = field(default_factory=list)
    documents: list[FileDocument] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)

    def grant_for(self, subject: Subject) -> Grant | None:
        return next((grant for grant in self.grants if grant.subject == subject), None)


class FileStore(Protocol):
    """A client file's contents: members, advisers, patrimony, donations, documents."""

    def contents(self, firm_id: str, file_id: str) -> FileContents:
        """The whole file in one Query (paginated), oldest first within each section."""
        ...

    def get_member(self, firm_id: str, file_id: str, member_id: str) -> FamilyMember | None: ...

    def get_adviser(self, firm_id: str, file_id: str, adviser_id: str) -> ExternalAdviser | None: ...

    def get_patrimony_item(self, firm_id: str, file_id: str, item_id: str) -> PatrimonyItem | None: ...

    def get_donation(self, firm_id: str, file_id: str, donation_id: str) -> Donation | None: ...

    def put_entry(
        self, entry: Entry, *extra: TransactItem, new: bool, grant_absent: Subject | None = None
    ) -> None:
        """Create (`new`) or replace an entry that must still exist; with `grant_absent`, only while
        that subject has no grant (checked in the same transaction)."""
        ...

    def delete_entry(self, entry: Entry, *extra: TransactItem, grant_absent: Subject | None = None) -> None:
        """Delete an entry that must still exist, with `extra` (its audit event), in one transaction;
        with `grant_absent`, only while that subject has no grant."""
        ...


class GrantStore(Protocol):
    """Grants of access to client files, with their invitation tokens, the links that let each
    grantee find their files, and the grantee index (keys.py #27-#31)."""

    def get_grant(self, firm_id: str, file_id: str, subject: Subject) -> Grant | None: ...

    def get_grants(self, refs: Iterable[GrantRef]) -> list[Grant]:
        """The grants that still exist among `refs`, in one BatchGetItem per 100."""
        ...

    def find_by_token_hash(self, token_hash: str) -> GrantRef | None: ...

    def links_of(self, user_id: str) -> list[FileLink]: ...

    def find_account(self, email: str) -> str | None:
        """The identity of the person who signed in with this email to accept a file invitation."""
        ...

    def due_for_reminders(self, today: str) -> list[GrantRef]:
        """Grants whose invitation reminder or expiry is due by `today` (missed runs included)."""
        ...

    def save_grant(self, grant: Grant, previous: Grant | None, *extra: TransactItem) -> Grant:
        """Write `grant` (new if `previous` is None, else only if unchanged since read) with
        `extra`."""
        ...

    def delete_grant_op(self, grant: Grant) -> TransactItem: ...

    def subject_exists(self, firm_id: str, file_id: str, subject: Subject) -> TransactItem:
        """The member or adviser a grant is for must still be in the file when the grant is written."""
        ...

    def token_put(self, grant: Grant) -> TransactItem: ...

    def token_delete(self, token_hash: str, *, must_exist: bool) -> TransactItem:
        """Consume a token (`must_exist`: the whole change fails if it was already used), or remove
        it whether or not it is still there (it may have expired away)."""
        ...

    def link_put(self, grant: Grant, file_label: str) -> TransactItem:
        """Let the grant's person find the file; fails if they already have access to it."""
        ...

    def link_delete(self, grant: Grant) -> TransactItem: ...

    def account_put(self, email: str, user_id: str) -> TransactItem:
        """Record which identity signed in with this email (the grantee index, keys.py #31)."""
        ...

    def transact(self, items: list[TransactItem]) -> None: ...
