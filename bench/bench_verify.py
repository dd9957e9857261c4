"""Benchmark: ``audit verify`` — in full, and incrementally from the newest anchor (issue 15).

Run:  .venv/bin/python bench/bench_verify.py                    # 2,000 documents, 20,000 events
      .venv/bin/python bench/bench_verify.py --docs 100000       # 1,000,000 events
      .venv/bin/python bench/bench_verify.py --full-scale        # 1,000,000 documents, 10,000,000 events
      [--backend postgresql|sqlite] [--per-doc 10] [--moved 0.01] [--json FILE]

A throwaway database (``bench.common``) brought to the current schema, then loaded with a
trail that verifies: each document's ten events (create … publish, two postings,
post_interpretation) keyed with HMAC-SHA256 under a fresh keyring and chained, its document
row and postings saying what its events say. The events are hashed here, with the
application's own ``workflow.kernel.audit.event_hash``, and loaded in bulk (PostgreSQL: COPY,
with the head trigger skipped and the heads written in one statement afterwards). Then:

1. a checkpoint, exported as a signed anchor (timed: it reads every chain head);
2. ``--moved`` of the documents get one more event through ``audit.append_many`` (the path
   the application appends by), as a day's activity after the anchor would;
3. ``verify`` with the keyring and the anchors, every check on (timed), and the same
   incrementally from the anchor (timed); both must find the trail intact.

Figures: load rate, checkpoint + export, full and incremental verify (seconds and events per
second), peak memory of this process. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, backend, finish, pg_conninfo, sqlite_path

START = datetime(2024, 1, 2, 1, 0, tzinfo=UTC)
TEMPLATE: tuple[tuple[str, str | None, str | None], ...] = (
    ("create", None, "draft"),
    ("prepare_plan", "draft", "interpretation_plan"),
    ("attach_material", "interpretation_plan", "interpretation_plan"),
    ("set_signers", "interpretation_plan", "interpretation_plan"),
    ("request_signoff", "interpretation_plan", "joint_signoff"),
    ("sign", "joint_signoff", "joint_signoff"),
    ("publish", "joint_signoff", "published"),
    ("record_posting", "published", "published"),
    ("record_posting", "published", "published"),
    ("post_interpretation", "published", "interpretation_posted"),
)
EVENT_COLUMNS = (
    "chain",
    "seq",
    "at",
    "actor",
    "actor_unit",
    "document_id",
    "action",
    "outcome",
    "state_before",
    "state_after",
    "details",
    "prev_hash",
    "hash",
    "key_id",
)
DOC_COLUMNS = (
    "id",
    "unit_id",
    "title",
    "doc_number",
    "body",
    "disclosure",
    "state",
    "version",
    "package_hash",
    "created_by",
    "created_at",
    "updated_at",
    "publication_url",
    "published_at",
    "due_at",
    "due_provisional",
    "posted_at",
    "on_time",
)
POSTING_COLUMNS = ("document_id", "channel", "outlet", "url", "posted_at", "recorded_at", "recorded_by")


def say(message: str) -> None:
    print(message, flush=True)


def document(
    i: int, per_doc: int, key: Any
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...], list[tuple[Any, ...]]]:
    """Document ``i``'s events (hashed and chained), its row and its postings, consistent."""
    from workflow.kernel import audit

    created = START + timedelta(minutes=i)
    published, due = created + timedelta(hours=6), created + timedelta(days=5)
    posted = {"portal": created + timedelta(days=1), "news_media": created + timedelta(days=2)}
    chain, prev, events, postings = f"doc:{i}", audit.GENESIS, [], []
    state, due_at, on_time, posted_at = None, None, None, None
    for seq in range(1, per_doc + 1):
        action, before, after = TEMPLATE[seq - 1] if seq <= len(TEMPLATE) else ("email_sent", None, None)
        details: dict[str, Any] = {}
        if action == "create":
            details = {
                "title": f"基准文件 {i}",
                "doc_number": f"基准〔2024〕{i}号",
                "disclosure": "proactive",
            }
        elif action == "publish":
            details = {
                "due_at": due,
                "published_at": published,
                "publication_url": f"https://b.example.cn/{i}",
            }
            due_at = due
        elif action == "record_posting":
            channel = "portal" if not postings else "news_media"
            details = {
                "channel": channel,
                "posted_at": posted[channel],
                "url": f"https://b.example.cn/{channel}/{i}",
            }
            postings.append((i, channel, None, details["url"], posted[channel], posted[channel], 1))
        elif action == "post_interpretation":
            details = {"following": "record_posting", "on_time": True, "posted_at": posted["news_media"]}
            on_time, posted_at = True, posted["news_media"]
        at = created + timedelta(minutes=seq)
        row = {
            "chain": chain,
            "seq": seq,
            "at": at,
            "actor": "clerk.u01",
            "actor_unit": "u01",
            "document_id": i,
            "action": action,
            "outcome": "allowed",
            "state_before": before,
            "state_after": after,
            "details": audit.dump_details(details),
            "prev_hash": prev,
        }
        prev = audit.event_hash(key, **row)
        events.append((*row.values(), prev, key.key_id))
        state = after or state
    doc = (
        i,
        1,
        f"基准文件 {i}",
        f"基准〔2024〕{i}号",
        "",
        "proactive",
        state,
        1,
        "x" * 64,
        1,
        created,
        created,
        f"https://b.example.cn/{i}" if due_at else None,
        published if due_at else None,
        due_at,
        False,
        posted_at,
        on_time,
    )
    return events, doc, postings


def batches(n_docs: int, per_doc: int, key: Any, size: int = 5000) -> Iterator[tuple[list, list, list]]:
    for lo in range(1, n_docs + 1, size):
        events, docs, postings = [], [], []
        for i in range(lo, min(lo + size, n_docs + 1)):
            e, d, p = document(i, per_doc, key)
            events += e
            docs.append(d)
            postings += p
        yield events, docs, postings


def load(db: Any, n_docs: int, per_doc: int, key: Any) -> float:
    """Generate and load the trail; returns the seconds it took."""
    from sqlalchemy import text

    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO units (id, code, name, kind, created_at) VALUES (1, 'u01', '基准处室', "
                "'drafting', :t)"
            ),
            {"t": START},
        )
        conn.execute(
            text(
                "INSERT INTO users (id, login, name, unit_id, roles, active, created_at) VALUES "
                "(1, 'clerk.u01', '科员', 1, 'member', true, :t)"
            ),
            {"t": START},
        )
    if db.is_sqlite:
        import sqlite3

        conn = sqlite3.connect(sqlite_path(db.url), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")

        def stamp(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            return v

        for events, docs, postings in batches(n_docs, per_doc, key):
            conn.execute("BEGIN")
            for table, cols, rows in (
                ("documents", DOC_COLUMNS, docs),
                ("audit_events", EVENT_COLUMNS, events),
                ("postings", POSTING_COLUMNS, postings),
            ):
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [tuple(stamp(v) for v in r) for r in rows],
                )  # the head trigger runs
            conn.execute("COMMIT")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(pg_conninfo(db.url)) as conn:
            conn.execute("SET session_replication_role = replica")  # heads written below, in one go
            conn.execute("SET synchronous_commit = off")
            for done, (events, docs, postings) in enumerate(batches(n_docs, per_doc, key), 1):
                with conn.cursor() as cur:
                    for table, cols, rows in (
                        ("documents", DOC_COLUMNS, docs),
                        ("audit_events", EVENT_COLUMNS, events),
                        ("postings", POSTING_COLUMNS, postings),
                    ):
                        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                            for r in rows:
                                copy.write_row(r)
                conn.commit()
                if done % 20 == 0:
                    say(f"  loaded {done * 5000:,} documents, {time.perf_counter() - started:.0f} s")
            conn.execute(
                "INSERT INTO audit_heads (chain, seq, hash) SELECT DISTINCT ON (chain) chain, seq, hash "
                "FROM audit_events ORDER BY chain, seq DESC"
            )
            for table in ("documents", "postings"):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n_docs: int, per_doc: int, moved: float, kind: str) -> list[Figure]:
    from workflow.kernel import audit
    from workflow.kernel.audit_verify import VerifyOptions, verify
    from workflow.kernel.auditkeys import generate_keyring
    from workflow.kernel.clock import FixedClock
    from workflow.kernel.db import Database
    from workflow.kernel.settings import Settings
    from workflow.services.audit_admin import AuditAdmin

    events = n_docs * per_doc
    scale = f"{n_docs:,} documents, {events:,} events, {kind}"
    figures: list[Figure] = []
    with (
        tempfile.TemporaryDirectory(prefix="santongbu_bench_verify_") as folder,
        backend(kind, "verify") as url,
    ):
        keyring = generate_keyring(Path(folder) / "audit.key", now=START)
        audit.use_keyring(keyring)
        db = Database(url)
        db.upgrade()
        say(f"loading {scale} …")
        seconds = load(db, n_docs, per_doc, keyring.active)
        figures.append(
            Figure("verify", f"load, {scale}", events / seconds, "events/s", note="generate + hash + insert")
        )
        now = START + timedelta(days=400)
        t0 = time.perf_counter()
        service = AuditAdmin(db, FixedClock(now), Settings(database_url=url))
        done = service.checkpoint(export_dir=Path(folder) / "anchors")
        figures.append(
            Figure(
                "verify",
                f"checkpoint + signed anchor, {scale}",
                time.perf_counter() - t0,
                "s",
                note=f"{done.chains:,} heads, anchor {done.anchor.stat().st_size / 2**20:.1f} MiB"
                if done.anchor
                else "",
            )
        )
        step = max(1, round(1 / moved)) if moved > 0 else 0
        chosen = list(range(1, n_docs + 1, step)) if step else []
        with db.transaction() as s:
            audit.append_many(s, [audit.Entry(now, None, "email_sent", document_id=d) for d in chosen])
        say(f"{len(chosen):,} documents moved after the anchor")
        for label, since in (("full", False), ("incremental from the anchor", True)):
            t0 = time.perf_counter()
            with db.snapshot() as s:
                report = verify(
                    s, VerifyOptions(keyring=keyring, anchors=Path(folder) / "anchors", since_anchor=since)
                )
            took = time.perf_counter() - t0
            if not report.ok:
                raise SystemExit(
                    f"verify ({label}) found something in a generated trail: "
                    f"{json.dumps(report.as_dict(), ensure_ascii=False)[:2000]}"
                )
            say(
                f"verify {label}: {report.events:,} events in {report.chains:,} chains, "
                f"{report.documents:,} documents, {took:.2f} s"
            )
            figures.append(
                Figure(
                    "verify",
                    f"verify {label}, {scale}",
                    took,
                    "s",
                    note=f"{report.events / took:,.0f} events/s read, {report.documents:,} documents",
                )
            )
        figures.append(Figure("verify", f"peak memory of the process, {scale}", peak_mib(), "MiB"))
        db.dispose()
        audit.use_keyring(None)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents (default 2,000)")
    parser.add_argument("--per-doc", type=int, default=10, help="events per document (default 10)")
    parser.add_argument(
        "--moved", type=float, default=0.01, help="share of documents with an event after the anchor"
    )
    parser.add_argument("--full-scale", action="store_true", help="1,000,000 documents, 10 events each")
    parser.add_argument("--backend", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--quick", action="store_true", help="500 documents")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    docs = 1_000_000 if args.full_scale else (500 if args.quick else args.docs)
    finish(run(docs, 10 if args.full_scale else args.per_doc, args.moved, args.backend), args.json)


if __name__ == "__main__":
    main()
