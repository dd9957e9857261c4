"""Whose code one publish spends its time in: the driver's, SQLAlchemy's or Santongbu's.

Issue 20 asks for "a profile showing that what remains is the database's or the driver's own
work"; this is that profile, by layer.

Run:  .venv/bin/python bench/profile_layers.py [--docs 300] [--backends sqlite,postgresql]

``profile_publish.py`` splits a publish by phase (the read, the email, the audit events …);
this splits the same publishes by *layer*, and the raw floor of ``bench_trigger.py`` (the same
rows written with the bare driver) the same way, so that the two can be set side by side:

* **the database and its driver**: time inside ``sqlite3``'s or psycopg's calls — on SQLite the
  engine's own work (it runs in this process), on PostgreSQL sending, waiting for the server
  and reading its answer;
* **SQLAlchemy**: the ORM, the session and Core;
* **Santongbu**: ``states/``, ``workflow/``, ``notifications/`` and the libraries they call for
  the domain's own work (``transitions``, ``json``, ``hashlib``, ``datetime`` …).

It runs under :mod:`cProfile` with its default wall-clock timer. A function of the standard
library or of another package is charged to whoever called it, in proportion to the time each
caller spent in it (``pstats``' per-caller figures), so that ``json.dumps`` called by the audit
trail counts as Santongbu's and a ``dict`` lookup inside the ORM as SQLAlchemy's. The profiler
makes Python calls dearer than C calls, so the Python layers' shares are somewhat overstated;
the per-publish times without the profiler are printed beside them. No figure from here goes
into the results table: it explains ``bench_trigger``'s, it is not a target.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_trigger import URL, Floor, _versions, clone_signed, template_from
from bench.common import application, backend, each_backend

DRIVER, SQLALCHEMY, OURS, OTHER = "the database and its driver", "SQLAlchemy", "Santongbu", "unattributed"
LAYERS = (DRIVER, SQLALCHEMY, OURS, OTHER)
_OUR_PACKAGES = ("/workflow/", "/states/", "/notifications/", "/bench/")

Func = tuple[str, int, str]


def layer_of(func: Func) -> str | None:
    """The layer a function belongs to by where it is defined, or ``None`` for a function of
    the standard library or another package (charged to its callers)."""
    filename, _, name = func
    if "/psycopg" in filename or "sqlite3." in name or "psycopg" in name:
        return DRIVER
    if "/sqlalchemy/" in filename:
        return SQLALCHEMY
    if any(package in filename for package in _OUR_PACKAGES) and "/site-packages/" not in filename:
        return OURS
    return None


def by_layer(stats: pstats.Stats) -> dict[str, float]:
    """Seconds per layer: each function's own time, charged as :func:`layer_of` says."""
    table: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    shares: dict[Func, dict[str, float]] = {}

    def share(func: Func, visiting: frozenset[Func]) -> dict[str, float]:
        found = shares.get(func)
        if found is not None:
            return found
        own = layer_of(func)
        if own is not None:
            result = {own: 1.0}
        else:
            callers = table[func][4] if func in table else {}
            weights = {c: v[2] for c, v in callers.items() if c not in visiting and c in table}
            total = sum(weights.values())
            if not total:
                result = {OTHER: 1.0}
            else:
                result = {}
                for caller, weight in weights.items():
                    for layer, part in share(caller, visiting | {func}).items():
                        result[layer] = result.get(layer, 0.0) + part * weight / total
        shares[func] = result
        return result

    seconds: dict[str, float] = dict.fromkeys(LAYERS, 0.0)
    for func, (_, _, own_time, _, _) in table.items():
        for layer, part in share(func, frozenset()).items():
            seconds[layer] = seconds.get(layer, 0.0) + own_time * part
    return seconds


class Side:
    """One side's (the service's or the floor's) publishes: plain wall time, and a profile."""

    def __init__(self) -> None:
        self.plain = 0.0
        self.profile = cProfile.Profile()

    def time(self, call: Callable[[], None]) -> None:
        started = time.perf_counter()
        call()
        self.plain += time.perf_counter() - started

    def profiled(self, call: Callable[[], None]) -> None:
        self.profile.enable()
        try:
            call()
        finally:
            self.profile.disable()

    def layers(self) -> dict[str, float]:
        return by_layer(pstats.Stats(self.profile))


def run(kind: str, docs: int) -> None:
    from tests.factories import CLERK

    with backend(kind, "layers") as url, application(url) as app:
        ids = clone_signed(app, 4 * docs + 40)  # plain and profiled, service and floor
        versions = _versions(app, ids)
        wf = app.wf

        def service(doc: int) -> Callable[[], None]:
            return lambda: wf.fire(CLERK, doc, "publish", publication_url=URL)  # type: ignore[attr-defined]

        for doc in ids[:20]:  # imports, the calendar, compiled statements
            service(doc)()
        floor = Floor(app, template_from(app))
        now = app.clock.now()  # type: ignore[attr-defined]

        def raw(doc: int) -> Callable[[], None]:
            return lambda: floor.publish(doc, versions[doc], now)

        try:
            for doc in ids[20:40]:
                raw(doc)()
            rest = ids[40:]
            n = len(rest) // 4
            service_side, floor_side = Side(), Side()
            # As bench_trigger does: service and floor alternate, plain and profiled too, so
            # that each meets the same table sizes and the same neighbours.
            for i in range(n):
                a, b, c, d = rest[4 * i : 4 * i + 4]
                steps: list[tuple[Callable[[Callable[[], None]], None], Callable[[], None]]] = [
                    (service_side.time, service(a)),
                    (floor_side.time, raw(b)),
                    (service_side.profiled, service(c)),
                    (floor_side.profiled, raw(d)),
                ]
                for how, call in steps if i % 2 == 0 else [steps[1], steps[0], steps[3], steps[2]]:
                    how(call)
        finally:
            floor.close()

    service_layers, floor_layers = service_side.layers(), floor_side.layers()
    plain_service, plain_floor = service_side.plain / n, floor_side.plain / n
    print(f"\n{kind}: {n} publishes a side; wall ms per publish, under the profiler")
    print(f"  {'layer':30s} {'service':>9s} {'floor':>9s} {'difference':>11s}")
    for layer in LAYERS:
        s, f = service_layers[layer] / n * 1e3, floor_layers[layer] / n * 1e3
        if s or f:
            print(f"  {layer:30s} {s:9.3f} {f:9.3f} {s - f:11.3f}")
    s_total, f_total = sum(service_layers.values()) / n * 1e3, sum(floor_layers.values()) / n * 1e3
    print(f"  {'total, profiled':30s} {s_total:9.3f} {f_total:9.3f} {s_total - f_total:11.3f}")
    print(f"  {'total, no profiler (mean)':30s} {plain_service * 1e3:9.3f} {plain_floor * 1e3:9.3f}")
    alchemy = service_layers[SQLALCHEMY] / sum(service_layers.values())
    without = plain_service * (1 - alchemy)
    print(
        f"  SQLAlchemy's share of the service: {alchemy:.0%}; without it, at the same shares, a "
        f"publish would take {without * 1e3:.3f} ms = {without / plain_floor:.2f}× the floor's "
        f"{plain_floor * 1e3:.3f} ms (now {plain_service / plain_floor:.2f}×)"
    )


def main(argv: list[str] | None = None) -> None:
    each_backend(argv, (__doc__ or "").splitlines()[0], run, "publishes per side and kind of run")


if __name__ == "__main__":
    main()
