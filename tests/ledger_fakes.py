"""In-memory ports of the firm's chart of accounts (issue 16 item 7), beside tests/fakes.py and with
the table's semantics: one account per firm and case-insensitive code, changes under the version
read, a delete refused once the account was used, and the rule or link transaction that marks an
account used failing when it was archived or deleted meanwhile."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from shared.domain.assignment import AssignmentRule
from shared.domain.errors import Conflict, LedgerAccountChanged, NotFound
from shared.domain.ledger import LedgerAccount, code_key
from shared.ports.storage import TransactItem
from tests.fakes import absent, delete_item, put_item, transact_write

LedgerKey = tuple[str, str]  # firm, code_key


@dataclass(frozen=True)
class AtVersion:
    """`version = :version` (and, for a delete, `used = false`)."""

    version: int
    unused: bool = False

    def __call__(self, stored: Any) -> bool:
        return stored is not None and stored.version == self.version and not (self.unused and stored.used)


def live(stored: Any) -> bool:
    """`attribute_exists(PK) AND archived = false`."""
    return stored is not None and not stored.archived


@dataclass
class FakeLedger:
    """LedgerStore."""

    accounts: dict[LedgerKey, LedgerAccount] = field(default_factory=dict)

    def list_accounts(self, firm_id: str) -> list[LedgerAccount]:
        return [a for (f, _), a in sorted(self.accounts.items()) if f == firm_id]

    def get_account(self, firm_id: str, code: str) -> LedgerAccount | None:
        return self.accounts.get((firm_id, code_key(code)))

    def create_account(self, account: LedgerAccount, *extra: TransactItem) -> LedgerAccount:
        created = replace(account, version=1, used=False)
        if self.get_account(account.firm_id, account.code) is not None:
            raise Conflict("The chart of accounts already has that code.", code="ledger_account_exists")
        transact_write([put_item(self.accounts, _key(account), created, absent), *extra])
        return created

    def save_account(
        self, account: LedgerAccount, previous: LedgerAccount, *extra: TransactItem
    ) -> LedgerAccount:
        stored = self.get_account(account.firm_id, account.code)
        saved = replace(account, version=previous.version + 1, used=stored.used if stored else account.used)
        put = put_item(self.accounts, _key(account), saved, AtVersion(previous.version))
        transact_write([put, *extra], canceled=LedgerAccountChanged)
        return saved

    def delete_account(self, account: LedgerAccount, *extra: TransactItem) -> None:
        delete = delete_item(self.accounts, _key(account), AtVersion(account.version, unused=True))
        transact_write([delete, *extra], canceled=LedgerAccountChanged)

    def use_op(self, account: LedgerAccount) -> TransactItem:
        stored = self.get_account(account.firm_id, account.code) or account
        return put_item(self.accounts, _key(account), replace(stored, used=True), live)


@dataclass
class FakeRules:
    """The rules part of AssignmentStore: a rule is put in one transaction with `extra`."""

    stored: dict[tuple[str, str], AssignmentRule] = field(default_factory=dict)

    def rules(self, firm_id: str) -> list[AssignmentRule]:
        found = [r for (f, _), r in self.stored.items() if f == firm_id]
        return sorted(found, key=lambda r: (r.position, r.rule_id))

    def put_rule(self, rule: AssignmentRule, *extra: TransactItem, must_exist: bool) -> None:
        key = (rule.firm_id, rule.rule_id)
        if must_exist and key not in self.stored:
            raise NotFound()
        transact_write([put_item(self.stored, key, rule), *extra], canceled=LedgerAccountChanged)


def _key(account: LedgerAccount) -> LedgerKey:
    return account.firm_id, code_key(account.code)
