"""Benchmark: every other document command through the service against the raw database floor.

Run:  .venv/bin/python bench/bench_commands.py [--quick] [--backends sqlite,postgresql] [--json FILE]

``bench_trigger`` measures ``publish``; this measures the rest of what a clerk or a signer does
to a document (issue 20: "every other command ≤ 2.5× the raw floor"): create, edit a field,
attach and remove a material, name the signers, prepare the plan, request sign-off, sign,
reject, record a posting, withdraw.

* **service** — the ``Workflow`` call an interface makes (``wf.sign(…)``, ``wf.add_material(…)``).
* **floor** — the raw driver (``sqlite3`` / ``psycopg``) writing *the same rows* in one
  transaction, with the same PRAGMAs and ``BEGIN IMMEDIATE`` on SQLite. What it writes is not
  written by hand per command: the service runs the command once on a document (outside the
  timing) and the rows it wrote are read back — the document's changed columns, each inserted,
  updated or deleted row of the package tables, the editor row, the outbox rows, the audit
  events with their details. The floor then writes those rows for each of its documents: the
  versioned ``UPDATE documents … WHERE id AND version`` (rowcount checked), the package rows
  (``INSERT … RETURNING id``), the editor (one upsert), the outbox rows, then (on PostgreSQL
  after the chain's advisory lock, as the service) the chain head and one multi-row ``INSERT``
  of the audit events, hashed with SHA-256 over the canonical JSON exactly as
  :mod:`workflow.kernel.audit` does (the ids the details name — the outbox row, the material,
  the posting — are the floor's own), ``COMMIT``. Like bench_trigger's floor it is handed what
  the service works out (the new package hash, the email's frozen facts and recipients): the
  floor is the I/O the design cannot avoid, nothing else. ``create`` keeps the 文号 duplicate
  check (one indexed SELECT): the rule needs it.

Service and floor calls alternate, one each, on documents cloned from one source document per
command (so both see the same table sizes and the same load on this machine). After the run,
both sides must have written the same number of rows in every table, and a service document's
rows and a floor document's rows must have the same shape (the floor's hashes are checked
against :func:`workflow.kernel.audit.event_hash`). CPU per call (``time.process_time``) is
printed beside wall time: the machine is shared, and CPU is what the Python layer costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.command_floors import (
    CLONED,
    PACKAGE,
    CreateFloor,
    Floor,
    Raw,
    check_same_rows,
    check_same_shape,
    iso,
    record,
    snapshot,
)
from bench.common import App, Figure, Stats, application, backend, clone_document, finish

TARGET_RATIO = 2.5
URL = "https://jtj.fuzhou.example.cn/jd/1.htm"


# --------------------------------------------------------------------------- the commands
@dataclass(frozen=True)
class Command:
    name: str
    source: Callable[[Any], int] | None
    """Takes the service (a ``Workflow``) and returns the document every clone copies."""
    call: Callable[[Any, int, dict[str, Any]], object]
    """The service call on one document, with what was read for it beforehand (``args``)."""
    args: Callable[[App, int], dict[str, Any]] = lambda app, doc: {}


def _draft(wf: Any) -> int:
    from tests.factories import new_draft

    return new_draft(wf)


def _with_material(wf: Any) -> int:
    from tests.factories import CLERK, new_draft

    doc = new_draft(wf)
    wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景 …")
    return doc


def _ready_for_signoff(wf: Any) -> int:
    from tests.factories import CLERK, HEAD, SIGNER2, to_plan

    doc = to_plan(wf)
    wf.edit_document(CLERK, doc, {"plan": "解读方案:政策背景、主要内容、关键词解释", "interpreter": CLERK})
    wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景 …")
    wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
    return doc


def _signoff(wf: Any) -> int:
    from tests.factories import to_signoff

    return to_signoff(wf)


def _half_signed(wf: Any) -> int:
    from tests.factories import HEAD, to_signoff

    doc = to_signoff(wf)
    wf.sign(HEAD, doc)
    return doc


def _published(wf: Any) -> int:
    from tests.factories import to_published

    return to_published(wf)


def _material_id(app: App, doc: int) -> dict[str, Any]:
    from sqlalchemy import text

    with app.db.engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            "material": conn.execute(
                text("SELECT id FROM materials WHERE document_id = :d"), {"d": doc}
            ).scalar_one()
        }


def commands() -> list[Command]:
    from tests.factories import CLERK, HEAD, SIGNER2

    return [
        Command(
            "create",
            None,
            lambda wf, doc, a: wf.create_document(
                CLERK,
                title="福州市道路运输管理办法",
                doc_number=a["number"],
                body="第一条 …",
                disclosure="proactive",
                risk_assessment_needed=False,
            ),
        ),
        Command(
            "edit",
            _draft,
            lambda wf, doc, a: wf.edit_document(CLERK, doc, {"title": "福州市道路运输管理办法(修订)"}),
        ),
        Command(
            "attach",
            _draft,
            lambda wf, doc, a: wf.add_material(
                CLERK, doc, form="text", title="文字解读", body="一、制定背景 …"
            ),
        ),
        Command(
            "remove_material",
            _with_material,
            lambda wf, doc, a: wf.remove_material(CLERK, doc, a["material"]),
            _material_id,
        ),
        Command("signers", _draft, lambda wf, doc, a: wf.set_signers(CLERK, doc, [HEAD, SIGNER2])),
        Command("prepare_plan", _draft, lambda wf, doc, a: wf.fire(CLERK, doc, "prepare_plan")),
        Command(
            "request_signoff", _ready_for_signoff, lambda wf, doc, a: wf.fire(CLERK, doc, "request_signoff")
        ),
        Command("sign", _signoff, lambda wf, doc, a: wf.sign(HEAD, doc)),
        Command("reject", _half_signed, lambda wf, doc, a: wf.reject(SIGNER2, doc, "请补充图解材料")),
        Command(
            "post",
            _published,
            lambda wf, doc, a: wf.record_posting(CLERK, doc, channel="portal", url=URL),
        ),
        Command(
            "withdraw", _draft, lambda wf, doc, a: wf.fire(CLERK, doc, "withdraw", reason="政策暂缓出台")
        ),
    ]


# --------------------------------------------------------------------------- seeding
def clone(app: App, source: int, count: int) -> list[int]:
    """``count`` documents with ``source``'s rows, its editors too (the source first)."""
    return clone_document(app, source, count, CLONED)


# --------------------------------------------------------------------------- the run
@dataclass
class Result:
    name: str
    kind: str
    service: Stats
    floor: Stats
    service_cpu: Stats
    floor_cpu: Stats


def count_rows(raw: Raw) -> dict[str, int]:
    tables = ("documents", *PACKAGE, "document_editors", "audit_events")
    return {t: raw.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in tables}


def _timed(stats: Stats, cpu: Stats, call: Callable[[], object]) -> None:
    c0, t0 = time.process_time(), time.perf_counter()
    call()
    stats.add(time.perf_counter() - t0)
    cpu.add(time.process_time() - c0)


def run_command(app: App, kind: str, command: Command, docs: int, warmup: int) -> Result:
    if command.source is None:
        return run_create(app, kind, command, docs, warmup)
    wf = app.wf
    source = command.source(wf)
    ids = clone(app, source, 2 * (docs + warmup) + 2)
    recorded, service_ids, floor_ids = ids[1], ids[2::2], ids[3::2]
    args = {d: command.args(app, d) for d in ids[1:]}
    raw = Raw(app)
    try:
        before = snapshot(raw, recorded)
        command.call(wf, recorded, args[recorded])
        script = record(before, snapshot(raw, recorded), recorded)
    finally:
        raw.close()
    floor = Floor(app, script)
    try:
        known = {d: floor.prepare(d) for d in floor_ids}
        for doc in service_ids[:warmup]:  # imports, caches, compiled statements
            command.call(wf, doc, args[doc])
        for doc in floor_ids[:warmup]:
            floor.run(doc, known[doc])
        rows_before = count_rows(floor)
        r = Result(command.name, kind, Stats(), Stats(), Stats(), Stats())
        for i, (s_doc, f_doc) in enumerate(zip(service_ids[warmup:], floor_ids[warmup:], strict=True)):
            pair: list[tuple[Stats, Stats, Callable[[], object]]] = [
                (r.service, r.service_cpu, lambda d=s_doc: command.call(wf, d, args[d])),
                (r.floor, r.floor_cpu, lambda d=f_doc: floor.run(d, known[d])),
            ]
            for stats, cpu, call in pair if i % 2 == 0 else pair[::-1]:
                _timed(stats, cpu, call)
        rows_after = count_rows(floor)
        check_same_rows(command.name, rows_before, rows_after, script, docs)
        check_same_shape(app, floor, command.name, service_ids[warmup], floor_ids[warmup])
    finally:
        floor.close()
    return r


def run_create(app: App, kind: str, command: Command, docs: int, warmup: int) -> Result:
    from states.package import package_hash_of

    wf = app.wf
    raw = Raw(app)
    try:
        first = command.call(wf, 0, {"number": "榕交〔2023〕0号"})
        doc = first.document_id  # type: ignore[attr-defined]
        snap = snapshot(raw, doc)
    finally:
        raw.close()
    row = snap["documents"]
    (event,) = snap["audit_events"]
    event = {**event, "details": json.loads(event["details"]), "at_iso": iso(event["at"])}
    floor = CreateFloor(app, row, event)
    numbers = {side: [f"榕交〔2024〕{side}{i}号" for i in range(docs + warmup)] for side in ("s", "f")}
    # The package hash the service works out for each number (domain work, not the floor's).
    hashes = {n: package_hash_of({**row, "doc_number": n}) for n in numbers["f"]}
    try:
        for n in numbers["s"][:warmup]:
            command.call(wf, 0, {"number": n})
        made = [floor.run(n, hashes[n]) for n in numbers["f"][:warmup]]
        rows_before = count_rows(floor)
        r = Result(command.name, kind, Stats(), Stats(), Stats(), Stats())
        outs: list[Any] = []
        for i, (s_n, f_n) in enumerate(zip(numbers["s"][warmup:], numbers["f"][warmup:], strict=True)):
            pair: list[tuple[Stats, Stats, Callable[[], object]]] = [
                (r.service, r.service_cpu, lambda n=s_n: outs.append(command.call(wf, 0, {"number": n}))),
                (r.floor, r.floor_cpu, lambda n=f_n: made.append(floor.run(n, hashes[n]))),
            ]
            for stats, cpu, call in pair if i % 2 == 0 else pair[::-1]:
                _timed(stats, cpu, call)
        rows_after = count_rows(floor)
        want = {t: 0 for t in rows_before}
        want.update({"documents": 2 * docs, "document_editors": 2 * docs, "audit_events": 2 * docs})
        got = {t: rows_after[t] - rows_before[t] for t in rows_before}
        if got != want:
            raise RuntimeError(f"create: service and floor wrote different rows: {got} != {want}")
        check_same_shape(app, floor, "create", outs[0].document_id, made[-1])
        # The floor's package hash is the one the service computes for its number.
        s = snapshot(floor, made[-1])["documents"]
        if s["package_hash"] != hashes[s["doc_number"]] or not s["package_hash"]:
            raise RuntimeError("create: the floor's package hash is not the service's")
    finally:
        floor.close()
    return r


def run_backend(kind: str, docs: int, only: set[str] | None = None, warmup: int = 10) -> list[Result]:
    results = []
    with backend(kind, "commands") as url, application(url) as app:
        for command in commands():
            if only and command.name not in only:
                continue
            r = run_command(app, kind, command, docs, warmup)
            ratio = r.service.p50 / r.floor.p50
            print(
                f"  {r.name}/{kind}: service p50 {r.service.p50 * 1e3:.3f} ms (CPU {r.service_cpu.mean * 1e3:.3f} ms)"
                f"  floor p50 {r.floor.p50 * 1e3:.3f} ms (CPU {r.floor_cpu.mean * 1e3:.3f} ms)  {ratio:.2f}×",
                flush=True,
            )
            results.append(r)
    return results


def run(
    quick: bool = False,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    docs: int | None = None,
    only: set[str] | None = None,
) -> list[Figure]:
    docs = docs or (40 if quick else 200)
    figures: list[Figure] = []
    for kind in backends:
        for r in run_backend(kind, docs, only):
            driver = "sqlite3" if kind == "sqlite" else "psycopg"
            ratio = r.service.p50 / r.floor.p50
            figures.append(
                Figure(
                    "commands",
                    f"{r.name} via service, {kind}, p50",
                    r.service.p50 * 1e3,
                    "ms",
                    baseline=r.floor.p50 * 1e3,
                    baseline_name=f"raw {driver}",
                    target=f"≤ {TARGET_RATIO}× floor",
                    met=ratio <= TARGET_RATIO,
                )
            )
            figures.append(
                Figure(
                    "commands",
                    f"{r.name} CPU per call, {kind}, mean",
                    r.service_cpu.mean * 1e3,
                    "ms",
                    baseline=r.floor_cpu.mean * 1e3,
                    baseline_name=f"raw {driver}",
                )
            )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--docs", type=int, default=None, help="timed calls per side and command (default 200)"
    )
    parser.add_argument("--quick", action="store_true", help="40 calls per side and command")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", default="", help="commands to run, comma-separated (default: all)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or None
    finish(run(args.quick, tuple(args.backends.split(",")), args.docs, only), args.json)


if __name__ == "__main__":
    main()
