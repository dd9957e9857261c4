"""Benchmark 3: the deadline sweep over a million documents in PostgreSQL.

Run:  .venv/bin/python bench/bench_sweep.py [--scale 1000000] [--overdue 10000]

The documents are generated inside PostgreSQL (``INSERT … SELECT … FROM generate_series``), so
a million rows take seconds, not the hours a million service calls would. What they look like
(per million; ``--scale`` shrinks or grows every group but the overdue one in proportion):

* most are history: ``interpretation_posted``, published in 2019–2024; the tenth that was late
  keeps its ``reminder`` and ``overdue`` records in ``escalations`` (~190,000 rows per million),
  as the table would after years of use;
* 2 % are drafts, plans and packages in sign-off (not published: never candidates);
* 2 % are ``published`` and due later (after 2024-06-11): open, nothing due yet;
* 0.2 % are ``published`` and long overdue, every rung of the ladder already recorded in
  ``escalations`` — the backlog the ``NOT EXISTS`` anti-join must skip on every sweep;
* ``--overdue`` (10,000) are ``published``, due Mon 2024-06-03 23:59:59 (+08:00), with their
  ``reminder`` and ``overdue`` rungs recorded: at Tue 2024-06-04 10:00 nothing of theirs is due,
  at Wed 2024-06-05 10:00 their ``escalated`` rung (one working day overdue) is.

Every document has an audit chain head (``audit_heads``), as it would after its history, and the
tables are ``VACUUM ANALYZE``\\ d — the state a production database is in. Open documents start
with their sweep hint (``next_rung_at``) at the publication instant, as right after migration
0006 or a calendar load; the first sweep gives each its exact hint, and is measured too.

Measured, with the real :func:`workflow.services.sweep.sweep` and the default batch size:

1. **nothing due** — the sweep at Tue 10:00, repeated; target < 20 ms;
2. **10,000 overdue** — one sweep at Wed 10:00: each document gets its ``escalated`` record,
   its audit event, its outbox row (supervisors, unit and head in copy) and that row's
   ``email_queued`` event; target < 5 s. The counts are checked afterwards; the CPU time of
   the sweeping process is printed beside the wall time (PostgreSQL's work is not in it).
3. **10,000 overdue with 1, 2 and 4 sweeper processes** (``--sweepers``) — the same sweep, run
   at once by N processes of their own, as N workers' beats would: candidates are claimed with
   ``FOR UPDATE SKIP LOCKED``, so the sweeps share the batches instead of waiting on each other.
   Each N starts from the same database: a copy (``CREATE DATABASE … TEMPLATE``) of the
   generated one as it is before the overdue sweep, dropped afterwards. Each process connects,
   builds its calendar and sweeps once at Tue 10:00 (nothing due) first, then all start
   together (the copy's pages may not be in PostgreSQL's buffers yet; since migration 0016 the
   sweep renders no email, so no template is compiled in it); the figure is the wall time from
   that start to the last process's end, and the counts (every document escalated once, one
   outbox row each) are checked as for 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import App, Figure, _admin_engine, application, finish, shanghai, throwaway_pg

QUIET_AT = shanghai(2024, 6, 4, 10, 0)  # Tue: nothing due
DUE_AT = shanghai(2024, 6, 5, 10, 0)  # Wed: the overdue documents' "escalated" is due
OVERDUE_DUE = "2024-06-03 23:59:59+08"  # Mon, the due day of the overdue group

GENERATE = """
INSERT INTO documents (unit_id, title, doc_number, body, disclosure, risk_assessment_needed,
    plan, state, version, package_hash, created_by, created_at, updated_at, publication_url,
    published_at, due_at, due_provisional, posted_at, on_time, working_days_taken,
    working_days_late)
SELECT
    (:units)[1 + (g.i % cardinality(:units))],
    '福州市交通运输局关于规范性文件第' || g.i || '号的通知', '榕交〔' || (2019 + g.i % 6) || '〕' || g.i || '号',
    '第一条 …', 'proactive', false, '解读方案', g.state, 3 + g.i % 7, md5(g.i::text) || md5(g.i::text),
    :clerk, g.pub - interval '20 days', g.pub, CASE WHEN g.pub IS NULL THEN NULL ELSE
    'https://jtj.fuzhou.example.cn/zcwj/' || g.i || '.htm' END,
    CASE WHEN g.state IN ('published', 'interpretation_posted') THEN g.pub END,
    g.due, false,
    CASE WHEN g.state = 'interpretation_posted' THEN g.due - interval '1 day' * (g.i % 3) END,
    CASE WHEN g.state = 'interpretation_posted' THEN g.i % 10 <> 0 END,
    CASE WHEN g.state = 'interpretation_posted' THEN 1 + g.i % 3 END,
    CASE WHEN g.state = 'interpretation_posted' THEN CASE WHEN g.i % 10 = 0 THEN 1 ELSE 0 END END
FROM (
    SELECT i, s.state, s.pub, s.pub + interval '4 days' AS due FROM (
        SELECT i,
            CASE
                WHEN i <= :history THEN 'interpretation_posted'
                WHEN i <= :history + :unpublished THEN (ARRAY['draft', 'interpretation_plan', 'joint_signoff'])[1 + i % 3]
                ELSE 'published'
            END AS state,
            CASE
                WHEN i <= :history THEN timestamptz '2019-01-01 10:00+08' + (i % 1900) * interval '1 day'
                WHEN i <= :history + :unpublished THEN timestamptz '2024-05-01 10:00+08'
                WHEN i <= :history + :unpublished + :future THEN timestamptz '2024-06-08 10:00+08' + (i % 200) * interval '1 day'
                ELSE timestamptz '2023-01-02 10:00+08' + (i % 300) * interval '1 day'
            END AS pub
        FROM generate_series(1, :total) AS i
    ) AS s
) AS g(i, state, pub, due)
"""


def generate(app: App, scale: int, overdue: int) -> dict[str, int]:
    """Fill the database; returns how many documents of each kind were made."""
    from sqlalchemy import text

    history = int(scale * 0.958)
    unpublished = int(scale * 0.02)
    future = int(scale * 0.02)
    backlog = scale - history - unpublished - future
    groups = {
        "history": history,
        "unpublished": unpublished,
        "future": future,
        "backlog": backlog,
        "overdue": overdue,
    }
    engine = app.db.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        units = list(conn.execute(text("SELECT id FROM units WHERE kind = 'drafting' ORDER BY id")).scalars())
        clerk = conn.execute(text("SELECT id FROM users WHERE login = 'liu.spc'")).scalar_one()
        conn.execute(
            text(GENERATE),
            {
                "units": units,
                "clerk": clerk,
                "history": history,
                "unpublished": unpublished,
                "future": future,
                "total": scale,
            },
        )
        # History keeps its records: the late tenth of it was reminded and marked overdue. The
        # sweep's anti-join must not slow down as this table grows year after year.
        conn.execute(
            text(
                "INSERT INTO escalations (document_id, level, fired_at, due_at, working_days_overdue) "
                "SELECT d.id, l.level, d.due_at + l.after, d.due_at, 0 FROM documents d "
                "CROSS JOIN (VALUES ('reminder', interval '-15 hours'), ('overdue', interval '1 second')) AS l(level, after) "
                "WHERE d.state = 'interpretation_posted' AND NOT d.on_time"
            )
        )
        # The backlog: long overdue, every rung recorded.
        conn.execute(
            text(
                "INSERT INTO escalations (document_id, level, fired_at, due_at, working_days_overdue) "
                "SELECT d.id, l.level, d.due_at + l.after, d.due_at, l.n FROM documents d "
                "CROSS JOIN (VALUES ('reminder', interval '-15 hours', 0), ('overdue', interval '1 second', 0), "
                "('escalated', interval '1 day', 1), ('escalated_high', interval '3 days', 3)) AS l(level, after, n) "
                "WHERE d.state = 'published' AND d.due_at < timestamptz '2024-01-01 00:00+08'"
            )
        )
        # The overdue group: due Monday, reminded and marked overdue already.
        first = conn.execute(text("SELECT max(id) FROM documents")).scalar_one() + 1
        conn.execute(
            text(
                "INSERT INTO documents (unit_id, title, doc_number, body, disclosure, "
                "risk_assessment_needed, plan, state, version, package_hash, created_by, created_at, "
                "updated_at, publication_url, published_at, due_at, due_provisional) "
                "SELECT (:units)[1 + (i % cardinality(:units))], '逾期文件' || i, '榕交〔2024〕' || i || '号', "
                "'第一条 …', 'proactive', false, '解读方案', 'published', 5, md5(i::text) || md5(i::text), "
                ":clerk, timestamptz '2024-05-20 10:00+08', timestamptz '2024-05-29 10:00+08', "
                "'https://jtj.fuzhou.example.cn/zcwj/o' || i || '.htm', timestamptz '2024-05-29 10:00+08', "
                "CAST(:due AS timestamptz), false FROM generate_series(1, :n) AS i"
            ),
            {"units": units, "clerk": clerk, "n": overdue, "due": OVERDUE_DUE},
        )
        conn.execute(
            text(
                "INSERT INTO escalations (document_id, level, fired_at, due_at, working_days_overdue) "
                "SELECT d.id, l.level, d.due_at + l.after, d.due_at, 0 FROM documents d "
                "CROSS JOIN (VALUES ('reminder', interval '-15 hours'), ('overdue', interval '1 second')) AS l(level, after) "
                "WHERE d.id >= :first"
            ),
            {"first": first},
        )
        # As after the upgrade to migration 0006 (or a calendar load): every open document's
        # hint is its publication instant; the first sweep looks at each once (measured).
        conn.execute(text("UPDATE documents SET next_rung_at = published_at WHERE state = 'published'"))
        # Every document has its audit chain head, as after its history.
        conn.execute(
            text(
                "INSERT INTO audit_heads (chain, seq, hash) "
                "SELECT 'doc:' || id, 6, md5(id::text) || md5(id::text) FROM documents"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return groups


def sweeper(url: str, settings: Any, now: str, start: Any, out: Any) -> None:
    """One sweeper process: connect and warm up, wait for the common start, sweep once as of
    ``now``, report (start, end, escalated, batches, deferred) on ``out``."""
    from sqlalchemy import text

    from workflow.kernel.calendar import calendar_for
    from workflow.kernel.clock import FixedClock
    from workflow.kernel.db import Database
    from workflow.services.sweep import sweep

    db = Database(url)
    settings = settings.model_copy(update={"database_url": db.url})
    try:
        with db.transaction() as session:  # a pooled connection, the calendar built: not timed
            session.execute(text("SELECT 1"))
            calendar_for(session, settings)
        sweep(db, FixedClock(QUIET_AT), settings)  # the sweep's own queries once (nothing is due)
        out.put(("ready", os.getpid()))
        start.wait()
        began = time.monotonic()
        report = sweep(db, FixedClock(datetime.fromisoformat(now)), settings)
        out.put(
            ("done", began, time.monotonic(), report.count("escalated"), report.batches, len(report.deferred))
        )
    except BaseException as exc:  # reported, so the parent does not wait for ever
        out.put(("failed", repr(exc)))
        raise
    finally:
        db.dispose()


def copy_database(url: str, suffix: str) -> str:
    """A copy of the database at ``url`` (which nobody may be connected to), for one run."""
    from sqlalchemy import text

    base, name = url.rsplit("/", 1)
    copy = f"{name}_{suffix}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
    finally:
        engine.dispose()
    return f"{base}/{copy}"


def drop_database(url: str) -> None:
    from sqlalchemy import text

    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    finally:
        engine.dispose()


def concurrent_sweep(url: str, settings: Any, processes: int, overdue: int) -> tuple[float, list[int]]:
    """``processes`` sweeps at once, as of DUE_AT, on a copy of ``url``; (wall seconds, escalated
    by each process). The copy is dropped afterwards."""
    from multiprocessing import get_context

    from sqlalchemy import create_engine, text

    from workflow.kernel.db import normalise_url

    copy = copy_database(url, f"w{processes}")
    ctx = get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=sweeper, args=(copy, settings, DUE_AT.isoformat(), start, out))
        for _ in range(processes)
    ]
    try:
        for w in workers:
            w.start()
        for _ in workers:
            message = out.get(timeout=300)
            if message[0] != "ready":
                raise RuntimeError(f"a sweeper failed while starting: {message}")
        start.set()
        done = [out.get(timeout=1800) for _ in workers]
        failed = [m for m in done if m[0] != "done"]
        if failed:
            raise RuntimeError(f"a sweeper failed: {failed}")
        for w in workers:
            w.join(60)
        wall = max(m[2] for m in done) - min(m[1] for m in done)
        escalated = [m[3] for m in done]
        engine = create_engine(normalise_url(copy))
        with engine.connect() as conn:
            outbox = conn.execute(text("SELECT count(*) FROM outbox WHERE event = 'escalated'")).scalar_one()
            once = conn.execute(
                text(
                    "SELECT count(DISTINCT document_id), count(*) FROM escalations WHERE level = 'escalated'"
                )
            ).one()
        engine.dispose()
        deferred = sum(m[5] for m in done)
        if sum(escalated) != overdue or outbox != overdue or deferred or once[0] != once[1]:
            raise RuntimeError(
                f"{processes} sweepers: expected {overdue} escalations and emails, got {escalated} "
                f"escalated, {outbox} outbox rows, {deferred} deferred, {once} escalation rows"
            )
        return wall, escalated
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        drop_database(copy)


def run(
    quick: bool = False,
    scale: int | None = None,
    overdue: int | None = None,
    repeats: int = 30,
    sweepers: tuple[int, ...] = (1, 2, 4),
) -> list[Figure]:
    from sqlalchemy import text

    from workflow.services.sweep import sweep

    scale = scale or (100_000 if quick else 1_000_000)
    overdue = overdue or (2_000 if quick else 10_000)
    figures: list[Figure] = []
    with throwaway_pg("sweep") as url, application(url, start=QUIET_AT) as app:
        started = time.perf_counter()
        groups = generate(app, scale, overdue)
        total = scale + overdue
        print(
            f"  sweep: generated {total:,} documents in {time.perf_counter() - started:.1f} s "
            f"({', '.join(f'{k} {v:,}' for k, v in groups.items())})",
            flush=True,
        )
        db, clock, settings = app.db, app.clock, app.settings
        first = sweep(db, clock, settings)  # type: ignore[arg-type]  # stores every open document's hint
        open_docs = groups["future"] + groups["backlog"] + groups["overdue"]
        print(
            f"  sweep: first sweep after the upgrade looked at {open_docs:,} open documents "
            f"in {first.seconds:.2f} s ({first.batches} batches)",
            flush=True,
        )
        figures.append(
            Figure(
                "sweep",
                f"first sweep after the upgrade: {open_docs:,} open documents given their hint",
                first.seconds,
                "s",
                note=f"{first.seconds / open_docs * 1e3:.2f} ms/document",
            )
        )
        if first.fired:
            raise RuntimeError(f"nothing was due, yet the first sweep fired {len(first.fired)} rungs")
        quiet: list[float] = []
        for _ in range(repeats):
            report = sweep(db, clock, settings)  # type: ignore[arg-type]
            if report.fired:
                raise RuntimeError(f"nothing was due, yet the sweep fired {len(report.fired)} rungs")
            quiet.append(report.seconds)
        p50 = statistics.median(quiet)
        print(
            f"  sweep: nothing due over {total:,} documents: p50 {p50 * 1e3:.2f} ms, "
            f"max {max(quiet) * 1e3:.2f} ms over {repeats} sweeps",
            flush=True,
        )
        figures.append(
            Figure(
                "sweep",
                f"nothing due, {total:,} documents, p50 of {repeats}",
                p50 * 1e3,
                "ms",
                target="< 20 ms",
                met=p50 < 0.020,
                note=f"max {max(quiet) * 1e3:.1f} ms",
            )
        )

        # The same overdue sweep by 1, 2 and 4 processes at once, each on a copy of the database
        # as it is now (nothing connected to it while it is copied).
        db.dispose()  # type: ignore[attr-defined]
        first_wall: float | None = None
        for n in sweepers:
            wall, shares = concurrent_sweep(url, settings, n, overdue)
            print(
                f"  sweep: {overdue:,} overdue with {n} sweeper process{'es' if n > 1 else ''}: "
                f"{wall:.2f} s (escalated by each: {shares})",
                flush=True,
            )
            figures.append(
                Figure(
                    "sweep",
                    f"{overdue:,} overdue → escalated + outbox rows, {n} sweeper process{'es' if n > 1 else ''} at once",
                    wall,
                    "s",
                    baseline=first_wall,
                    baseline_name="" if first_wall is None else f"{sweepers[0]} process",
                    target="< 5 s" if n == 1 else "",
                    met=(wall < 5.0) if n == 1 else None,
                    note=f"escalated by each: {', '.join(map(str, shares))}",
                )
            )
            first_wall = wall if first_wall is None else first_wall

        clock.set(DUE_AT)  # type: ignore[attr-defined]
        cpu = time.process_time()
        report = sweep(db, clock, settings)  # type: ignore[arg-type]
        cpu = time.process_time() - cpu  # this process's own work, apart from PostgreSQL's
        with db.engine.connect() as conn:  # type: ignore[attr-defined]
            outbox = conn.execute(text("SELECT count(*) FROM outbox WHERE event = 'escalated'")).scalar_one()
        if report.count("escalated") != overdue or outbox != overdue or report.deferred:
            raise RuntimeError(
                f"expected {overdue} escalations and emails, got "
                f"{report.count('escalated')} and {outbox} ({len(report.deferred)} deferred)"
            )
        print(
            f"  sweep: {overdue:,} overdue escalated with {outbox:,} outbox rows in "
            f"{report.seconds:.2f} s ({report.batches} batches of {report.batch_size}; "
            f"CPU of the sweeping process {cpu:.2f} s)",
            flush=True,
        )
        figures.append(
            Figure(
                "sweep",
                f"{overdue:,} overdue → escalated + outbox rows, over {total:,}",
                report.seconds,
                "s",
                target="< 5 s",
                met=report.seconds < 5.0,
                note=f"{report.seconds / overdue * 1e3:.2f} ms/document; CPU of the sweeping process {cpu:.2f} s",
            )
        )
        again = sweep(db, clock, settings)  # type: ignore[arg-type]
        print(f"  sweep: the next sweep found nothing more in {again.seconds * 1e3:.1f} ms", flush=True)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=int, default=None, help="documents besides the overdue ones (1,000,000)"
    )
    parser.add_argument("--overdue", type=int, default=None, help="overdue documents (10,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 documents, 2,000 overdue")
    parser.add_argument(
        "--sweepers", default="1,2,4", help="sweeper processes run at once on the overdue documents"
    )
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    sweepers = tuple(int(n) for n in args.sweepers.split(",") if n)
    finish(run(args.quick, args.scale, args.overdue, sweepers=sweepers), args.json)


if __name__ == "__main__":
    main()
