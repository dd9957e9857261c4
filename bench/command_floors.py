"""The raw-driver floor of ``bench_commands``: the rows a service command wrote, read back and
written again with ``sqlite3`` / ``psycopg`` for another document, and the checks that both
sides wrote the same rows. Kept apart from the benchmark so that it stays a script that says
what it measures (see its docstring for what the floor is handed and why)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.common import App, raw_connection

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


# --------------------------------------------------------------------------- raw access
class Raw:
    """A raw driver connection on the application's database, as bench_trigger's floor."""

    def __init__(self, app: App) -> None:
        self.sqlite = app.db.is_sqlite  # type: ignore[attr-defined]
        self.conn, self.p = raw_connection(app, autocommit=True)

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


def iso(value: Any) -> str:
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
        script.events.append({**event, "details": json.loads(event["details"]), "at_iso": iso(event["at"])})
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


def check_same_rows(name: str, before: dict[str, int], after: dict[str, int], s: Script, pairs: int) -> None:
    """Both sides together wrote twice what the recorded command wrote, in every table."""
    got = {t: after[t] - before[t] for t in before}
    want = {t: 0 for t in before}
    for table in PACKAGE:
        want[table] = 2 * pairs * (len(s.inserts[table]) - len(s.deletes[table]))
    want["audit_events"] = 2 * pairs * len(s.events)
    want["document_editors"] = 2 * pairs * s.new_editors
    if got != want:
        raise RuntimeError(f"{name}: service and floor wrote different rows: {got} != {want}")


def check_same_shape(app: App, raw: Raw, name: str, service_doc: int, floor_doc: int) -> None:
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
        fields["at"] = datetime.fromisoformat(iso(ev["at"]))
        if fields.get("wall_at") is not None:
            fields["wall_at"] = datetime.fromisoformat(iso(ev["wall_at"]))
        if audit.event_hash(None, **fields) != ev["hash"]:
            raise RuntimeError(f"{name}: the floor's audit hash differs from workflow.kernel.audit's")
    # (The chain itself is checked as it is written: the database's trigger refuses an event
    # that does not follow its chain's head, migration 0008.)
