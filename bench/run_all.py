"""Run every benchmark and print one table of figures and ratios.

Run:  .venv/bin/python -m bench [--quick] [--only trigger,sweep] [--out results.md]
      .venv/bin/python bench/run_all.py …   (the same)

Each benchmark runs in a process of its own (``python -m bench.bench_<name> --json …``): one
benchmark's memory, imports or deliberate leak (bench_machine keeps 100,000 cases attached to a
machine on purpose) must not be what the next one measures, and a benchmark that fails is
reported without taking the others down. Every ratio in the table was measured side by side
inside one benchmark process, in this run.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres; ``SANTONGBU_BENCH_PG`` to change), and
``redis-server`` on the PATH for the latency benchmark; SpiffWorkflow for bench_spiff
(``pip install -e '.[bench]'``). ``bench_audit_pg`` (a million documents and ten million audit
events, ~10 minutes on its own) is listed at the end and run with ``--others``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG_ADMIN_URL, ROOT, Figure, load_figures, print_figures

# Cheapest first, so a quick look at the table needs no patience; each with a time limit that
# stops a stuck benchmark (the run as a whole stays bounded).
BENCHMARKS: list[tuple[str, str, int]] = [
    ("machine", "transitions: shared-machine dispatch vs add_model vs Machine per document", 600),
    ("trigger", "one publish through the service vs the raw driver, SQLite and PostgreSQL", 600),
    (
        "commands",
        "every other document command (create, edit, attach, sign, reject, post, …) vs the raw "
        "driver writing the same rows, SQLite and PostgreSQL",
        900,
    ),
    (
        "spiff",
        "the workflow, 11 transactions a side: Santongbu vs SpiffWorkflow (+ audit + outbox), "
        "and engine CPU alone",
        900,
    ),
    ("memory", "worker RSS over 100,000 documents", 600),
    ("sweep", "the sweep over 1,000,000 documents in PostgreSQL", 1800),
    ("escalation_latency", "deadline → email in SMTP with a real worker and beat", 300),
    ("deadline", "100,000 deadlines on the working-day calendar vs asking day by day", 300),
    ("api", "firing a trigger over HTTP with 20 concurrent clients on PostgreSQL", 600),
    ("openloop", "the HTTP API under open-loop load: 50, 100, 200, 400 triggers/s offered", 900),
    ("delivery", "10,000 emails through real workers (2 and 4 processes) to SMTP", 900),
    ("search", "document search at 100,000 documents, SQLite and PostgreSQL", 1800),
]
OWN = {f"bench_{name}.py" for name, _, _ in BENCHMARKS} | {
    "common.py",
    "run_all.py",
    "__init__.py",
    "__main__.py",
    "latency_app.py",
}


def machine() -> list[str]:
    """What the figures came from: cores, memory, CPU, versions, and how busy the machine was."""
    lines = [f"cores (nproc): {os.cpu_count()}"]
    try:
        total = next(
            line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        )
        lines.append(f"memory: {int(total.split()[1]) / 2**20:.1f} GiB")
    except (OSError, StopIteration):
        pass
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        lines.append(f"CPU: {model}")
    except (OSError, StopIteration):
        pass
    lines.append(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.platform()}"
    )
    try:
        from sqlalchemy import create_engine, text

        from workflow.kernel.db import normalise_url

        engine = create_engine(normalise_url(PG_ADMIN_URL))
        with engine.connect() as conn:
            lines.append(conn.execute(text("SELECT version()")).scalar_one().split(" on ")[0])
            lines.append(
                "PostgreSQL synchronous_commit="
                + conn.execute(text("SHOW synchronous_commit")).scalar_one()
                + ", fsync="
                + conn.execute(text("SHOW fsync")).scalar_one()
            )
        engine.dispose()
    except Exception as exc:
        lines.append(f"PostgreSQL: not reachable ({exc.__class__.__name__})")
    try:
        import SpiffWorkflow
        import transitions

        lines.append(f"transitions {transitions.__version__}, SpiffWorkflow {SpiffWorkflow.__version__}")
    except (ImportError, AttributeError):
        pass
    lines.append("load average (1, 5, 15 min) at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return lines


def run_one(name: str, quick: bool, limit: int, extra: list[str]) -> tuple[list[Figure], str | None, float]:
    """One benchmark in its own process; (figures, error, seconds)."""
    with tempfile.TemporaryDirectory(prefix="santongbu_bench_run_") as folder:
        out = Path(folder) / "figures.json"
        cmd = [
            sys.executable,
            "-m",
            f"bench.bench_{name}",
            "--json",
            str(out),
            *(["--quick"] if quick else []),
            *extra,
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        started = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=limit)
        except subprocess.TimeoutExpired:
            return [], f"stopped after {limit} s", time.perf_counter() - started
        seconds = time.perf_counter() - started
        if proc.returncode != 0 or not out.exists():
            return [], f"exit status {proc.returncode}", seconds
        return load_figures(out), None, seconds


def others() -> list[Path]:
    """Benchmarks in bench/ outside the table (bench_audit_pg.py: its own generator and report)."""
    return sorted(p for p in (ROOT / "bench").glob("bench_*.py") if p.name not in OWN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs of each (a few minutes in all)")
    parser.add_argument(
        "--only", default="", help="comma-separated: " + ",".join(n for n, _, _ in BENCHMARKS)
    )
    parser.add_argument("--scale", type=int, default=None, help="documents for the sweep (1,000,000)")
    parser.add_argument(
        "--others", action="store_true", help="also run bench_audit_pg (about 10 more minutes)"
    )
    parser.add_argument(
        "--out", default=None, help="also write the machine and the table to this Markdown file"
    )
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or b[0] in args.only.split(",")]

    started = time.perf_counter()
    header = machine()
    print("\n".join(header), flush=True)
    figures: list[Figure] = []
    failures: list[str] = []
    timings: list[str] = []
    for name, what, limit in chosen:
        print(f"\n== {name}: {what}", flush=True)
        extra = ["--scale", str(args.scale)] if name == "sweep" and args.scale else []
        got, error, seconds = run_one(name, args.quick, limit, extra)
        timings.append(f"{name} {seconds:.0f} s")
        figures.extend(got)
        if error:
            failures.append(f"{name}: {error}")
            print(f"!! {name} failed: {error}", flush=True)
    if args.others:
        for path in others():
            print(f"\n== {path.name} (its own output)", flush=True)
            subprocess.run([sys.executable, str(path)], cwd=ROOT, timeout=900, check=False)
    total = time.perf_counter() - started
    footer = [
        f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"wall time: {total / 60:.1f} min ({'; '.join(timings)})",
    ]

    print(f"\n== results ({'quick' if args.quick else 'full'} run)\n", flush=True)
    print_figures(figures)
    print("\n" + "\n".join(footer))
    if failures:
        print("\nFAILED: " + "; ".join(failures))
    rest = others()
    if rest and not args.others:
        print(
            "\nOther benchmarks in bench/ (not run; add --others): "
            + ", ".join(f"{sys.executable} bench/{p.name}" for p in rest)
        )
    if args.out:
        import io

        table = io.StringIO()
        print_figures(figures, table)
        Path(args.out).write_text("\n".join(["```", *header, *footer, "```", "", table.getvalue()]))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
