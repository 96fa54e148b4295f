"""The audit chain's pure rules (shared/domain/audit_chain.py): the canonical serialisation and the
walk of one lane that `tools.audit verify` reports from."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.domain.audit import AuditKind, kind_of
from shared.domain.audit_chain import GENESIS, Anchor, canonical, link_hash, verify_lane


def chain(length: int) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    for position in range(length):
        fields = {
            "firm_id": "f1",
            "lane": 0,
            "position": position,
            "event_id": f"01J{position:023d}",
            "actor_id": "u1",
            "action": "read.transactions",
            "details": {"rows": position},
            "prev_hash": links[-1]["hash"] if links else GENESIS,
        }
        links.append(fields | {"hash": link_hash(fields)})
    return links


def kinds(breaks: list[Any]) -> list[tuple[int | None, str]]:
    return [(b.position, b.kind) for b in breaks]


def test_numbers_hash_alike_as_written_and_as_read_back_but_not_as_text():
    written = {"details": {"rows": 3, "amount": Decimal("1.50"), "ok": True}}
    read_back = {"details": {"rows": Decimal("3"), "amount": Decimal("1.5"), "ok": True}}
    assert canonical(written) == canonical(read_back)
    assert link_hash(written) != link_hash({"details": {"rows": "3", "amount": Decimal("1.5"), "ok": True}})
    assert link_hash({"details": {"ok": True}}) != link_hash({"details": {"ok": 1}})


def test_an_intact_chain_has_no_break_and_its_tip_anchors_it():
    links = chain(4)
    assert verify_lane(0, links, Anchor(0, 3, links[3]["hash"])) == []


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda c: c[1:], [(1, "removed")]),
        (lambda c: c[:1] + c[3:], [(3, "removed")]),
        (lambda c: [c[0], c[2], c[1], c[3]], [(2, "removed"), (1, "out_of_chain"), (3, "out_of_chain")]),
        (lambda c: [c[0], c[1] | {"actor_id": "u2"}, *c[2:]], [(1, "altered")]),
        (lambda c: [*c, c[1] | {"position": 4}], [(4, "altered"), (4, "out_of_chain")]),
    ],
    ids=["first removed", "middle removed", "reordered", "altered", "replayed at the tail"],
)
def test_each_tampering_is_reported_at_its_position(tamper, expected):
    assert kinds(verify_lane(0, tamper(chain(4)))) == expected


def test_the_newest_events_removed_are_seen_only_against_an_anchor():
    links = chain(4)
    anchor = Anchor.parse(str(Anchor(0, 3, links[3]["hash"])))
    assert verify_lane(0, links[:3]) == []  # a shorter chain is a valid chain
    assert kinds(verify_lane(0, links[:3], anchor)) == [(3, "truncated")]


def test_an_actions_kind_is_its_family_and_every_kind_is_one():
    assert kind_of("access.invitation_resent") == AuditKind.ACCESS == "access"
    assert kind_of("ledger_account.created") == AuditKind.LEDGER_ACCOUNT
    assert all(kind_of(f"{kind.value}.anything") == kind for kind in AuditKind)
