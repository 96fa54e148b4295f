"""The firm's chart of accounts on in-memory ports (tests/ledger_fakes.py): who keeps it, how codes
are told apart, archive versus delete, and how rules pick from it (issue 16 item 7, seed 003)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.assignment import AssignmentRule
from shared.domain.identity import Principal, StaffContext, StaffRole
from shared.domain.ledger import LedgerKind
from shared.services import assignment, ledger
from shared.services.ledger import LedgerChange, LedgerPorts
from tests.fakes import FakeAudit, FakeClock, put_item, refused
from tests.ledger_fakes import FakeLedger, FakeRules

pytestmark = pytest.mark.fakes

FIRM, OTHER_FIRM = "01JFIRMLEDGER00000000000000", "01JOTHERFIRM000000000000000"
ADMIN = StaffContext(Principal("ann", "ann@firm.example"), FIRM, StaffRole.ADMIN)
ADVISER = StaffContext(Principal("ada", "ada@firm.example"), FIRM, StaffRole.ADVISER)
OTHER_ADMIN = StaffContext(Principal("olga", "olga@other.example"), OTHER_FIRM, StaffRole.ADMIN)
UNKNOWN, ARCHIVED, IN_USE = (
    (400, "unknown_ledger_account"),
    (400, "ledger_account_archived"),
    (409, "ledger_account_in_use"),
)


@dataclass
class World:
    clock: FakeClock = field(default_factory=lambda: FakeClock(datetime(2026, 6, 17, 9, 30, tzinfo=UTC)))
    accounts: FakeLedger = field(default_factory=FakeLedger)
    rules: FakeRules = field(default_factory=FakeRules)
    audit: FakeAudit = field(default_factory=FakeAudit)

    @property
    def ports(self) -> LedgerPorts:
        return LedgerPorts(self.accounts, self.rules, self.audit, clock=self.clock)  # type: ignore[arg-type]

    def create(self, code: str, kind: LedgerKind = LedgerKind.EXPENSE, by: StaffContext = ADMIN) -> Any:
        return ledger.create_ledger_account(self.ports, by, code, f"Account {code}", kind)

    def rule(self, code: str | None, by: StaffContext = ADMIN, rule_id: str | None = None) -> AssignmentRule:
        proposed = AssignmentRule("", "", "Rent", 1, text_contains="rent", ledger_account=code, category="x")
        return assignment.save_rule(self.rules, self.accounts, self.audit, by, proposed, rule_id=rule_id)  # type: ignore[arg-type]

    def listed(self, by: StaffContext = ADMIN, archived: bool = False) -> list[str]:
        return [a.code for a in ledger.list_ledger_accounts(self.accounts, by, include_archived=archived)]


@pytest.fixture
def world() -> World:
    return World()


def test_admins_keep_the_chart_and_every_staff_member_reads_it(world):
    world.create("6132-Rent")
    world.create("512100", LedgerKind.BANK)
    assert world.listed(ADVISER) == world.listed(ADMIN) == ["512100", "6132-Rent"]
    assert refused(lambda: world.create("7000", by=ADVISER)) == (403, "forbidden")
    change = LedgerChange(name="Renamed")
    assert refused(lambda: ledger.update_ledger_account(world.ports, ADVISER, "512100", change)) == (
        403,
        "forbidden",
    )
    assert refused(lambda: ledger.delete_ledger_account(world.ports, ADVISER, "512100")) == (403, "forbidden")
    assert [(e.action, e.target_id) for e in world.audit.log()] == [
        ("ledger_account.created", "6132-Rent"),
        ("ledger_account.created", "512100"),
    ]


def test_a_code_is_one_account_whatever_its_case(world):
    world.create("Bank-A", LedgerKind.BANK)
    assert refused(lambda: world.create("BANK-a")) == (409, "ledger_account_exists")
    assert world.rule("bank-a").ledger_account == "Bank-A"  # the chart's spelling is stored


def test_another_firm_has_its_own_chart(world):
    world.create("4000")
    assert world.listed(OTHER_ADMIN) == []
    assert refused(lambda: world.rule("4000", by=OTHER_ADMIN)) == UNKNOWN  # like a code nobody has
    rename = LedgerChange(name="Mine now")
    assert refused(lambda: ledger.update_ledger_account(world.ports, OTHER_ADMIN, "4000", rename)) == (
        404,
        "not_found",
    )
    assert refused(lambda: ledger.delete_ledger_account(world.ports, OTHER_ADMIN, "4000")) == (
        404,
        "not_found",
    )
    world.create("4000", by=OTHER_ADMIN)  # the same code, another firm's account
    assert world.listed(OTHER_ADMIN) == world.listed(ADMIN) == ["4000"]


def test_rules_pick_a_live_account_of_the_chart(world):
    assert refused(lambda: world.rule("9999")) == UNKNOWN
    world.create("9999")
    saved = world.rule("9999")
    assert world.accounts.get_account(FIRM, "9999").used
    ledger.update_ledger_account(world.ports, ADMIN, "9999", LedgerChange(archived=True))
    assert refused(lambda: world.rule("9999")) == ARCHIVED
    assert refused(lambda: world.rule("9999", rule_id=saved.rule_id)) == ARCHIVED
    assert world.rule(None).category == "x"  # a category alone needs no account
    assert [r.ledger_account for r in world.rules.rules(FIRM)] == ["9999", None]


def test_an_account_archived_between_the_check_and_the_write_fails_the_rule(world):
    world.create("7100")
    picked = world.accounts.get_account(FIRM, "7100")
    ledger.update_ledger_account(world.ports, ADMIN, "7100", LedgerChange(archived=True))
    rule = AssignmentRule("r1", FIRM, "Late", 1, ledger_account="7100")
    late = world.accounts.use_op(picked)
    assert refused(lambda: world.rules.put_rule(rule, late, must_exist=False)) == (409, "concurrent_update")
    assert world.rules.rules(FIRM) == []  # all or nothing


def test_a_used_account_is_archived_not_deleted(world):
    world.create("626000")
    world.create("typo-626")
    world.clock.at += timedelta(seconds=1)  # the events' ids sort by time: one step a second
    ledger.delete_ledger_account(world.ports, ADMIN, "TYPO-626")  # never used: gone
    assert world.listed(archived=True) == ["626000"]
    world.rule("626000")
    assert refused(lambda: ledger.delete_ledger_account(world.ports, ADMIN, "626000")) == IN_USE
    world.clock.at += timedelta(seconds=1)
    archived = ledger.update_ledger_account(world.ports, ADMIN, "626000", LedgerChange(archived=True))
    assert archived.archived and archived.used
    assert world.listed() == [] and world.listed(archived=True) == ["626000"]
    world.clock.at += timedelta(seconds=1)
    restored = ledger.update_ledger_account(world.ports, ADMIN, "626000", LedgerChange(archived=False))
    assert not restored.archived
    assert [e.action for e in world.audit.log() if e.action.startswith("ledger_account.")][-3:] == [
        "ledger_account.deleted",
        "ledger_account.archived",
        "ledger_account.restored",
    ]


def test_a_rule_written_before_the_chart_keeps_its_account_from_being_deleted(world):
    world.rules.stored[(FIRM, "old")] = AssignmentRule("old", FIRM, "Old", 1, ledger_account="613200")
    world.create("613200")  # the chart adopts the old rule's free-text code
    assert refused(lambda: ledger.delete_ledger_account(world.ports, ADMIN, "613200")) == IN_USE


def test_name_and_kind_change_under_the_version_read(world):
    world.create("1200", LedgerKind.ASSET)
    read = world.accounts.get_account(FIRM, "1200")
    changed = ledger.update_ledger_account(
        world.ports, ADMIN, "1200", LedgerChange(name="Client account", kind=LedgerKind.BANK)
    )
    assert (changed.name, changed.kind, changed.version) == ("Client account", LedgerKind.BANK, 2)
    stale = replace(read, name="Lost update")
    assert refused(lambda: world.accounts.save_account(stale, read)) == (409, "concurrent_update")
    assert refused(lambda: world.accounts.delete_account(read)) == (409, "concurrent_update")
    same = ledger.update_ledger_account(world.ports, ADMIN, "1200", LedgerChange(name="Client account"))
    assert same.version == 2  # nothing changed: nothing written, nothing audited
    assert [e.action for e in world.audit.log()] == ["ledger_account.created", "ledger_account.updated"]


class RefusingAudit(FakeAudit):
    """An audit log whose every write fails (its item's condition does not hold)."""

    def put_op(self, event: Any) -> Any:
        return put_item({}, "event", event, lambda stored: False)


def test_a_change_whose_audit_event_cannot_be_written_is_not_made(world):
    """The change and its audit event are one transaction (R-ROLE-3): no unaudited change."""
    world.create("6132-Rent")
    world.audit = RefusingAudit()
    for change in (
        lambda: world.create("7000"),
        lambda: ledger.update_ledger_account(world.ports, ADMIN, "6132-Rent", LedgerChange(name="Renamed")),
        lambda: ledger.delete_ledger_account(world.ports, ADMIN, "6132-Rent"),
    ):
        with pytest.raises(Exception):  # noqa: B017 # whatever the table answers
            change()
    assert [(a.code, a.name, a.version) for a in world.accounts.list_accounts(ADMIN.firm_id)] == [
        ("6132-Rent", "Account 6132-Rent", 1)
    ]
