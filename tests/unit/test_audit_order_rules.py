"""Issue 17 item 3 on the in-memory fakes: a connection's import mark and its audit event are one
transaction, written before the import is queued; a failing audit write cancels the mark; a send
that fails undoes the mark with its own event and answers 503 (R-ROLE-3, R-PRIV-4)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain.audit import AuditEvent
from shared.domain.connections import ConnectionStatus
from shared.domain.errors import QueueSendFailed, StaleConnection
from shared.ports.connections import ConnectionAddress
from shared.ports.storage import TransactItem
from shared.services import connections
from shared.services.connections import ImportState
from tests.fakes import ConnectionFakes, FakeAudit, FakeClock, FakeQueue
from tests.unit.test_abuse_limit_rules import (
    CUSTOMER,
    CUSTOMER_PERSON,
    FIRM,
    STAFF,
    connection_world,
)

pytestmark = pytest.mark.fakes

NOW = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)


@dataclass
class AuditFailingOnce(FakeAudit):
    """The audit log refuses its next write (its put's condition fails), then works again."""

    failures: int = 1

    def put_op(self, event: AuditEvent) -> TransactItem:
        put = super().put_op(event)
        if self.failures:
            self.failures -= 1
            put["Put"]["ConditionExpression"] = lambda _stored: False
        return put


@dataclass
class WitnessQueue(FakeQueue):
    """A queue that notes, at each send, what the log and the marks already hold."""

    fakes: Any = None
    seen: list[tuple[list[str], list[bool]]] | None = None

    def send(self, bodies: Any, delay_seconds: int = 0) -> None:
        marks = [
            c.import_requested_at is not None
            for c in sorted(self.fakes.connections.rows.values(), key=lambda c: c.connection_id)
        ]
        (self.seen if self.seen is not None else []).append(([a for a, _ in self.fakes.audit.trail()], marks))
        super().send(bodies, delay_seconds)


def two_connections() -> tuple[ConnectionFakes, FakeClock]:
    fakes, clock, linked = connection_world(NOW)
    fakes.connections.rows[ConnectionAddress(FIRM, CUSTOMER, "conn-2")] = replace(
        linked, connection_id="conn-2"
    )
    return fakes, clock


def marks(fakes: ConnectionFakes) -> list[datetime | None]:
    return [
        c.import_requested_at for c in sorted(fakes.connections.rows.values(), key=lambda c: c.connection_id)
    ]


def test_import_now_writes_the_marks_with_one_event_in_one_transaction_then_queues():
    fakes, clock = two_connections()
    fakes.imports = WitnessQueue(fakes=fakes, seen=[])
    saves = fakes.connections.saves
    done = connections.import_now(fakes.ports(clock), STAFF, CUSTOMER)
    assert (done.queued, done.already_queued) == (2, 0)
    # when the jobs were sent, the marks and their one event were already stored
    assert fakes.imports.seen == [(["import.requested"], [True, True])]
    [event] = fakes.audit.log()
    assert event.details == {"jobs": 2, "connection_ids": "conn-1 conn-2"} and event.customer_id == CUSTOMER
    assert fakes.connections.saves - saves == 2 and len(fakes.imports.sent) == 2


def test_a_failing_audit_write_cancels_import_now_s_marks_and_queues_nothing():
    fakes, clock = two_connections()
    fakes.audit = AuditFailingOnce()
    with pytest.raises(StaleConnection):  # 409: the change was not made, try again
        connections.import_now(fakes.ports(clock), STAFF, CUSTOMER)
    assert marks(fakes) == [None, None] and fakes.imports.sent == [] and fakes.audit.log() == []
    done = connections.import_now(fakes.ports(clock), STAFF, CUSTOMER)  # again: both, once
    assert done.queued == 2 and fakes.audit.trail() == [("import.requested", STAFF.principal.user_id)]


def test_import_now_that_cannot_be_queued_undoes_its_marks_with_their_event_and_is_a_503():
    fakes, clock = two_connections()
    fakes.imports = FakeQueue(failing=True)
    with pytest.raises(QueueSendFailed) as refused:
        connections.import_now(fakes.ports(clock), STAFF, CUSTOMER)
    assert refused.value.status == 503
    assert marks(fakes) == [None, None]  # nothing shows an import queued that is not
    assert [action for action, _ in fakes.audit.trail()] == ["import.requested", "import.not_queued"]
    assert fakes.audit.log()[1].details == {"jobs": 2, "connection_ids": "conn-1 conn-2"}
    fakes.imports.failing = False  # SQS is back: the retry queues both (nothing "already queued")
    done = connections.import_now(fakes.ports(clock), STAFF, CUSTOMER)
    assert (done.queued, done.already_queued) == (2, 0) and len(fakes.imports.sent) == 2


def test_an_undo_that_fails_leaves_the_mark_to_expire_and_still_answers_503():
    fakes, clock = two_connections()
    fakes.imports = FakeQueue(failing=True)
    fakes.audit = AuditFailingOnce(failures=0)

    def send(bodies: Any, delay_seconds: int = 0) -> None:
        fakes.audit.failures = 1  # the undo's event will be refused
        raise QueueSendFailed(list(range(len(bodies))))

    fakes.imports.send = send  # type: ignore[method-assign]
    with pytest.raises(QueueSendFailed):
        connections.import_now(fakes.ports(clock), STAFF, CUSTOMER)
    assert marks(fakes) == [NOW, NOW]  # left, with the event that says so; they end by themselves
    assert [action for action, _ in fakes.audit.trail()] == ["import.requested"]


def test_a_connection_s_refresh_writes_its_mark_and_event_before_it_queues():
    fakes, clock = two_connections()
    fakes.imports = WitnessQueue(fakes=fakes, seen=[])
    refreshed = connections.refresh(fakes.ports(clock), CUSTOMER_PERSON, "conn-1")
    assert refreshed.import_state is ImportState.QUEUED
    assert fakes.imports.seen == [(["connection.import_requested"], [True, False])]


def test_a_connection_s_refresh_that_cannot_be_queued_keeps_its_status_undoes_its_mark_and_is_a_503():
    fakes, clock = two_connections()
    address = ConnectionAddress(FIRM, CUSTOMER, "conn-1")
    rejected = replace(fakes.connections.rows[address], status=ConnectionStatus.CREDENTIALS_REJECTED)
    fakes.connections.rows[address] = rejected  # the bank says it is linked again (the provider fake)
    fakes.imports = FakeQueue(failing=True)
    with pytest.raises(QueueSendFailed):
        connections.refresh(fakes.ports(clock), CUSTOMER_PERSON, "conn-1")
    stored = fakes.connections.rows[address]
    assert stored.status is ConnectionStatus.LINKED and stored.import_requested_at is None
    assert [a for a, _ in fakes.audit.trail()] == [
        "connection.import_requested",
        "connection.import_not_queued",
    ]
    fakes.imports.failing = False
    again = connections.refresh(fakes.ports(clock), CUSTOMER_PERSON, "conn-1")
    assert again.import_state is ImportState.QUEUED and len(fakes.imports.sent) == 1


def test_a_failing_audit_write_cancels_a_connection_s_refresh_mark():
    fakes, clock = two_connections()
    fakes.audit = AuditFailingOnce()
    with pytest.raises(StaleConnection):
        connections.refresh(fakes.ports(clock), CUSTOMER_PERSON, "conn-1")
    assert marks(fakes) == [None, None] and fakes.imports.sent == [] and fakes.audit.log() == []
