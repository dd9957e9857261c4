"""Where one publish spends its time, phase by phase (issue 20's "a profile showing what remains").

Run:  .venv/bin/python bench/profile_publish.py [--docs 300] [--backends sqlite,postgresql]

``bench_trigger.py`` says how far the service is from the raw floor; this says where the
difference goes. It runs the same publishes (documents cloned from one signed document) and
times each phase of the command path by wrapping the functions that carry it, in this process
only — CPU (``time.process_time``) and wall clock, per publish, summed over the run:

* **the read** (``loading.load``): the one aggregated statement, decoding its JSON, building
  the ORM objects; on the first statement of a transaction also the pool checkout and ``BEGIN``;
* **states/**: ``decide`` (the lifecycle and its guards), the snapshot it decides on;
* **the deadline**: ``due_for`` on the cached working-day calendar, and its sources;
* **the email**: ``enqueue_many`` (recipients, the frozen context, the outbox ``INSERT``);
* **the audit events**: ``append_many`` (hashing; on PostgreSQL the chain's lock and head too;
  the ``INSERT``);
* **the document's ``UPDATE``** (``write_document``);
* **the session**: the pool checkout and ``BEGIN`` (the first statement's connection), and
  the ``COMMIT`` with the unit of work's flush;
* **the rest**: everything outside these — the session's creation and close, the command's
  own argument checks and bookkeeping.

A phase inside another (the ORM objects inside the read, the connection inside the first
statement) is counted in the inner one only. Wrapping costs a little (about a microsecond a
call); the totals are printed beside an unwrapped run of the same number of publishes. No figure from here goes into the results
table: it explains ``bench_trigger``'s, it is not a target.
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_trigger import URL, clone_signed
from bench.common import application, backend

PHASES: list[tuple[str, str, str]] = [
    # (label, module, function) — the function is replaced where the command path looks it up
    ("the read", "workflow.services.documents.transaction", "load"),
    ("the read: ORM objects", "workflow.services.documents.loading", "_build"),
    ("the read: JSON decoding", "workflow.services.documents.loading", "_decoded"),
    ("states/: decide", "workflow.services.documents.commands", "decide"),
    ("states/: snapshot", "workflow.services.documents.transaction", "snapshot_from"),
    ("the deadline", "workflow.kernel.calendar", "due_for"),
    ("the deadline's sources", "workflow.kernel.calendar.store", "due_sources"),
    ("the email (enqueue_many)", "notifications.outbox", "enqueue_many"),
    ("the audit events (append_many)", "workflow.kernel.audit", "append_many"),
    ("the document's UPDATE", "workflow.services.documents.transaction", "write_document"),
    ("the session: checkout and BEGIN", "sqlalchemy.orm.session:SessionTransaction", "_connection_for_bind"),
    ("the session: flush and COMMIT", "sqlalchemy.orm.session:SessionTransaction", "commit"),
]


class Meter:
    """Exclusive times per phase: a phase's time less that of the phases inside it."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.wall: collections.Counter[str] = collections.Counter()
        self.inner: list[list[float]] = []  # per open phase: [cpu, wall] of the phases inside

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.inner.append([0.0, 0.0])
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent_cpu, spent_wall = time.process_time() - cpu, time.perf_counter() - wall
                inner_cpu, inner_wall = self.inner.pop()
                self.cpu[label] += spent_cpu - inner_cpu
                self.wall[label] += spent_wall - inner_wall
                if self.inner:
                    self.inner[-1][0] += spent_cpu
                    self.inner[-1][1] += spent_wall

        return timed


def run(kind: str, docs: int) -> None:
    import importlib

    from tests.factories import CLERK

    with backend(kind, "profile") as url, application(url) as app:
        ids = clone_signed(app, 2 * docs + 20)
        wf = app.wf

        def publish(doc: int) -> None:
            wf.fire(CLERK, doc, "publish", publication_url=URL)  # type: ignore[attr-defined]

        for doc in ids[:20]:
            publish(doc)
        plain, wrapped = ids[20 : 20 + docs], ids[20 + docs :]
        cpu, wall = time.process_time(), time.perf_counter()
        for doc in plain:
            publish(doc)
        plain_cpu, plain_wall = time.process_time() - cpu, time.perf_counter() - wall

        meter = Meter()
        originals = []
        for label, module_name, name in PHASES:
            module_name, _, owner = module_name.partition(":")
            module = importlib.import_module(module_name)
            if owner:
                module = getattr(module, owner)
            original = getattr(module, name)
            originals.append((module, name, original))
            setattr(module, name, meter.wrap(label, original))
        try:
            cpu, wall = time.process_time(), time.perf_counter()
            for doc in wrapped:
                publish(doc)
            total_cpu, total_wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            for module, name, original in originals:
                setattr(module, name, original)

    n = len(wrapped)
    print(f"\n{kind}: {n} publishes; per publish, in this process")
    print(f"  {'phase':38s} {'CPU ms':>8s} {'wall ms':>8s} {'CPU share':>9s}")
    for label, _, _ in PHASES:
        c, w = meter.cpu[label] / n * 1e3, meter.wall[label] / n * 1e3
        print(f"  {label:38s} {c:8.3f} {w:8.3f} {meter.cpu[label] / total_cpu:9.0%}")
    rest_cpu = total_cpu - sum(meter.cpu.values())
    rest_wall = total_wall - sum(meter.wall.values())
    print(
        f"  {'the rest (session, checks, details)':38s} {rest_cpu / n * 1e3:8.3f} {rest_wall / n * 1e3:8.3f} "
        f"{rest_cpu / total_cpu:9.0%}"
    )
    print(f"  {'total, phases timed':38s} {total_cpu / n * 1e3:8.3f} {total_wall / n * 1e3:8.3f}")
    print(f"  {'total, nothing wrapped':38s} {plain_cpu / n * 1e3:8.3f} {plain_wall / n * 1e3:8.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300, help="publishes per side (default 300)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    for kind in args.backends.split(","):
        run(kind, args.docs)


if __name__ == "__main__":
    main()
