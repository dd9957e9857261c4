"""Where one publish spends its time, phase by phase (issue 20's "a profile showing what remains").

Run:  .venv/bin/python bench/profile_publish.py [--docs 300] [--backends sqlite,postgresql]

``bench_trigger.py`` says how far the service is from the raw floor; this says where the
difference goes. It runs the same publishes (documents cloned from one signed document) and
times each phase of the command path by wrapping the functions that carry it, in this process
only — CPU (``time.process_time``) and wall clock, per publish, summed over the run:

* **the read** (``loading.load``): the one aggregated statement and decoding its JSON; it is
  the transaction's first statement, so the pool checkout and ``BEGIN`` are in it too; the ORM
  objects built from it (``_build``, seven calls) apart;
* **states/**: ``decide`` (the lifecycle and its guards), the snapshot it decides on;
* **the deadline**: ``due_for`` on the cached working-day calendar, and its sources;
* **the email**: ``enqueue_many`` (recipients, the frozen context, the outbox ``INSERT``);
* **the audit events**: ``append_many`` (hashing; on PostgreSQL the chain's lock and head too;
  the ``INSERT``);
* **the document's ``UPDATE``** (``write_document``);
* **the session's ``COMMIT``**, with the unit of work's flush (nothing left to write by then);
* **the rest**: everything outside these — the session's creation and close, the command's
  own argument checks and bookkeeping.

A phase inside another (the ORM objects inside the read) is counted in the inner one only.
Wrapping costs something: four clock reads a call, which on this virtual machine are not free.
It is measured (a wrapped call of a function that does nothing) and printed with the number of
wrapped calls per publish, and the totals are printed beside an unwrapped run of the same
number of publishes; the difference is the wrapping's own cost, most of it in the phases with
the most calls and in the phase around them. No figure from here goes into the results
table: it explains ``bench_trigger``'s, it is not a target.
"""

from __future__ import annotations

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
from bench.common import application, backend, each_backend

PHASES: list[tuple[str, str, str]] = [
    # (label, module, function) — the function is replaced where the command path looks it up
    ("the read", "workflow.services.documents.transaction", "load"),
    ("the read: ORM objects", "workflow.services.documents.loading", "_build"),
    ("states/: decide", "workflow.services.documents.commands", "decide"),
    ("states/: snapshot", "workflow.services.documents.transaction", "snapshot_from"),
    ("the deadline", "workflow.kernel.calendar", "due_for"),
    ("the deadline's sources", "workflow.kernel.calendar.store", "due_sources"),
    ("the email (enqueue_many)", "notifications.outbox", "enqueue_many"),
    ("the audit events (append_many)", "workflow.kernel.audit", "append_many"),
    ("the document's UPDATE", "workflow.services.documents.transaction", "write_document"),
    ("the session: flush and COMMIT", "sqlalchemy.orm.session:SessionTransaction", "commit"),
]


class Meter:
    """Exclusive times per phase: a phase's time less that of the phases inside it."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.wall: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self.inner: list[list[float]] = []  # per open phase: [cpu, wall] of the phases inside

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.calls[label] += 1
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
        meter = Meter()
        patches = []
        for label, module_name, name in PHASES:
            module_name, _, owner = module_name.partition(":")
            module = importlib.import_module(module_name)
            if owner:
                module = getattr(module, owner)
            original = getattr(module, name)
            patches.append((module, name, original, meter.wrap(label, original)))

        def timed(doc: int) -> tuple[float, float]:
            cpu, wall = time.process_time(), time.perf_counter()
            publish(doc)
            return time.process_time() - cpu, time.perf_counter() - wall

        # Plain and wrapped publishes alternate, so that both meet the same table sizes.
        plain_cpu = plain_wall = total_cpu = total_wall = 0.0
        wrapped = ids[21::2]
        for plain_doc, wrapped_doc in zip(ids[20::2], wrapped):
            c, w = timed(plain_doc)
            plain_cpu, plain_wall = plain_cpu + c, plain_wall + w
            for module, name, _, wrapper in patches:
                setattr(module, name, wrapper)
            try:
                c, w = timed(wrapped_doc)
            finally:
                for module, name, original, _ in patches:
                    setattr(module, name, original)
            total_cpu, total_wall = total_cpu + c, total_wall + w

    n = len(wrapped)
    print(f"\n{kind}: {n} publishes; per publish, in this process")
    print(f"  {'phase':38s} {'calls':>5s} {'CPU ms':>8s} {'wall ms':>8s} {'CPU share':>9s}")
    for label, _, _ in PHASES:
        c, w = meter.cpu[label] / n * 1e3, meter.wall[label] / n * 1e3
        calls = meter.calls[label] / n
        print(f"  {label:38s} {calls:5.1f} {c:8.3f} {w:8.3f} {meter.cpu[label] / total_cpu:9.0%}")
    rest_cpu = total_cpu - sum(meter.cpu.values())
    rest_wall = total_wall - sum(meter.wall.values())
    print(
        f"  {'the rest (session, checks, details)':38s} {'':5s} {rest_cpu / n * 1e3:8.3f} "
        f"{rest_wall / n * 1e3:8.3f} {rest_cpu / total_cpu:9.0%}"
    )
    print(f"  {'total, phases timed':38s} {'':5s} {total_cpu / n * 1e3:8.3f} {total_wall / n * 1e3:8.3f}")
    print(f"  {'total, nothing wrapped':38s} {'':5s} {plain_cpu / n * 1e3:8.3f} {plain_wall / n * 1e3:8.3f}")
    per_call = wrapping_cost()
    calls = sum(meter.calls.values()) / n
    print(
        f"  the wrapping: {calls:.0f} wrapped calls per publish, {per_call * 1e6:.1f} µs of CPU each "
        f"measured on a function that does nothing ({calls * per_call * 1e3:.3f} ms per publish)"
    )


def wrapping_cost(calls: int = 20_000) -> float:
    """CPU seconds one wrapped call costs beyond the call itself."""
    meter = Meter()

    def nothing() -> None:
        return None

    wrapped = meter.wrap("nothing", nothing)
    started = time.process_time()
    for _ in range(calls):
        nothing()
    bare = time.process_time() - started
    started = time.process_time()
    for _ in range(calls):
        wrapped()
    return max(0.0, (time.process_time() - started - bare) / calls)


def main(argv: list[str] | None = None) -> None:
    each_backend(argv, (__doc__ or "").splitlines()[0], run, "publishes per side")


if __name__ == "__main__":
    main()
