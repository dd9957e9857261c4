"""Benchmark: the audit trail and the reports at a million documents (issue 6).

Targets, on this machine, with 1,000,000 documents and 10,000,000 audit events in PostgreSQL:

* one document's timeline < 20 ms (p50 and p95 over random documents);
* one unit's on-time report for a year < 1 s.

The script makes its own throwaway database (``santongbu_bench_<pid>`` on the admin URL's
server), brings it to the current schema with the real migrations (so the indexes measured are
the ones shipped), generates the data server-side with ``generate_series`` and drops the
database at the end (``--keep`` leaves it for inspection).

About the generated data — generation speed matters more than realism here:

* 20 drafting units; documents created uniformly at random over 2021-01-01 … 2024-12-31
  (about 12,500 per unit and year at full scale); 10 % drafts, 10 % awaiting sign-off, the
  rest published 2 days after creation; those from the last 12 days (and 0.1 % of older ones)
  still await their interpretation, the others are posted 1–8 days after publication. The
  deadline is "publication day + 5 days, 23:59:59 local", not computed on the holiday calendar
  (the reports do count working days on the calendar when they run).
* 10 audit events per document, inserted seq-major (every document's event 1, then every
  document's event 2, …) so that a document's events lie ten heap pages apart, as they would
  after years of interleaved activity; the ``at`` column is creation + seq hours.
* ``hash`` and ``prev_hash`` are 64 hex characters (two MD5s) linked the way a chain is, but
  they are **not** valid SHA-256 chain hashes: ``audit verify`` would report every chain.
* One material per signed document, portal + news-media postings per posted document (plus a
  new-media one for every fifth), an ``overdue`` escalation per overdue document; no signers.

Loading drops the secondary indexes and unique constraints of the loaded tables first and
rebuilds them afterwards (faster than maintaining them row by row), then VACUUM ANALYZE.
Timings are taken with a warm cache (the data was just written; the OS keeps it in memory on a
machine with enough RAM); say so when quoting them.

Usage::

    .venv/bin/python bench/bench_audit_pg.py --scale 0.01      # quick: 10,000 documents
    .venv/bin/python bench/bench_audit_pg.py                   # full: 1,000,000 / 10,000,000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workflow.kernel.clock import FixedClock  # noqa: E402
from workflow.kernel.db import Database, normalise_url  # noqa: E402
from workflow.kernel.settings import Settings  # noqa: E402
from workflow.services.audit_queries import AuditQueries, EventFilter, timeline_events  # noqa: E402
from workflow.services.reports import Reports  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 1, 2, 10, 0, tzinfo=SHANGHAI)
UNITS = 20
EVENTS_PER_DOC = 10
LOGIN = "bench.supervisor"
TIMELINE_TARGET_MS = 20.0
ON_TIME_TARGET_MS = 1000.0
LOADED_TABLES = ("documents", "audit_events", "materials", "postings", "escalations")
ACTIONS = (
    "create",
    "prepare_plan",
    "edit",
    "attach_material",
    "set_signers",
    "request_signoff",
    "sign",
    "sign",
    "publish",
    "record_posting",
)
STATES = (
    "draft",
    "draft",
    "interpretation_plan",
    "interpretation_plan",
    "interpretation_plan",
    "interpretation_plan",
    "joint_signoff",
    "joint_signoff",
    "joint_signoff",
    "published",
)
FOUR_YEARS_MINUTES = 1461 * 24 * 60


def say(message: str) -> None:
    print(message, flush=True)


def timed(what: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    say(f"  {what}: {time.perf_counter() - start:.1f} s")
    return result


# --------------------------------------------------------------------------- data
CREATED = f"(TIMESTAMPTZ '2021-01-01 00:00+08' + ((i * 7919) % {FOUR_YEARS_MINUTES}) * INTERVAL '1 minute')"

DOCUMENTS_SQL = f"""
INSERT INTO documents (id, unit_id, title, doc_number, body, disclosure, risk_assessment_needed,
    plan, interpreter_id, state, version, package_hash, created_by, created_at, updated_at,
    publication_url, published_at, due_at, due_provisional, posted_at, on_time,
    working_days_taken, working_days_late)
SELECT i, u, '基准测试文件 ' || i, '基准〔' || extract(year FROM created)::int || '〕' || i || '号', '',
    'proactive', false, CASE WHEN k >= 2 THEN '解读方案' END, CASE WHEN k >= 2 THEN u END, state, 1,
    md5(i::text) || md5((-i)::text), u, created, coalesce(posted, pub, created),
    CASE WHEN pub IS NOT NULL THEN 'https://bench.example.cn/zcwj/' || i || '.htm' END,
    pub, due, false, posted, CASE WHEN posted IS NOT NULL THEN posted <= due END,
    CASE WHEN posted IS NOT NULL THEN (i * 31) % 8 + 1 END,
    CASE WHEN posted IS NOT NULL THEN greatest((i * 31) % 8 + 1 - 5, 0) END
FROM (
    SELECT *, CASE WHEN state = 'interpretation_posted'
                   THEN (date_trunc('day', pub AT TIME ZONE 'Asia/Shanghai')
                         + ((i * 31) % 8 + 1) * INTERVAL '1 day' + INTERVAL '10 hours') AT TIME ZONE 'Asia/Shanghai'
              END AS posted
    FROM (
        SELECT *, (date_trunc('day', pub AT TIME ZONE 'Asia/Shanghai') + INTERVAL '5 days 23:59:59')
                  AT TIME ZONE 'Asia/Shanghai' AS due
        FROM (
            SELECT *, CASE WHEN state IN ('published', 'interpretation_posted')
                           THEN created + INTERVAL '2 days' END AS pub
            FROM (
                SELECT i, (i % {UNITS}) + 1 AS u, {CREATED} AS created, i % 10 AS k,
                       CASE WHEN i % 10 = 0 THEN 'draft'
                            WHEN i % 10 = 1 THEN 'joint_signoff'
                            WHEN {CREATED} >= TIMESTAMPTZ '2024-12-20 00:00+08' OR i % 1000 = 2 THEN 'published'
                            ELSE 'interpretation_posted' END AS state
                FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS i
            ) a
        ) b
    ) c
) d
"""

EVENTS_SQL = f"""
INSERT INTO audit_events (chain, seq, at, actor, actor_unit, document_id, action, outcome,
    state_before, state_after, details, prev_hash, hash)
SELECT 'doc:' || i, :seq, {CREATED} + :seq * INTERVAL '1 hour',
    'clerk.u' || lpad(((i % {UNITS}) + 1)::text, 2, '0'), 'u' || lpad(((i % {UNITS}) + 1)::text, 2, '0'),
    i, :action, CASE WHEN (i + :seq * 7) % 50 = 0 THEN 'refused' ELSE 'allowed' END,
    :before, :after, '{{}}',
    CASE WHEN :seq = 1 THEN repeat('0', 64) ELSE md5(i || ':' || (:seq - 1)) || md5((:seq - 1) || ':' || i) END,
    md5(i || ':' || :seq) || md5(:seq || ':' || i)
FROM generate_series(1, CAST(:n AS bigint)) AS i
"""

SIDE_SQL = [
    (
        "materials",
        """
INSERT INTO materials (document_id, form, title, body, uri, content_hash, created_by, created_at)
SELECT id, (ARRAY['text','graphic','video','qa','online_interview','press_conference','other'])[(id % 7) + 1],
       '解读材料 ' || id, '……', NULL, md5(id::text), created_by, created_at
FROM documents WHERE state IN ('joint_signoff', 'published', 'interpretation_posted')
""",
    ),
    (
        "postings",
        """
INSERT INTO postings (document_id, channel, outlet, url, evidence, posted_at, recorded_at, recorded_by)
SELECT id, 'portal', NULL, 'https://bench.example.cn/jd/' || id || '.htm', NULL,
       posted_at - INTERVAL '1 hour', posted_at - INTERVAL '1 hour', created_by
FROM documents WHERE state = 'interpretation_posted'
UNION ALL
SELECT id, 'news_media', (ARRAY['福州日报','福建日报','海峡都市报','东南快报'])[(id % 4) + 1],
       'https://news.example.cn/' || id || '.htm', NULL, posted_at, posted_at, created_by
FROM documents WHERE state = 'interpretation_posted'
UNION ALL
SELECT id, 'new_media', '福州交通微信公众号', 'https://mp.example.cn/' || id, NULL, posted_at, posted_at, created_by
FROM documents WHERE state = 'interpretation_posted' AND id % 5 = 0
""",
    ),
    (
        "escalations",
        """
INSERT INTO escalations (document_id, level, fired_at, due_at, working_days_overdue)
SELECT id, 'overdue', due_at + INTERVAL '1 second', due_at, 0
FROM documents WHERE state = 'published' AND due_at < :now
""",
    ),
]


def seed_directory(conn: Any) -> None:
    conn.execute(
        text(
            "INSERT INTO units (id, code, name, kind, mailbox, head_login, created_at) "
            "SELECT u, 'u' || lpad(u::text, 2, '0'), '基准处室' || u, 'drafting', NULL, NULL, now() "
            f"FROM generate_series(1, {UNITS}) u"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO units (id, code, name, kind, created_at) VALUES ({UNITS + 1}, 'zfc', '政法处', 'supervising', now())"
        )
    )
    conn.execute(
        text(
            "INSERT INTO users (id, login, name, email, unit_id, roles, active, created_at) "
            "SELECT u, 'clerk.u' || lpad(u::text, 2, '0'), '科员' || u, NULL, u, 'member', true, now() "
            f"FROM generate_series(1, {UNITS}) u"
        )
    )
    conn.execute(
        text(
            "INSERT INTO users (id, login, name, unit_id, roles, active, created_at) "
            f"VALUES ({UNITS + 1}, :login, '林处长', {UNITS + 1}, 'supervisor', true, now())"
        ),
        {"login": LOGIN},
    )


def set_aside_indexes(conn: Any) -> list[str]:
    """Drop secondary indexes and unique constraints of the loaded tables; return the DDL that
    recreates them exactly as the migrations made them."""
    tables = list(LOADED_TABLES)
    recreate: list[str] = []
    for name, table, definition in conn.execute(
        text(
            "SELECT c.conname, t.relname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = ANY(:t) AND c.contype = 'u'"
        ),
        {"t": tables},
    ):
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in conn.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(:t) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ),
        {"t": tables},
    ):
        conn.execute(text(f'DROP INDEX "{name}"'))
        recreate.append(definition)
    return recreate


def load(db: Database, n_docs: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with db.engine.begin() as conn:
        seed_directory(conn)
        recreate = set_aside_indexes(conn)
    start = time.perf_counter()
    with db.engine.begin() as conn:
        # Superuser-only: skips foreign-key triggers while loading (the data is generated whole).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        step = 250_000
        for lo in range(1, n_docs + 1, step):
            conn.execute(text(DOCUMENTS_SQL), {"lo": lo, "hi": min(lo + step - 1, n_docs)})
        say(f"  documents: {n_docs:,} rows, {time.perf_counter() - start:.1f} s")
    figures["load_documents_s"] = time.perf_counter() - start
    start = time.perf_counter()
    for seq in range(1, EVENTS_PER_DOC + 1):
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            # No chain heads are measured here: skip the trigger that moves them (0008).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            # seq is ours (an int), spelt into the SQL so the server knows its type everywhere.
            conn.execute(
                text(EVENTS_SQL.replace(":seq", str(seq))),
                {
                    "n": n_docs,
                    "action": ACTIONS[seq - 1],
                    "before": STATES[seq - 2] if seq > 1 else None,
                    "after": STATES[seq - 1],
                },
            )
        say(
            f"  audit events: seq {seq}/{EVENTS_PER_DOC} ({n_docs * seq:,} rows), {time.perf_counter() - start:.1f} s"
        )
    figures["load_events_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name, sql in SIDE_SQL:
            rows = conn.execute(text(sql), {"now": NOW} if ":now" in sql else {}).rowcount
            say(f"  {name}: {rows:,} rows")
        for table in ("documents", "materials", "postings", "escalations", "units", "users"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )
    figures["load_side_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        for ddl in recreate:
            t0 = time.perf_counter()
            conn.execute(text(ddl))
            say(f"  rebuilt in {time.perf_counter() - t0:5.1f} s: {ddl[:110]}")
        figures["indexes_s"] = time.perf_counter() - start
        t0 = time.perf_counter()
        for table in (*LOADED_TABLES, "units", "users"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
        say(f"  VACUUM ANALYZE: {time.perf_counter() - t0:.1f} s")
        figures["vacuum_s"] = time.perf_counter() - t0
        for table in ("documents", "audit_events"):
            size = conn.execute(
                text("SELECT pg_size_pretty(pg_total_relation_size(:t))"), {"t": table}
            ).scalar()
            count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            say(f"  {table}: {count:,} rows, {size} with indexes")
    return figures


# --------------------------------------------------------------------------- measuring
class Statements:
    """Captures the SQL a call runs, to EXPLAIN it afterwards (--explain)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[tuple[str, Any]] = []
        self.on = False
        event.listen(db.engine, "before_cursor_execute", self._capture)

    def _capture(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if self.on and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))

    def explain(self, title: str, fn: Callable[[], Any]) -> None:
        self.seen, self.on = [], True
        try:
            fn()
        finally:
            self.on = False
        say(f"\n--- EXPLAIN ANALYZE: {title} ({len(self.seen)} statements) ---")
        with self.db.engine.connect() as conn:
            for statement, parameters in self.seen:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
                say(statement.strip().splitlines()[0][:100] + " …")
                for (line,) in plan:
                    say("    " + line)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(
    db: Database, n_docs: int, samples: int, seed: int, explain: bool
) -> list[tuple[str, float, float | None]]:
    settings = Settings(database_url=db.url)
    clock = FixedClock(NOW)
    queries = AuditQueries(db, clock, settings)
    reports = Reports(db, clock, settings)
    rng = random.Random(seed)
    results: list[tuple[str, float, float | None]] = []

    def run_ms(fn: Callable[[], Any]) -> float:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1000

    def ping() -> None:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    pings = [run_ms(ping) for _ in range(samples)]
    load = os.getloadavg()
    say(
        f"\nMachine load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs; "
        f"a bare pooled round trip (SELECT 1) takes p50 {statistics.median(pings):.2f} ms, "
        f"p95 {percentile(pings, 0.95):.2f} ms"
    )
    ids = [rng.randint(1, n_docs) for _ in range(samples)]
    run_ms(lambda: queries.timeline(LOGIN, ids[0]))  # connection pool and statement caches
    rows = len(queries.timeline(LOGIN, ids[0]).rows)
    assert rows == EVENTS_PER_DOC, rows
    service = [run_ms(lambda d=d: queries.timeline(LOGIN, d)) for d in ids]

    def raw(d: int) -> None:
        with db.transaction() as s:
            timeline_events(s, d)

    bare = [run_ms(lambda d=d: raw(d)) for d in ids]
    say(f"\nTimeline of one document, {samples} random documents (target < {TIMELINE_TARGET_MS:.0f} ms):")
    for label, values in (
        ("AuditQueries.timeline (authorise + read)", service),
        ("events query alone", bare),
    ):
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        say(
            f"  {label:42s} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  max {max(values):6.2f} ms"
            f"  → p95 is {p95 / TIMELINE_TARGET_MS:.2f}× the target"
        )
        results.append((f"timeline p50 ({label})", p50, TIMELINE_TARGET_MS))
        results.append((f"timeline p95 ({label})", p95, TIMELINE_TARGET_MS))

    unit = "u07"
    first = run_ms(lambda: reports.on_time(LOGIN, period="2024", unit=unit))
    runs = [run_ms(lambda: reports.on_time(LOGIN, period="2024", unit=unit)) for _ in range(5)]
    table = reports.on_time(LOGIN, period="2024", unit=unit)
    say(
        f"\nOn-time report, unit {unit}, year 2024 (target < {ON_TIME_TARGET_MS:.0f} ms): "
        f"{table.totals['published']:,} documents; first run {first:.1f} ms, median of 5 "
        f"{statistics.median(runs):.1f} ms → {statistics.median(runs) / ON_TIME_TARGET_MS:.3f}× the target"
    )
    results.append(("on-time, one unit, one year (first run)", first, ON_TIME_TARGET_MS))
    results.append(("on-time, one unit, one year (median of 5)", statistics.median(runs), ON_TIME_TARGET_MS))

    extras: list[tuple[str, Callable[[], Any]]] = [
        (
            "on-time, one unit, 2024 by month",
            lambda: reports.on_time(LOGIN, period="2024", unit=unit, by="month"),
        ),
        ("on-time, all units, 2024", lambda: reports.on_time(LOGIN, period="2024")),
        ("overdue, all units, now", lambda: reports.overdue(LOGIN)),
        ("late, one unit, 2024-Q2", lambda: reports.late(LOGIN, period="2024-Q2", unit=unit)),
        ("ledger, one unit, 2024-03", lambda: reports.ledger(LOGIN, period="2024-03", unit=unit)),
        ("ledger, one unit, 2024", lambda: reports.ledger(LOGIN, period="2024", unit=unit)),
        ("year-end, one unit, 2024", lambda: reports.year_end(LOGIN, period="2024", unit=unit)),
        (
            "audit events: actor, one month, 100",
            lambda: queries.events(
                LOGIN,
                EventFilter(
                    actor="clerk.u07",
                    since=datetime(2024, 3, 1, tzinfo=SHANGHAI),
                    until=datetime(2024, 4, 1, tzinfo=SHANGHAI),
                ),
            ),
        ),
        (
            "audit events: unit, refused, 2024, 100",
            lambda: queries.events(
                LOGIN, EventFilter(unit="u07", outcome="refused", since=datetime(2024, 1, 1, tzinfo=SHANGHAI))
            ),
        ),
        (
            "audit events: action publish, page 2",
            lambda: queries.events(
                LOGIN,
                EventFilter(action="publish"),
                after_id=queries.events(LOGIN, EventFilter(action="publish")).next_after_id,
            ),
        ),
    ]
    say("\nOther queries (no target; median of 3):")
    for label, fn in extras:
        fn()
        values = [run_ms(fn) for _ in range(3)]
        size = fn()
        count = len(size.table.rows) if hasattr(size, "table") else len(size.rows)
        say(f"  {label:42s} {statistics.median(values):8.1f} ms  ({count:,} rows)")
        results.append((label, statistics.median(values), None))
    if explain:
        stmts = Statements(db)
        stmts.explain("timeline", lambda: queries.timeline(LOGIN, ids[1]))
        stmts.explain("on-time, one unit, 2024", lambda: reports.on_time(LOGIN, period="2024", unit=unit))
        stmts.explain("overdue, all units", lambda: reports.overdue(LOGIN))
    return results


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of 1,000,000 documents (and of 10,000,000 events), e.g. 0.01",
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("SANTONGBU_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a superuser connection to the server; the benchmark database is created beside it",
    )
    parser.add_argument("--samples", type=int, default=200, help="documents whose timeline is timed")
    parser.add_argument("--seed", type=int, default=20240209)
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of the measured queries"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (prints its name)")
    parser.add_argument(
        "--reuse",
        metavar="NAME",
        help="measure a database kept by an earlier --keep run instead of generating one "
        "(it is kept again; drop it with dropdb when done)",
    )
    args = parser.parse_args()
    admin = create_engine(normalise_url(args.admin_url), isolation_level="AUTOCOMMIT")
    name = args.reuse or f"santongbu_bench_{os.getpid()}"
    with admin.connect() as conn:
        if not args.reuse:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        version = conn.execute(text("SHOW server_version")).scalar()
        memory = {k: conn.execute(text(f"SHOW {k}")).scalar() for k in ("shared_buffers", "work_mem")}
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{name}"
    db = Database(url)
    started = time.perf_counter()
    try:
        say(
            f"PostgreSQL {version} ({', '.join(f'{k} {v}' for k, v in memory.items())}); "
            f"{os.cpu_count()} CPUs; database {name}"
        )
        if args.reuse:
            with db.engine.connect() as conn:
                n_docs = conn.execute(text("SELECT count(*) FROM documents")).scalar() or 0
            say(f"Reusing {n_docs:,} documents and {n_docs * EVENTS_PER_DOC:,} audit events")
        else:
            n_docs = max(100, int(1_000_000 * args.scale))
            say(
                f"Generating {n_docs:,} documents and {n_docs * EVENTS_PER_DOC:,} audit events (scale {args.scale}):"
            )
            timed("schema (migrations)", db.upgrade)
            load(db, n_docs)
            say(f"  generated in {time.perf_counter() - started:.0f} s")
        results = measure(db, n_docs, args.samples, args.seed, args.explain)
        say("\nSummary (measured / target):")
        for label, value, target in results:
            if target is not None:
                verdict = "ok" if value < target else "OVER"
                say(f"  {label:58s} {value:9.2f} ms / {target:6.0f} ms = {value / target:5.3f}  {verdict}")
        say(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
        failed = [r for r in results if r[2] is not None and r[1] >= r[2]]
        return 1 if failed else 0
    finally:
        db.dispose()
        if args.keep or args.reuse:
            say(f"kept: {name} (measure again: --reuse {name}; drop: dropdb -h … -U … {name})")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
