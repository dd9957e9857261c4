"""Benchmark 5: a worker's resident memory while it processes 100,000 documents.

Run:  .venv/bin/python bench/bench_memory.py [--docs 100000] [--backend sqlite]

What a worker does for each document, as the service does it: load the document with its
package (materials, signers, signatures, postings) in its own session, build the
:class:`~states.snapshot.DocumentSnapshot` (``workflow.kernel.snapshots.document_snapshot``), and ask
``states.decide`` whether ``publish`` may fire (the trigger with the most guards). Documents are taken 1,000 per transaction, as a batch job would.

RSS (``psutil`` if installed, else ``VmRSS`` from ``/proc/self/status``) is sampled every 10,000
documents. Flat means: after the first 10,000 (imports, caches, the connection pool and SQLite's
page cache have settled) it grows by less than 5 MiB over the remaining 90,000 — a document or a
case left attached to the shared machine, or an ever-growing identity map, would show as a
steady climb. The shared machine's model list is checked to be empty at the end.

The documents are copies, made in SQL, of one document taken through the service to
``joint_signoff`` with its package signed: a run needs 100,000 rows, not 800,000 service calls.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import App, Figure, application, backend, finish

SAMPLE_EVERY = 10_000
CHUNK = 1_000
FLAT_MIB = 5.0


def rss_mib() -> float:
    """Resident set size of this process, in MiB."""
    try:
        import psutil

        return psutil.Process(os.getpid()).memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    raise RuntimeError("cannot read RSS")


def fill(app: App, count: int) -> None:
    """``count`` signed documents in ``joint_signoff``, copied in SQL from one made by the service."""
    from sqlalchemy import text

    from bench.common import PACKAGE_COPIED, document_columns
    from tests.factories import to_signed

    source = to_signed(app.wf)  # type: ignore[arg-type]
    cols = ", ".join(document_columns(app))
    series = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :k) SELECT i FROM n"
        if app.db.is_sqlite
        else "SELECT generate_series(1, :k) AS i"
    )  # type: ignore[attr-defined]
    with app.db.engine.begin() as conn:  # type: ignore[attr-defined]
        first = conn.execute(text("SELECT max(id) FROM documents")).scalar_one() + 1
        conn.execute(
            text(
                f"INSERT INTO documents ({cols}) SELECT {cols} FROM documents "
                f"CROSS JOIN ({series}) AS s WHERE documents.id = :src"
            ),
            {"k": count - 1, "src": source},
        )
        for table, copied in PACKAGE_COPIED.items():
            c = ", ".join(f"t.{x}" for x in copied)
            conn.execute(
                text(
                    f"INSERT INTO {table} (document_id, {', '.join(copied)}) SELECT d.id, {c} "
                    f"FROM documents d JOIN {table} t ON t.document_id = :src WHERE d.id >= :first"
                ),
                {"src": source, "first": first},
            )


def process(app: App, count: int) -> list[tuple[int, float]]:
    """Snapshot and decide every document; returns (documents done, RSS MiB) samples."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from states.lifecycle import _MACHINE, decide, triggers_from
    from workflow.kernel.models import Document
    from workflow.kernel.snapshots import document_snapshot

    now = app.clock.now()  # type: ignore[attr-defined]
    args = {
        "publication_url": "https://jtj.fuzhou.example.cn/zcwj/1.htm",
        "published_at": now,
        "now": now,
        "reason": "bench",
    }
    with app.db.engine.connect() as conn:  # type: ignore[attr-defined]
        from sqlalchemy import text

        ids = list(
            conn.execute(text("SELECT id FROM documents ORDER BY id LIMIT :n"), {"n": count}).scalars()
        )
    samples: list[tuple[int, float]] = [(0, rss_mib())]
    done = allowed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with app.db.transaction() as session:  # type: ignore[attr-defined]
            docs = session.scalars(
                select(Document)
                .where(Document.id.in_(chunk))
                .options(
                    selectinload(Document.materials),
                    selectinload(Document.signers),
                    selectinload(Document.signatures),
                    selectinload(Document.postings),
                )
            )
            for doc in docs:
                snap = document_snapshot(session, doc)
                if "publish" in triggers_from(snap.state):
                    allowed += decide(snap, "publish", args).allowed
                done += 1
                if done % SAMPLE_EVERY == 0:
                    gc.collect()
                    samples.append((done, rss_mib()))
    if _MACHINE.models:
        raise RuntimeError(f"{len(_MACHINE.models)} models left attached to the shared machine")
    if allowed < done:  # every copy is signed: publish must be allowed on each
        raise RuntimeError(f"only {allowed} of {done} decisions allowed publish")
    return samples


def run(quick: bool = False, docs: int | None = None, kind: str = "sqlite") -> list[Figure]:
    docs = docs or (20_000 if quick else 100_000)
    with backend(kind, "memory") as url, application(url) as app:
        fill(app, docs)
        samples = process(app, docs)
    series = ", ".join(f"{n:,}: {mib:.1f}" for n, mib in samples)
    print(f"  memory/{kind}: RSS MiB after N documents — {series}", flush=True)
    settled = samples[1][1] if len(samples) > 1 else samples[0][1]
    growth = samples[-1][1] - settled
    return [
        Figure(
            "memory",
            f"worker RSS growth, documents {SAMPLE_EVERY:,}→{samples[-1][0]:,} ({kind})",
            growth,
            "MiB",
            target=f"flat (< {FLAT_MIB:.0f} MiB)",
            met=growth < FLAT_MIB,
            note=f"RSS {settled:.0f}→{samples[-1][1]:.0f} MiB; series {series}",
        )
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=None, help="documents (100,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 documents")
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    finish(run(args.quick, args.docs, args.backend), args.json)


if __name__ == "__main__":
    main()
