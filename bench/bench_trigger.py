"""Benchmark 1: one trigger through the service against the raw database floor.

Run:  .venv/bin/python bench/bench_trigger.py [--docs 300] [--backends sqlite,postgresql]

The trigger is ``publish`` — the one that matters most (it starts the 3-working-day clock) and
the one that writes everything the issue names: the document's state (with its version check),
the ``publish`` audit event, one outbox row (the "published" email to the unit and the
interpreter) and that row's ``email_queued`` audit event, the chain head moved on.

* **service** — ``Workflow.fire(clerk, doc, "publish", publication_url=…)``: loads the actor
  and the document with its package, authorises, asks ``states.decide``, computes the deadline
  on the working-day calendar, resolves recipients, freezes the email's facts (rendered at
  delivery since migration 0016), writes and commits.
* **floor** — the raw driver (``sqlite3`` / ``psycopg``) writing *the same rows* with one
  commit per trigger: ``UPDATE documents … WHERE id = ? AND version = ?`` (rowcount checked),
  ``SELECT`` of the chain head (the new events chain onto it), ``INSERT`` of the outbox row
  (its Message-ID is derived at delivery), two ``INSERT``\\ s into
  ``audit_events`` with their SHA-256 hashes (the database's trigger moves the chain head, as
  for the service: migration 0008; on PostgreSQL the chain's advisory lock is taken first, as
  the service does), ``COMMIT``. It is handed what the service works out (the deadline, the
  email's frozen facts, the recipients, the audit details of the service's own last publish):
  the floor is the I/O the design cannot avoid, nothing else. It runs on the same database, with the same PRAGMAs (WAL, ``synchronous=NORMAL``,
  ``BEGIN IMMEDIATE``) on SQLite.

Service and floor triggers alternate, one each, on documents cloned from one signed document
(so both see the same table sizes and the same load on this machine), and the rows each wrote
are counted and compared before a figure is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    App,
    Figure,
    Stats,
    application,
    backend,
    clone_document,
    finish,
    raw_connection,
)

URL = "https://jtj.fuzhou.example.cn/zcwj/1.htm"
TARGET_RATIO = 2.0


# --------------------------------------------------------------------------- seeding
def clone_signed(app: App, count: int) -> list[int]:
    """``count`` documents in ``joint_signoff`` with a fully signed package: one taken there
    through the real service (``tests.factories.to_signed``), the others copies of it
    (:func:`bench.common.clone_document`)."""
    from tests.factories import to_signed

    return clone_document(app, to_signed(app.wf), count)  # type: ignore[arg-type]


def count_rows(app: App) -> dict[str, int]:
    from sqlalchemy import text

    with app.db.engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("audit_events", "outbox")
        }


# --------------------------------------------------------------------------- the floor
class Floor:
    """The same rows as a ``publish``, written with the raw driver in one transaction."""

    def __init__(self, app: App, template: dict[str, Any]) -> None:
        self.app = app
        self.sqlite = app.db.is_sqlite  # type: ignore[attr-defined]
        self.t = template
        self.conn, self.p = raw_connection(app)

    def close(self) -> None:
        self.conn.close()

    def _ts(self, value: datetime) -> Any:
        """What the application's UTCDateTime column stores for ``value``."""
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value

    def publish(self, doc_id: int, version: int, now: datetime) -> None:
        p, t = self.p, self.t
        chain = f"doc:{doc_id}"
        cur = self.conn.cursor()
        if self.sqlite:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(
            f"UPDATE documents SET state = 'published', publication_url = {p}, published_at = {p}, "
            f"due_at = {p}, due_provisional = {p}, updated_at = {p}, version = version + 1 "
            f"WHERE id = {p} AND version = {p}",
            (URL, self._ts(now), self._ts(t["due_at"]), False, self._ts(now), doc_id, version),
        )
        if cur.rowcount != 1:
            raise RuntimeError(f"floor: document {doc_id} changed meanwhile")
        if not self.sqlite:  # what workflow.kernel.audit does before reading a head
            cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (0x5A4E4348, chain))
        cur.execute(f"SELECT seq, hash FROM audit_heads WHERE chain = {p}", (chain,))
        seq, prev = cur.fetchone()
        key = f"doc:{doc_id}:published"
        cur.execute(
            "INSERT INTO outbox (document_id, event, language, to_addrs, cc_addrs, context, "
            "status, attempts, next_attempt_at, created_at, dedupe_key) "
            f"VALUES ({', '.join([p] * 11)}) RETURNING id",
            (
                doc_id,
                "published",
                "zh",
                t["to_addrs"],
                t["cc_addrs"],
                t["context"],
                "pending",
                0,
                self._ts(now),
                self._ts(now),
                key,
            ),
        )
        outbox_id = cur.fetchone()[0]
        # No Message-ID UPDATE and no rendering: since migration 0016 delivery does both.
        # The audit details the service wrote for its own publishes, with this row's ids: the
        # floor follows whatever the service records (the calendar sources, counted days, …).
        queued = {**t["queued_details"], "outbox_id": outbox_id, "dedupe_key": key}
        published = {**t["publish_details"], "emails": [outbox_id]}
        at = now.astimezone(UTC)
        for action, state_before, state_after, details in (
            ("email_queued", None, None, queued),
            ("publish", "joint_signoff", "published", published),
        ):
            seq += 1
            text = json.dumps(details, ensure_ascii=False, sort_keys=True)
            row = {
                "chain": chain,
                "seq": seq,
                "at": at.isoformat(timespec="microseconds"),
                "actor": "liu.spc",
                "actor_unit": "spc",
                "document_id": doc_id,
                "action": action,
                "outcome": "allowed",
                "state_before": state_before,
                "state_after": state_after,
                "details": text,
                "prev_hash": prev,
            }
            digest = hashlib.sha256(
                json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
            cur.execute(
                "INSERT INTO audit_events (chain, seq, at, actor, actor_unit, document_id, action, "
                "outcome, state_before, state_after, details, prev_hash, hash) "
                f"VALUES ({', '.join([p] * 13)})",
                (
                    chain,
                    seq,
                    self._ts(at),
                    "liu.spc",
                    "spc",
                    doc_id,
                    action,
                    "allowed",
                    state_before,
                    state_after,
                    text,
                    prev,
                    digest,
                ),
            )
            prev = digest
        # No UPDATE of audit_heads: since migration 0008 the database's trigger moves the head
        # with each event (and refuses one that does not follow it), for the floor as for the
        # service; the application may not write that table.
        if self.sqlite:
            cur.execute("COMMIT")
        else:
            self.conn.commit()
        cur.close()


def template_from(app: App) -> dict[str, Any]:
    """The deadline and the email the service worked out, for the floor to write verbatim."""
    from sqlalchemy import text

    with app.db.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(
            text(
                "SELECT d.due_at, o.to_addrs, o.cc_addrs, o.context "
                "FROM outbox o JOIN documents d ON d.id = o.document_id "
                "WHERE o.event = 'published' ORDER BY o.id DESC LIMIT 1"
            )
        ).one()
        details = dict(
            conn.execute(
                text(
                    "SELECT action, details FROM audit_events WHERE id IN (SELECT max(id) FROM audit_events "
                    "WHERE action IN ('publish', 'email_queued') GROUP BY action)"
                )
            ).all()
        )
    due = row.due_at if isinstance(row.due_at, datetime) else datetime.fromisoformat(str(row.due_at))
    due = due.replace(tzinfo=UTC) if due.tzinfo is None else due
    return {
        "due_at": due,
        "to_addrs": row.to_addrs,
        "cc_addrs": row.cc_addrs,
        "context": row.context,
        "publish_details": json.loads(details["publish"]),
        "queued_details": json.loads(details["email_queued"]),
    }


# --------------------------------------------------------------------------- the run
def run_backend(kind: str, docs: int, warmup: int = 10) -> tuple[Stats, Stats, Stats, Stats]:
    """Alternate service and floor publishes; returns (service, floor) wall-clock timings and
    (service, floor) CPU times of this process, in seconds. The CPU time says what contention
    on a shared machine does not: the client side's own work (on PostgreSQL the server's work
    is not in it; on SQLite, in-process, it is)."""
    from tests.factories import CLERK

    with backend(kind, "trigger") as url, application(url) as app:
        ids = clone_signed(app, 2 * (docs + warmup))
        versions = _versions(app, ids)
        service_ids, floor_ids = ids[0::2], ids[1::2]
        wf = app.wf

        def service(doc: int) -> None:
            wf.fire(CLERK, doc, "publish", publication_url=URL)  # type: ignore[attr-defined]

        for doc in service_ids[:warmup]:  # imports, the calendar, template compilation, caches
            service(doc)
        floor = Floor(app, template_from(app))
        try:
            now = app.clock.now()  # type: ignore[attr-defined]
            for doc in floor_ids[:warmup]:
                floor.publish(doc, versions[doc], now)
            before = count_rows(app)
            s_stats, f_stats, s_cpu, f_cpu = Stats(), Stats(), Stats(), Stats()
            for i, (s_doc, f_doc) in enumerate(zip(service_ids[warmup:], floor_ids[warmup:])):
                # Alternate who goes first so neither always runs on a warmer cache.
                pair: list[tuple[Stats, Stats, Callable[[], None]]] = [
                    (s_stats, s_cpu, lambda d=s_doc: service(d)),
                    (f_stats, f_cpu, lambda d=f_doc: floor.publish(d, versions[d], now)),
                ]
                for stats, cpu, call in pair if i % 2 == 0 else pair[::-1]:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    call()
                    stats.add(time.perf_counter() - started)
                    cpu.add(time.process_time() - cpu_started)
            after = count_rows(app)
        finally:
            floor.close()
        _check_same_rows(before, after, docs)
        _check_same_shape(app, service_ids[warmup], floor_ids[warmup])
        return s_stats, f_stats, s_cpu, f_cpu


def _versions(app: App, ids: list[int]) -> dict[int, int]:
    from sqlalchemy import text

    with app.db.engine.connect() as conn:  # type: ignore[attr-defined]
        return dict(conn.execute(text("SELECT id, version FROM documents")).all())


def _check_same_rows(before: dict[str, int], after: dict[str, int], pairs: int) -> None:
    """Both sides together must have written exactly 2 audit events and 1 outbox row per
    trigger (checked in the service's own tests for one trigger; here for the whole run)."""
    got = {k: after[k] - before[k] for k in before}
    want = {"audit_events": 4 * pairs, "outbox": 2 * pairs}
    if got != want:
        raise RuntimeError(f"service and floor wrote different rows: {got} != {want}")


def _check_same_shape(app: App, service_doc: int, floor_doc: int) -> None:
    """A service-published and a floor-published document carry rows of the same shape, and
    the floor's hashes are what ``workflow.kernel.audit.event_hash`` computes (so the floor did the
    hashing the real chain needs, not a cheaper stand-in)."""
    from sqlalchemy import text

    from workflow.kernel import audit

    def shape(doc: int) -> list[tuple[Any, ...]]:
        with app.db.engine.connect() as conn:  # type: ignore[attr-defined]
            events = conn.execute(
                text(
                    "SELECT action, outcome, state_before, state_after, details FROM audit_events "
                    "WHERE document_id = :d AND action IN ('publish', 'email_queued') ORDER BY seq"
                ),
                {"d": doc},
            ).all()
            outbox = conn.execute(
                text(
                    "SELECT event, status, dedupe_key IS NOT NULL, message_id IS NOT NULL, "
                    "context IS NOT NULL, body_html IS NOT NULL FROM outbox WHERE document_id = :d"
                ),
                {"d": doc},
            ).all()
        return [
            (e.action, e.outcome, e.state_before, e.state_after, sorted(json.loads(e.details)))
            for e in events
        ] + [tuple(o) for o in outbox]

    a, b = shape(service_doc), shape(floor_doc)
    if a != b:
        raise RuntimeError(f"service and floor rows differ in shape:\n{a}\n{b}")
    from sqlalchemy import select

    from workflow.kernel.models import AuditEvent

    with app.db.transaction() as session:  # type: ignore[attr-defined]
        for ev in session.scalars(
            select(AuditEvent).where(AuditEvent.document_id == floor_doc, AuditEvent.action == "publish")
        ):
            want = audit.event_hash(
                chain=ev.chain,
                seq=ev.seq,
                at=ev.at,
                actor=ev.actor,
                actor_unit=ev.actor_unit,
                document_id=ev.document_id,
                action=ev.action,
                outcome=ev.outcome,
                state_before=ev.state_before,
                state_after=ev.state_after,
                details=ev.details,
                prev_hash=ev.prev_hash,
                channel=ev.channel,
                credential=ev.credential,
                wall_at=ev.wall_at,
            )
            if want != ev.hash:
                raise RuntimeError("the floor's audit hash differs from workflow.kernel.audit's")


def run(
    quick: bool = False, backends: tuple[str, ...] = ("sqlite", "postgresql"), docs: int | None = None
) -> list[Figure]:
    docs = docs or (60 if quick else 300)
    figures: list[Figure] = []
    for kind in backends:
        s, f, s_cpu, f_cpu = run_backend(kind, docs)
        print(f"  trigger/{kind}: service {s.describe()}", flush=True)
        print(f"  trigger/{kind}: floor   {f.describe()}", flush=True)
        print(f"  trigger/{kind}: CPU of this process, service {s_cpu.describe()}", flush=True)
        print(f"  trigger/{kind}: CPU of this process, floor   {f_cpu.describe()}", flush=True)
        ratio = s.p50 / f.p50
        for label, a, b in (("p50", s.p50, f.p50), ("mean", s.mean, f.mean), ("p99", s.p99, f.p99)):
            figures.append(
                Figure(
                    "trigger",
                    f"publish via service, {kind}, {label}",
                    a * 1e3,
                    "ms",
                    baseline=b * 1e3,
                    baseline_name=f"raw {'sqlite3' if kind == 'sqlite' else 'psycopg'}",
                    target="≤ 2× floor" if label == "p50" else "",
                    met=(ratio <= TARGET_RATIO) if label == "p50" else None,
                )
            )
        figures.append(
            Figure(
                "trigger",
                f"publish via service, {kind}, CPU of the benchmark's process, p50"
                + (" (the server's is not in it)" if kind == "postgresql" else ""),
                s_cpu.p50 * 1e3,
                "ms",
                baseline=f_cpu.p50 * 1e3,
                baseline_name="the floor's",
            )
        )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=None, help="timed triggers per side (default 300)")
    parser.add_argument("--quick", action="store_true", help="60 triggers per side")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    finish(run(args.quick, tuple(args.backends.split(",")), args.docs), args.json)


if __name__ == "__main__":
    main()
