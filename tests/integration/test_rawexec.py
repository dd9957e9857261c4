"""The command path's statements sent on the driver's cursor (workflow/kernel/rawexec.py) behave
as through SQLAlchemy: instants stored as the column stores them, constant defaults applied, a
clash raised as SQLAlchemy's IntegrityError (which the compare-and-set handling catches), rows
handed back by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.conftest import shanghai
from workflow.kernel.bulk import insert_many, table_of
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Unit


def _event(seq: int, at: datetime) -> dict[str, object]:
    return {
        "chain": "test:raw",
        "seq": seq,
        "at": at,
        "actor": "liu",
        "actor_unit": None,
        "document_id": None,
        "action": "probe",
        "outcome": "allowed",
        "state_before": None,
        "state_after": None,
        "details": "{}",
        "prev_hash": "0" * 64,
        "hash": f"{seq:064d}",
        "channel": "cli",
        "credential": None,
        "wall_at": None,
        "key_id": None,
    }


def test_an_instant_is_stored_as_the_column_stores_it(db: Database) -> None:
    at = shanghai(2024, 2, 9, 10, 30, 15, 123456)
    with db.transaction() as session:
        insert_many(session, table_of(AuditEvent), [_event(1, at)])
    with db.transaction() as session:
        stored = session.scalars(select(AuditEvent).where(AuditEvent.chain == "test:raw")).one()
    assert stored.at == at.astimezone(UTC)
    assert stored.at.tzinfo is not None


def test_a_clash_is_sqlalchemys_integrity_error_and_nothing_is_written(db: Database) -> None:
    at = shanghai(2024, 2, 9, 10, 30)
    with db.transaction() as session:
        insert_many(session, table_of(AuditEvent), [_event(1, at)])
    with pytest.raises(IntegrityError), db.transaction() as session:
        insert_many(session, table_of(AuditEvent), [_event(2, at), _event(2, at)])
    with db.transaction() as session:
        seqs = session.scalars(select(AuditEvent.seq).where(AuditEvent.chain == "test:raw")).all()
    assert seqs == [1]


def test_returned_rows_by_name_and_a_constant_default_applied(db: Database) -> None:
    row = {"code": "raw1", "name": "原始单位", "created_at": shanghai(2024, 2, 5, 9)}  # no "kind"
    with db.transaction() as session:
        (returned,) = insert_many(session, table_of(Unit), [row], returning=("id", "code"))
    assert returned.code == "raw1" and isinstance(returned.id, int)
    with db.transaction() as session:
        unit = session.get_one(Unit, returned.id)
    assert unit.kind == "drafting"  # the model's default, which the execution context used to add
