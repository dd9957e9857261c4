"""Ten clients fire the same trigger at the same moment: exactly one wins, the rest get 409.

Real threads, real connections, a barrier so the requests leave together, on SQLite (one
writer, BEGIN IMMEDIATE) and on PostgreSQL (READ COMMITTED plus the version compare-and-set).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.api_support import ApiEnv, api_env
from tests.factories import new_draft
from workflow.kernel.db import Database
from workflow.kernel.models import AuditEvent, Document

CLIENTS = 10


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    with api_env(db, tmp_path / "mail") as served:
        yield served


def _race(env: ApiEnv, path: str, headers: dict[str, str]) -> list[httpx.Response]:
    barrier = threading.Barrier(CLIENTS)
    results: list[httpx.Response | BaseException] = [None] * CLIENTS  # type: ignore[list-item]
    clients = [env.client("clerk") for _ in range(CLIENTS)]
    for c in clients:
        assert c.get("/me").status_code == 200  # open each connection before the race

    def fire(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = clients[i].post(path, headers=headers)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in clients:
        c.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results  # type: ignore[return-value]


def _allowed(env: ApiEnv, doc: int, action: str) -> int:
    with env.db.transaction() as session:
        return len(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.document_id == doc,
                    AuditEvent.action == action,
                    AuditEvent.outcome == "allowed",
                )
            ).all()
        )


def test_same_trigger_same_if_match_one_200_the_rest_409(env: ApiEnv) -> None:
    doc = new_draft(env.wf)
    with env.db.transaction() as session:
        version = session.get(Document, doc).version  # type: ignore[union-attr]
    responses = _race(env, f"/documents/{doc}/triggers/prepare_plan", {"If-Match": f'"{version}"'})
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: CLIENTS - 1}, [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["type"] == "urn:santongbu:problem:concurrent_change", r.text
    assert _allowed(env, doc, "prepare_plan") == 1
    with env.db.transaction() as session:
        row = session.get(Document, doc)
        assert row.state == "interpretation_plan" and row.version == version + 1  # type: ignore[union-attr]


def test_same_trigger_without_if_match_still_fires_once(env: ApiEnv) -> None:
    doc = new_draft(env.wf)
    responses = _race(env, f"/documents/{doc}/triggers/prepare_plan", {})
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: CLIENTS - 1}, [r.text for r in responses]
    # The losers either saw the new state (refused: wrong state) or lost the compare-and-set.
    kinds = {r.json()["type"].rsplit(":", 1)[1] for r in responses if r.status_code == 409}
    assert kinds <= {"refused", "concurrent_change"}
    assert _allowed(env, doc, "prepare_plan") == 1
