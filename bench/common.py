"""What every benchmark shares: throwaway databases, timing statistics and the figure record.

Kept apart from the benchmarks so that each one stays a short script that says what it measures,
and so that ``bench/run_all.py`` can collect every figure into one table. Nothing here is used by
the application; it only builds the same databases the application uses (``Database.upgrade()``,
the sample bureau through the real directory service).
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (python bench/bench_x.py) or as part of bench
    sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("SANTONGBU_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SANTONGBU_BENCH_REDIS", "redis://127.0.0.1:6379")
SHANGHAI = ZoneInfo("Asia/Shanghai")
PG_HINT = (
    "PostgreSQL is not reachable at {url} ({error}). Start it with "
    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' "
    "or point SANTONGBU_BENCH_PG at a server's maintenance database."
)


def shanghai(*args: int) -> datetime:
    """A wall-clock instant in Asia/Shanghai, as clerks write them."""
    return datetime(*args, tzinfo=SHANGHAI)


@dataclass
class Figure:
    """One line of the results table.

    ``ratio`` is always computed from two numbers measured in the same run (``value`` against
    ``baseline``), never against a figure remembered from elsewhere: a ratio taken across runs
    would mostly measure the difference between the runs.
    """

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]


@dataclass
class Stats:
    """Mean, median and 99th percentile of a sample of durations, in seconds."""

    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]

    def describe(self, scale: float = 1e3, unit: str = "ms") -> str:
        return (
            f"n={self.n} mean {self.mean * scale:.3f} {unit}  p50 {self.p50 * scale:.3f} {unit}"
            f"  p99 {self.p99 * scale:.3f} {unit}"
        )


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (perf_counter: monotonic, highest resolution)."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- databases
def _admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    from workflow.kernel.db import normalise_url

    return create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


@contextmanager
def throwaway_pg(suffix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database ``santongbu_bench_<pid>_<suffix>``, dropped afterwards
    (also when the benchmark fails), so a run never sees another's rows and leaves nothing."""
    from sqlalchemy import text

    name = f"santongbu_bench_{os.getpid()}_{suffix}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise SystemExit(PG_HINT.format(url=PG_ADMIN_URL, error=exc)) from exc
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def throwaway_sqlite(suffix: str) -> Iterator[str]:
    """A SQLite file in a temporary folder (removed afterwards), as the embedded set-up uses."""
    folder = Path(tempfile.mkdtemp(prefix=f"santongbu_bench_{suffix}_"))
    try:
        yield f"sqlite:///{folder / 'santongbu.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def backend(kind: str, suffix: str) -> Iterator[str]:
    """``kind`` is ``sqlite`` or ``postgresql``; yields the URL of a fresh database."""
    if kind == "sqlite":
        with throwaway_sqlite(suffix) as url:
            yield url
    elif kind == "postgresql":
        with throwaway_pg(suffix) as url:
            yield url
    else:
        raise ValueError(kind)


@dataclass
class App:
    """A migrated database with the sample bureau, and the service on a fixed clock."""

    db: object
    clock: object
    settings: object
    wf: object
    folder: Path


@contextmanager
def application(url: str, *, start: datetime | None = None, **settings_kw: object) -> Iterator[App]:
    """Migrate ``url``, import the sample bureau and hand back the service on a fixed clock.

    Emails go to a mail folder in a temporary directory (delivery is not what is measured).
    """
    from tests.factories import seed_bureau
    from workflow.kernel.clock import FixedClock
    from workflow.kernel.db import Database
    from workflow.kernel.settings import Settings
    from workflow.services.documents import Workflow

    folder = Path(tempfile.mkdtemp(prefix="santongbu_bench_app_"))
    db = Database(url)
    try:
        db.upgrade()
        clock = FixedClock(start or shanghai(2024, 2, 5, 10, 0))
        settings = Settings(database_url=db.url, mail_folder=folder / "mail", language="zh", **settings_kw)  # type: ignore[arg-type]
        seed_bureau(db, clock)
        yield App(db, clock, settings, Workflow(db, clock, settings), folder)
    finally:
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


# The package tables a clone copies (document_id replaced, ids fresh), in id order.
PACKAGE_COPIED: dict[str, tuple[str, ...]] = {
    "materials": ("form", "title", "body", "uri", "content_hash", "created_by", "created_at"),
    "signers": ("user_id",),
    "signatures": ("user_id", "package_hash", "signed_at", "voided_at", "void_reason"),
}


def document_columns(app: App) -> list[str]:
    """The documents table's columns but its id, as the database has them."""
    from sqlalchemy import inspect

    return [c["name"] for c in inspect(app.db.engine).get_columns("documents") if c["name"] != "id"]  # type: ignore[attr-defined]


def clone_document(
    app: App, source: int, count: int, tables: dict[str, tuple[str, ...]] = PACKAGE_COPIED
) -> list[int]:
    """``count`` documents with ``source``'s rows (the source first): its document row, the
    rows of ``tables`` (editors in user order, the rest in id order) and its chain head, copied
    in SQL. Taking hundreds of documents through the service would spend minutes on set-up that
    is not what a benchmark measures; the copies' chains start where the source's stands."""
    from sqlalchemy import text

    cols = ", ".join(document_columns(app))
    ids = [source]
    with app.db.engine.begin() as conn:  # type: ignore[attr-defined]
        head = conn.execute(
            text("SELECT seq, hash FROM audit_heads WHERE chain = :c"), {"c": f"doc:{source}"}
        ).one()
        for _ in range(count - 1):
            new_id = conn.execute(
                text(
                    f"INSERT INTO documents ({cols}) SELECT {cols} FROM documents WHERE id = :id RETURNING id"
                ),
                {"id": source},
            ).scalar_one()
            for table, copied in tables.items():
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


def raw_connection(app: App, *, autocommit: bool = False) -> tuple[Any, str]:
    """A raw driver connection on the application's database and its placeholder: ``sqlite3``
    with the PRAGMAs the application sets (WAL, ``synchronous=NORMAL``, …; transactions are the
    caller's ``BEGIN IMMEDIATE``), or ``psycopg``. What every raw floor writes through."""
    if app.db.is_sqlite:  # type: ignore[attr-defined]
        import sqlite3

        conn = sqlite3.connect(sqlite_path(app.db.url), isolation_level=None, timeout=30)  # type: ignore[attr-defined]
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        return conn, "?"
    import psycopg

    return psycopg.connect(pg_conninfo(app.db.url), autocommit=autocommit), "%s"  # type: ignore[attr-defined]


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def pg_conninfo(url: str) -> str:
    """The libpq form of a ``postgresql://`` URL (what psycopg.connect takes)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def print_figures(figures: Sequence[Figure], out=None) -> None:  # type: ignore[no-untyped-def]
    """The results as a Markdown table (pasted as is into docs/performance.md)."""
    out = out or sys.stdout
    print("| benchmark | figure | value | against | ratio | target | met |", file=out)
    print("|---|---|---:|---|---:|---|---|", file=out)
    for f in figures:
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None and math.isfinite(f.ratio) else ""
        against = f"{f.baseline_name} {fmt(f.baseline, f.unit)}" if f.baseline is not None else ""
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        name = f.name + (f" ({f.note})" if f.note else "")
        print(
            f"| {f.bench} | {name} | {fmt(f.value, f.unit)} | {against} | {ratio} | {f.target} | {met} |",
            file=out,
        )


def fmt(value: float | None, unit: str) -> str:
    """``value`` with ``unit``, to a sensible precision; "n/a" for a figure nobody measured (NaN:
    e.g. a percentile of no answers), which must not crash the table that would say so."""
    if value is None:
        return ""
    if math.isnan(value) or math.isinf(value):
        return "n/a"
    if abs(value) >= 100 or (value == int(value) and abs(value) >= 10):
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return f"{text} {unit}".strip()


def finish(figures: Sequence[Figure], json_path: str | None) -> None:
    """Print the table; with ``--json PATH`` also write the figures for ``bench/run_all.py``."""
    print_figures(figures)
    if json_path:
        import json
        from dataclasses import asdict

        Path(json_path).write_text(json.dumps([asdict(f) for f in figures], ensure_ascii=False, indent=1))


def load_figures(json_path: str | Path) -> list[Figure]:
    import json

    return [Figure(**item) for item in json.loads(Path(json_path).read_text())]


def each_backend(
    argv: list[str] | None, description: str, run: Callable[[str, int], None], docs_help: str
) -> None:
    """The command line the profiles share: ``--docs N`` (default 300) and ``--backends``;
    ``run(kind, docs)`` for each backend named."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--docs", type=int, default=300, help=f"{docs_help} (default 300)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    for kind in args.backends.split(","):
        run(kind, args.docs)
