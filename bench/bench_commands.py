"""Benchmark: every other document command through the service against the raw database floor.

Run:  .venv/bin/python bench/bench_commands.py [--quick] [--backends sqlite,postgresql] [--json FILE]

``bench_trigger`` measures ``publish``; this measures the rest of what a clerk or a signer does
to a document (issue 20: "every other command ≤ 2.5× the raw floor"): create, edit a field,
attach and remove a material, name the signers, prepare the plan, request sign-off, sign,
reject, record a posting, withdraw.

* **service** — the ``Workflow`` call an interface makes (``wf.sign(…)``, ``wf.add_material(…)``).
* **floor** — the raw driver (``sqlite3`` / ``psycopg``) writing *the same rows* in one
  transaction, with the same PRAGMAs and ``BEGIN IMMEDIATE`` on SQLite. What it writes is not
  written by hand per command: the service runs the command once on a document (outside the
  timing) and the rows it wrote are read back — the document's changed columns, each inserted,
  updated or deleted row of the package tables, the editor row, the outbox rows, the audit
  events with their details. The floor then writes those rows for each of its documents: the
  versioned ``UPDATE documents … WHERE id AND version`` (rowcount checked), the package rows
  (``INSERT … RETURNING id``), the editor (one upsert), the outbox rows, then (on PostgreSQL
  after the chain's advisory lock, as the service) the chain head and one multi-row ``INSERT``
  of the audit events, hashed with SHA-256 over the canonical JSON exactly as
  :mod:`workflow.kernel.audit` does (the ids the details name — the outbox row, the material,
  the posting — are the floor's own), ``COMMIT``. Like bench_trigger's floor it is handed what
  the service works out (the new package hash, the email's frozen facts and recipients): the
  floor is the I/O the design cannot avoid, nothing else. ``create`` keeps the 文号 duplicate
  check (one indexed SELECT): the rule needs it.

Service and floor calls alternate, one each, on documents cloned from one source document per
command (so both see the same table sizes and the same load on this machine). After the run,
both sides must have written the same number of rows in every table, and a service document's
rows and a floor document's rows must have the same shape (the floor's hashes are checked
against :func:`workflow.kernel.audit.event_hash`). CPU per call (``time.process_time``) is
printed beside wall time: the machine is shared, and CPU is what the Python layer costs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import App, Figure, Stats, application, backend, finish, pg_conninfo, sqlite_path

TARGET_RATIO = 2.5
URL = "https://jtj.fuzhou.example.cn/jd/1.htm"

# The tables a command writes besides documents and audit_events; their rows of one document,
# in id order (editors by user), and how a row is told apart across a clone (its position).
PACKAGE = ("materials", "signers", "signatures", "postings", "outbox")
CLONED = {
    "materials": ("form", "title", "body", "uri", "content_hash", "created_by", "created_at"),
    "signers": ("user_id",),
    "signatures": ("user_id", "package_hash", "signed_at", "voided_at", "void_reason"),
    "postings": ("channel", "outlet", "url", "evidence", "posted_at", "recorded_at", "recorded_by"),
    "document_editors": ("user_id", "last_changed_at", "round"),
}
# Audit detail keys that name a row the command inserted (or deleted): the floor names its own.
ID_KEYS = {"outbox_id": "outbox", "emails": "outbox", "material_id": "materials", "posting_id": "postings"}


# --------------------------------------------------------------------------- the commands
@dataclass(frozen=True)
class Command:
    name: str
    source: Callable[[Any], int] | None
    """Takes the service (a ``Workflow``) and returns the document every clone copies."""
    call: Callable[[Any, int, dict[str, Any]], object]
    """The service call on one document, with what was read for it beforehand (``args``)."""
    args: Callable[[App, int], dict[str, Any]] = lambda app, doc: {}


def _draft(wf: Any) -> int:
    from tests.factories import new_draft

    return new_draft(wf)


def _with_material(wf: Any) -> int:
    from tests.factories import CLERK, new_draft

    doc = new_draft(wf)
    wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景 …")
    return doc


def _ready_for_signoff(wf: Any) -> int:
    from tests.factories import CLERK, HEAD, SIGNER2, to_plan

    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "解读方案:政策背景、主要内容、关键词解释", "interpreter": CLERK})
    wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景 …")
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    return doc


def _signoff(wf: Any) -> int:
    from tests.factories import to_signoff

    return to_signoff(wf)


def _half_signed(wf: Any) -> int:
    from tests.factories import HEAD, to_signoff

    doc = to_signoff(wf)
    wf.sign(HEAD, doc)
    return doc


def _published(wf: Any) -> int:
    from tests.factories import to_published

    return to_published(wf)


def _material_id(app: App, doc: int) -> dict[str, Any]:
    from sqlalchemy import text

    with app.db.engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            "material": conn.execute(
                text("SELECT id FROM materials WHERE document_id = :d"), {"d": doc}
            ).scalar_one()
        }


def commands() -> list[Command]:
    from tests.factories import CLERK, HEAD, SIGNER2

    return [
        Command(
            "create",
            None,
            lambda wf, doc, a: wf.create_document(
                CLERK,
                title="福州市道路运输管理办法",
                doc_number=a["number"],
                body="第一条 …",
                disclosure="proactive",
                risk_assessment_needed=False,
            ),
        ),
        Command(
            "edit",
            _draft,
            lambda wf, doc, a: wf.edit_document(CLERK, doc, {"title": "福州市道路运输管理办法(修订)"}),
        ),
        Command(
            "attach",
            _draft,
            lambda wf, doc, a: wf.add_material(
                CLERK, doc, form="text", title="文字解读", body="一、制定背景 …"
            ),
        ),
        Command(
            "remove_material",
            _with_material,
            lambda wf, doc, a: wf.remove_material(CLERK, doc, a["material"]),
            _material_id,
        ),
        Command("signers", _draft, lambda wf, doc, a: wf.set_signers(CLERK, doc, [HEAD, SIGNER2])),
        Command("prepare_plan", _draft, lambda wf, doc, a: wf.fire(CLERK, doc, "prepare_plan")),
        Command(
            "request_signoff", _ready_for_signoff, lambda wf, doc, a: wf.fire(CLERK, doc, "request_signoff")
        ),
        Command("sign", _signoff, lambda wf, doc, a: wf.sign(HEAD, doc)),
        Command("reject", _half_signed, lambda wf, doc, a: wf.reject(SIGNER2, doc, "请补充图解材料")),
        Command(
            "post",
            _published,
            lambda wf, doc, a: wf.record_posting(CLERK, doc, channel="portal", url=URL),
        ),
        Command(
            "withdraw", _draft, lambda wf, doc, a: wf.fire(CLERK, doc, "withdraw", reason="政策暂缓出台")
        ),
    ]


# --------------------------------------------------------------------------- seeding
def clone(app: App, source: int, count: int) -> list[int]:
    """``count`` documents with ``source``'s rows (the source first): its document row, its
    package rows, its editors and its chain head, copied in SQL."""
    from sqlalchemy import inspect, text

    doc_cols = ", ".join(
        c["name"] for c in inspect(app.db.engine).get_columns("documents") if c["name"] != "id"
    )  # type: ignore[attr-defined]
    ids = [source]
    with app.db.engine.begin() as conn:  # type: ignore[attr-defined]
        head = conn.execute(
            text("SELECT seq, hash FROM audit_heads WHERE chain = :c"), {"c": f"doc:{source}"}
        ).one()
        for _ in range(count - 1):
            new_id = conn.execute(
                text(
                    f"INSERT INTO documents ({doc_cols}) SELECT {doc_cols} FROM documents WHERE id = :id RETURNING id"
                ),
                {"id": source},
            ).scalar_one()
            for table, copied in CLONED.items():
                c = ", ".join(copied)
                order = "user_id" if table == "document_editors" else "id"
                conn.execute(
                    text(
                        f"INSERT INTO {table} (document_id, {c}) SELECT :new, {c} FROM {table} "
                        f"WHERE document_id = :id ORDER BY {order}"
                    ),
                    {"new": new_id, "id": source},
                )
            conn.execute(
                text("INSERT INTO audit_heads (chain, seq, hash) VALUES (:c, :s, :h)"),
                {"c": f"doc:{new_id}", "s": head.seq, "h": head.hash},
            )
            ids.append(new_id)
    return ids


# --------------------------------------------------------------------------- raw access
class Raw:
    """A raw driver connection on the application's database, as bench_trigger's floor."""

    def __init__(self, app: App) -> None:
        self.sqlite = app.db.is_sqlite  # type: ignore[attr-defined]
        if self.sqlite:
            conn = sqlite3.connect(sqlite_path(app.db.url), isolation_level=None, timeout=30)  # type: ignore[attr-defined]
            for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
            self.conn: Any = conn
            self.p = "?"
        else:
            import psycopg

            self.conn = psycopg.connect(pg_conninfo(app.db.url), autocommit=True)  # type: ignore[attr-defined]
            self.p = "%s"

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", self.p), params)
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        cur.close()
        return out

    def close(self) -> None:
        self.conn.close()


def snapshot(raw: Raw, doc: int) -> dict[str, Any]:
    """Every row ``doc`` has in the tables a command writes, as the driver hands them back."""
    snap: dict[str, Any] = {"documents": raw.rows("SELECT * FROM documents WHERE id = ?", (doc,))[0]}
    for table in PACKAGE:
        snap[table] = raw.rows(f"SELECT * FROM {table} WHERE document_id = ? ORDER BY id", (doc,))
    snap["document_editors"] = raw.rows(
        "SELECT * FROM document_editors WHERE document_id = ? ORDER BY user_id", (doc,)
    )
    snap["audit_events"] = raw.rows("SELECT * FROM audit_events WHERE document_id = ? ORDER BY seq", (doc,))
    return snap


@dataclass
class Script:
    """What one command wrote for one document, to be written again for another."""

    doc_changes: dict[str, Any]
    inserts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    updates: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    """table → (position among the document's rows before, changed columns)."""
    deletes: dict[str, list[int]] = field(default_factory=dict)
    editors: list[dict[str, Any]] = field(default_factory=list)
    new_editors: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    """Each: the event's columns, ``details`` parsed, ``at_iso`` as the hash takes it."""
    source: int = 0
    source_ids: dict[str, list[int]] = field(default_factory=dict)
    """The ids the source's inserted (``table``) and deleted (``-table``) rows had."""


def _iso(value: Any) -> str:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def record(before: dict[str, Any], after: dict[str, Any], doc: int) -> Script:
    """The rows a command wrote on ``doc``: ``after`` against ``before``."""
    old, new = before["documents"], after["documents"]
    assert new["version"] == old["version"] + 1, (old["version"], new["version"])
    script = Script({k: v for k, v in new.items() if k != "version" and v != old[k]}, source=doc)
    for table in PACKAGE:
        was = {r["id"]: i for i, r in enumerate(before[table])}
        now = {r["id"]: r for r in after[table]}
        added = [r for i, r in now.items() if i not in was]
        script.inserts[table] = [
            {k: v for k, v in r.items() if k not in ("id", "document_id")} for r in added
        ]
        script.source_ids[table] = [r["id"] for r in added]
        script.deletes[table] = [pos for i, pos in was.items() if i not in now]
        script.source_ids[f"-{table}"] = [i for i in was if i not in now]
        script.updates[table] = [
            (pos, {k: v for k, v in now[i].items() if v != before[table][pos][k]})
            for i, pos in was.items()
            if i in now and now[i] != before[table][pos]
        ]
    editors = {r["user_id"]: r for r in before["document_editors"]}
    script.editors = [r for r in after["document_editors"] if editors.get(r["user_id"]) != r]
    script.new_editors = sum(1 for r in script.editors if r["user_id"] not in editors)
    seen = {e["seq"] for e in before["audit_events"]}
    for event in after["audit_events"]:
        if event["seq"] in seen:
            continue
        script.events.append({**event, "details": json.loads(event["details"]), "at_iso": _iso(event["at"])})
    return script


def _event_digest(row: dict[str, Any]) -> str:
    """workflow.kernel.audit_hashing.event_hash, unkeyed: SHA-256 of the canonical JSON of the
    hashed columns (the three later ones left out while NULL)."""
    fields = {k: row[k] for k in ("chain", "seq", "at", "actor", "actor_unit", "document_id", "action")}
    fields.update({k: row[k] for k in ("outcome", "state_before", "state_after", "details", "prev_hash")})
    for name in ("channel", "credential", "wall_at"):
        if row.get(name) is not None:
            fields[name] = row[name]
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- the floor
class Floor(Raw):
    """The rows of one recorded command, written with the raw driver in one transaction."""

    def __init__(self, app: App, script: Script) -> None:
        super().__init__(app)
        self.s = script
        p = self.p
        cols = sorted(script.doc_changes)
        self.doc_sql = (
            "UPDATE documents SET "
            + "".join(f"{c} = {p}, " for c in cols)
            + f"version = version + 1 WHERE id = {p} AND version = {p}"
        )
        self.doc_values = tuple(script.doc_changes[c] for c in cols)
        self.insert_sql = {
            table: (
                f"INSERT INTO {table} (document_id, {', '.join(rows[0])}) "
                f"VALUES ({', '.join([p] * (len(rows[0]) + 1))}) RETURNING id"
            )
            for table, rows in script.inserts.items()
            if rows
        }
        self.editor_sql = (
            f"INSERT INTO document_editors (document_id, user_id, last_changed_at, round) VALUES ({p}, {p}, {p}, {p}) "
            "ON CONFLICT (document_id, user_id) DO UPDATE SET last_changed_at = excluded.last_changed_at, "
            "round = excluded.round"
        )
        self.event_cols = (
            "chain", "seq", "at", "actor", "actor_unit", "document_id", "action", "outcome",
            "state_before", "state_after", "details", "prev_hash", "hash", "channel", "credential", "wall_at",
        )  # fmt: skip
        n = len(script.events)
        one = f"({', '.join([p] * len(self.event_cols))})"
        self.events_sql = (
            f"INSERT INTO audit_events ({', '.join(self.event_cols)}) VALUES {', '.join([one] * n)}"
        )

    def prepare(self, doc: int) -> dict[str, Any]:
        """What the floor knows of ``doc`` before its transaction (bench_trigger hands its
        floor the versions): its version and its package rows' ids."""
        known: dict[str, Any] = {
            "version": self.rows("SELECT version FROM documents WHERE id = ?", (doc,))[0]["version"]
        }
        for table in PACKAGE:
            known[table] = [
                r["id"]
                for r in self.rows(f"SELECT id FROM {table} WHERE document_id = ? ORDER BY id", (doc,))
            ]
        return known

    def _key(self, key: str, doc: int) -> str:
        return re.sub(rf"(?<!\d){self.s.source}(?!\d)", str(doc), key)

    def run(self, doc: int, known: dict[str, Any]) -> None:
        s, p = self.s, self.p
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        cur.execute(self.doc_sql, (*self.doc_values, doc, known["version"]))
        if cur.rowcount != 1:
            raise RuntimeError(f"floor: document {doc} changed meanwhile")
        ids: dict[str, list[int]] = {}
        for table, positions in s.deletes.items():
            if positions:
                gone = [known[table][i] for i in positions]
                cur.execute(f"DELETE FROM {table} WHERE id IN ({', '.join([p] * len(gone))})", tuple(gone))
                ids[f"-{table}"] = gone
        for table, changes in s.updates.items():
            for pos, values in changes:
                sets = ", ".join(f"{c} = {p}" for c in values)
                cur.execute(
                    f"UPDATE {table} SET {sets} WHERE id = {p}", (*values.values(), known[table][pos])
                )
        for table, sql in self.insert_sql.items():
            ids[table] = []
            for row in s.inserts[table]:
                values = tuple(self._key(v, doc) if k == "dedupe_key" and v else v for k, v in row.items())
                cur.execute(sql, (doc, *values))
                ids[table].append(cur.fetchone()[0])
        for editor in s.editors:
            cur.execute(self.editor_sql, (doc, editor["user_id"], editor["last_changed_at"], editor["round"]))
        chain = f"doc:{doc}"
        if not self.sqlite:  # what workflow.kernel.audit does before reading a head
            cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (0x5A4E4348, chain))
        cur.execute(f"SELECT seq, hash FROM audit_heads WHERE chain = {p}", (chain,))
        seq, prev = cur.fetchone()
        values: list[Any] = []
        for event in s.events:
            seq += 1
            details = dict(event["details"])
            for key, table in ID_KEYS.items():
                if key in details:
                    details[key] = self._renamed(details[key], table, ids)
            if details.get("dedupe_key"):
                details["dedupe_key"] = self._key(details["dedupe_key"], doc)
            row = {
                **event,
                "chain": chain,
                "seq": seq,
                "document_id": doc,
                "prev_hash": prev,
                "at": event["at_iso"],
            }
            row["details"] = json.dumps(details, ensure_ascii=False, sort_keys=True)
            row["hash"] = prev = _event_digest(row)
            row["at"] = event["at"]
            values += [row[c] for c in self.event_cols]
        cur.execute(self.events_sql, tuple(values))
        # No UPDATE of audit_heads: the database's trigger moves the head (migration 0008).
        cur.execute("COMMIT")
        cur.close()

    def _renamed(self, value: Any, table: str, ids: dict[str, list[int]]) -> Any:
        """An id (or list of ids) of the source's rows, as the floor's own rows' ids."""
        mapping: dict[int, int] = {}
        for side in (table, f"-{table}"):
            mapping.update(zip(self.s.source_ids.get(side, []), ids.get(side, []), strict=False))
        if isinstance(value, list):
            return [mapping.get(v, v) for v in value]
        return mapping.get(value, value)


class CreateFloor(Raw):
    """``create``: the 文号 duplicate check, the document, its first editor, its first event."""

    def __init__(self, app: App, row: dict[str, Any], event: dict[str, Any]) -> None:
        super().__init__(app)
        p = self.p
        self.row = {k: v for k, v in row.items() if k != "id"}
        self.event = event
        self.dup_sql = f"SELECT id FROM documents WHERE doc_number = {p} ORDER BY id LIMIT 1"
        self.doc_sql = f"INSERT INTO documents ({', '.join(self.row)}) VALUES ({', '.join([p] * len(self.row))}) RETURNING id"
        self.editor_sql = f"INSERT INTO document_editors (document_id, user_id, last_changed_at, round) VALUES ({p}, {p}, {p}, 0)"
        self.cols = (
            "chain", "seq", "at", "actor", "actor_unit", "document_id", "action", "outcome",
            "state_before", "state_after", "details", "prev_hash", "hash", "channel", "credential", "wall_at",
        )  # fmt: skip
        self.event_sql = (
            f"INSERT INTO audit_events ({', '.join(self.cols)}) VALUES ({', '.join([p] * len(self.cols))})"
        )

    def run(self, number: str, package_hash: str) -> int:
        from workflow.kernel.audit_hashing import GENESIS

        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        cur.execute(self.dup_sql, (number,))
        if cur.fetchone() is not None:
            raise RuntimeError(f"floor: {number} exists")
        row = {**self.row, "doc_number": number, "package_hash": package_hash}
        cur.execute(self.doc_sql, tuple(row.values()))
        doc = cur.fetchone()[0]
        cur.execute(self.editor_sql, (doc, row["created_by"], row["created_at"]))
        # A new document's chain has no head yet: nothing to lock or read.
        details = {**self.event["details"], "doc_number": number}
        ev = {**self.event, "chain": f"doc:{doc}", "seq": 1, "document_id": doc, "prev_hash": GENESIS}
        ev["details"] = json.dumps(details, ensure_ascii=False, sort_keys=True)
        ev["at"] = self.event["at_iso"]
        ev["hash"] = _event_digest(ev)
        ev["at"] = self.event["at"]
        cur.execute(self.event_sql, tuple(ev[c] for c in self.cols))
        cur.execute("COMMIT")
        cur.close()
        return doc


# --------------------------------------------------------------------------- the run
@dataclass
class Result:
    name: str
    kind: str
    service: Stats
    floor: Stats
    service_cpu: Stats
    floor_cpu: Stats


def count_rows(raw: Raw) -> dict[str, int]:
    tables = ("documents", *PACKAGE, "document_editors", "audit_events")
    return {t: raw.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in tables}


def _timed(stats: Stats, cpu: Stats, call: Callable[[], object]) -> None:
    c0, t0 = time.process_time(), time.perf_counter()
    call()
    stats.add(time.perf_counter() - t0)
    cpu.add(time.process_time() - c0)


def run_command(app: App, kind: str, command: Command, docs: int, warmup: int) -> Result:
    if command.source is None:
        return run_create(app, kind, command, docs, warmup)
    wf = app.wf
    source = command.source(wf)
    ids = clone(app, source, 2 * (docs + warmup) + 2)
    recorded, service_ids, floor_ids = ids[1], ids[2::2], ids[3::2]
    args = {d: command.args(app, d) for d in ids[1:]}
    raw = Raw(app)
    try:
        before = snapshot(raw, recorded)
        command.call(wf, recorded, args[recorded])
        script = record(before, snapshot(raw, recorded), recorded)
    finally:
        raw.close()
    floor = Floor(app, script)
    try:
        known = {d: floor.prepare(d) for d in floor_ids}
        for doc in service_ids[:warmup]:  # imports, caches, compiled statements
            command.call(wf, doc, args[doc])
        for doc in floor_ids[:warmup]:
            floor.run(doc, known[doc])
        rows_before = count_rows(floor)
        r = Result(command.name, kind, Stats(), Stats(), Stats(), Stats())
        for i, (s_doc, f_doc) in enumerate(zip(service_ids[warmup:], floor_ids[warmup:], strict=True)):
            pair: list[tuple[Stats, Stats, Callable[[], object]]] = [
                (r.service, r.service_cpu, lambda d=s_doc: command.call(wf, d, args[d])),
                (r.floor, r.floor_cpu, lambda d=f_doc: floor.run(d, known[d])),
            ]
            for stats, cpu, call in pair if i % 2 == 0 else pair[::-1]:
                _timed(stats, cpu, call)
        rows_after = count_rows(floor)
        _check_same_rows(command.name, rows_before, rows_after, script, docs)
        _check_same_shape(app, floor, command.name, service_ids[warmup], floor_ids[warmup])
    finally:
        floor.close()
    return r


def run_create(app: App, kind: str, command: Command, docs: int, warmup: int) -> Result:
    from states.package import package_hash

    wf = app.wf
    raw = Raw(app)
    try:
        first = command.call(wf, 0, {"number": "榕交〔2023〕0号"})
        doc = first.document_id  # type: ignore[attr-defined]
        snap = snapshot(raw, doc)
    finally:
        raw.close()
    row = snap["documents"]
    (event,) = snap["audit_events"]
    event = {**event, "details": json.loads(event["details"]), "at_iso": _iso(event["at"])}
    floor = CreateFloor(app, row, event)
    numbers = {side: [f"榕交〔2024〕{side}{i}号" for i in range(docs + warmup)] for side in ("s", "f")}
    # The package hash the service works out for each number (domain work, not the floor's).
    hashes = {
        n: package_hash(
            title=row["title"],
            doc_number=n,
            body=row["body"],
            disclosure=row["disclosure"],
            plan=None,
            risk_assessment=None,
            response_plan=None,
            interpreter_login=None,
            materials=[],
        )
        for n in numbers["f"]
    }
    try:
        for n in numbers["s"][:warmup]:
            command.call(wf, 0, {"number": n})
        made = [floor.run(n, hashes[n]) for n in numbers["f"][:warmup]]
        rows_before = count_rows(floor)
        r = Result(command.name, kind, Stats(), Stats(), Stats(), Stats())
        outs: list[Any] = []
        for i, (s_n, f_n) in enumerate(zip(numbers["s"][warmup:], numbers["f"][warmup:], strict=True)):
            pair: list[tuple[Stats, Stats, Callable[[], object]]] = [
                (r.service, r.service_cpu, lambda n=s_n: outs.append(command.call(wf, 0, {"number": n}))),
                (r.floor, r.floor_cpu, lambda n=f_n: made.append(floor.run(n, hashes[n]))),
            ]
            for stats, cpu, call in pair if i % 2 == 0 else pair[::-1]:
                _timed(stats, cpu, call)
        rows_after = count_rows(floor)
        want = {t: 0 for t in rows_before}
        want.update({"documents": 2 * docs, "document_editors": 2 * docs, "audit_events": 2 * docs})
        got = {t: rows_after[t] - rows_before[t] for t in rows_before}
        if got != want:
            raise RuntimeError(f"create: service and floor wrote different rows: {got} != {want}")
        _check_same_shape(app, floor, "create", outs[0].document_id, made[-1])
        # The floor's package hash is the one the service computes for its number.
        s = snapshot(floor, made[-1])["documents"]
        if s["package_hash"] != hashes[s["doc_number"]] or not s["package_hash"]:
            raise RuntimeError("create: the floor's package hash is not the service's")
    finally:
        floor.close()
    return r


def _check_same_rows(name: str, before: dict[str, int], after: dict[str, int], s: Script, pairs: int) -> None:
    """Both sides together wrote twice what the recorded command wrote, in every table."""
    got = {t: after[t] - before[t] for t in before}
    want = {t: 0 for t in before}
    for table in PACKAGE:
        want[table] = 2 * pairs * (len(s.inserts[table]) - len(s.deletes[table]))
    want["audit_events"] = 2 * pairs * len(s.events)
    want["document_editors"] = 2 * pairs * s.new_editors
    if got != want:
        raise RuntimeError(f"{name}: service and floor wrote different rows: {got} != {want}")


def _check_same_shape(app: App, raw: Raw, name: str, service_doc: int, floor_doc: int) -> None:
    """A service document and a floor document carry the same rows but for their ids (and the
    ids their rows name), and every floor event's hash is what
    :func:`workflow.kernel.audit.event_hash` computes for it."""
    from workflow.kernel import audit

    def shape(doc: int) -> dict[str, Any]:
        snap = snapshot(raw, doc)
        out: dict[str, Any] = {}
        # Ids and what names them differ; so do a created document's 文号 and package hash.
        skip = {"id", "document_id", "dedupe_key", "chain", "hash", "prev_hash"}
        if name == "create":
            skip |= {"doc_number", "package_hash"}
        for table, rows in snap.items():
            rows = [rows] if isinstance(rows, dict) else rows
            out[table] = [
                {
                    k: (sorted(json.loads(v)) if k == "details" else v)
                    for k, v in r.items()
                    if k not in skip and not (table == "outbox" and k == "context")
                }
                for r in rows
            ]
        return out

    a, b = shape(service_doc), shape(floor_doc)
    if a != b:
        for table in a:
            if a[table] != b[table]:
                raise RuntimeError(
                    f"{name}: service and floor rows differ in {table}:\n{a[table]}\n{b[table]}"
                )
    for ev in snapshot(raw, floor_doc)["audit_events"]:
        fields = {k: ev[k] for k in audit.HASHED_FIELDS}
        fields["at"] = datetime.fromisoformat(_iso(ev["at"]))
        if fields.get("wall_at") is not None:
            fields["wall_at"] = datetime.fromisoformat(_iso(ev["wall_at"]))
        if audit.event_hash(None, **fields) != ev["hash"]:
            raise RuntimeError(f"{name}: the floor's audit hash differs from workflow.kernel.audit's")
    # (The chain itself is checked as it is written: the database's trigger refuses an event
    # that does not follow its chain's head, migration 0008.)


def run_backend(kind: str, docs: int, only: set[str] | None = None, warmup: int = 10) -> list[Result]:
    results = []
    with backend(kind, "commands") as url, application(url) as app:
        for command in commands():
            if only and command.name not in only:
                continue
            r = run_command(app, kind, command, docs, warmup)
            ratio = r.service.p50 / r.floor.p50
            print(
                f"  {r.name}/{kind}: service p50 {r.service.p50 * 1e3:.3f} ms (CPU {r.service_cpu.mean * 1e3:.3f} ms)"
                f"  floor p50 {r.floor.p50 * 1e3:.3f} ms (CPU {r.floor_cpu.mean * 1e3:.3f} ms)  {ratio:.2f}×",
                flush=True,
            )
            results.append(r)
    return results


def run(
    quick: bool = False,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    docs: int | None = None,
    only: set[str] | None = None,
) -> list[Figure]:
    docs = docs or (40 if quick else 200)
    figures: list[Figure] = []
    for kind in backends:
        for r in run_backend(kind, docs, only):
            driver = "sqlite3" if kind == "sqlite" else "psycopg"
            ratio = r.service.p50 / r.floor.p50
            figures.append(
                Figure(
                    "commands",
                    f"{r.name} via service, {kind}, p50",
                    r.service.p50 * 1e3,
                    "ms",
                    baseline=r.floor.p50 * 1e3,
                    baseline_name=f"raw {driver}",
                    target=f"≤ {TARGET_RATIO}× floor",
                    met=ratio <= TARGET_RATIO,
                )
            )
            figures.append(
                Figure(
                    "commands",
                    f"{r.name} CPU per call, {kind}, mean",
                    r.service_cpu.mean * 1e3,
                    "ms",
                    baseline=r.floor_cpu.mean * 1e3,
                    baseline_name=f"raw {driver}",
                )
            )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--docs", type=int, default=None, help="timed calls per side and command (default 200)"
    )
    parser.add_argument("--quick", action="store_true", help="40 calls per side and command")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", default="", help="commands to run, comma-separated (default: all)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or None
    finish(run(args.quick, tuple(args.backends.split(",")), args.docs, only), args.json)


if __name__ == "__main__":
    main()
