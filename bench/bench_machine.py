"""Benchmark 2: three ways to ask ``transitions`` for a decision, in time and in memory.

Run:  .venv/bin/python bench/bench_machine.py [--decisions 20000] [--memory 100000]

Each way decides the same ``publish`` on the same snapshot (a signed package in
``joint_signoff``) with the same guards (``states.lifecycle.machine_definition()``), so all
three run every guard and move a case to ``published``:

* **dispatch** — what Santongbu does (``states.lifecycle.decide``): a throw-away case is handed
  to the shared machine's ``Event.trigger(case)``; nothing is attached to the machine.
* **add_model** — one shared machine; the case is attached with
  ``add_model(case, initial=state)``, its bound ``publish()`` is called, then
  ``remove_model(case)``. (Without ``initial`` the state would be reset to the machine's initial
  one — docs/design.md §9.)
* **add_model, never removed** — the same without ``remove_model``: the leak docs/design.md §9 warns
  of, measured only for memory.
* **Machine per document** — ``Machine(model=case, initial=state, **definition)`` per decision.

Time: µs per decision over ``--decisions`` decisions per way, the ways interleaved in rounds of
1,000 so that load on the machine falls on all of them alike. Memory: ``tracemalloc`` — bytes
still allocated after ``--memory`` decisions (the cases themselves are dropped by the loop, so
whatever stays is held by the machine), and the peak.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, finish

ROUND = 1_000


def _snapshot():  # type: ignore[no-untyped-def]
    from states.snapshot import DocumentSnapshot, MaterialSnapshot, SignerSnapshot

    return DocumentSnapshot(
        id=1,
        state="joint_signoff",
        unit_id=1,
        unit_code="spc",
        title="福州市道路运输管理办法",
        doc_number="榕交〔2024〕1号",
        body="第一条 …",
        disclosure="proactive",
        risk_assessment_needed=False,
        plan="解读方案",
        interpreter_login="liu.spc",
        interpreter_unit_id=1,
        materials=(MaterialSnapshot("text", "文字解读", "h"),),
        signer_logins=frozenset({"chen.spc", "director"}),
        signed_logins=frozenset({"chen.spc", "director"}),
        package_hash="h",
        creator_login="liu.spc",
        editor_logins=frozenset({"liu.spc"}),
        unit_head_login="chen.spc",
        signers=(
            SignerSnapshot("chen.spc", frozenset({"member", "signer"}), "spc", "drafting"),
            SignerSnapshot("director", frozenset({"leader", "member", "signer"}), "jld", "leadership"),
        ),
    )


def ways() -> dict[str, Callable[[], str | None]]:
    """Each way as a zero-argument callable returning the destination state."""
    from transitions import Machine

    from states.lifecycle import _Case, decide, machine_definition

    snap = _snapshot()
    now = datetime(2024, 2, 5, 2, 0, tzinfo=UTC)
    args = {
        "publication_url": "https://jtj.fuzhou.example.cn/zcwj/1.htm",
        "published_at": now,
        "now": now,
        "reason": None,
    }
    definition = machine_definition()  # built once, as a real per-document design would
    shared = Machine(model=None, initial=None, **definition)
    leaky = Machine(model=None, initial=None, **definition)

    def dispatch() -> str | None:
        return decide(snap, "publish", args).dest

    def add_model() -> str | None:
        case = _Case(snap, args)
        shared.add_model(case, initial=snap.state)
        try:
            return case.state if case.publish() else None  # type: ignore[attr-defined]
        finally:
            shared.remove_model(case)

    def add_model_leak() -> str | None:
        case = _Case(snap, args)
        leaky.add_model(case, initial=snap.state)
        return case.state if case.publish() else None  # type: ignore[attr-defined]

    def per_document() -> str | None:
        case = _Case(snap, args)
        Machine(model=case, initial=snap.state, **definition)
        return case.state if case.publish() else None  # type: ignore[attr-defined]

    return {
        "dispatch (Santongbu)": dispatch,
        "add_model + remove_model": add_model,
        "add_model, never removed": add_model_leak,
        "Machine per document": per_document,
    }


def time_ways(decisions: int) -> dict[str, float]:
    """µs per decision for each way (the leaky one excluded: it only grows), interleaved."""
    all_ways = ways()
    timed = {k: v for k, v in all_ways.items() if "never removed" not in k}
    for fn in timed.values():
        assert fn() == "published"
        for _ in range(200):  # warm caches (transitions builds some lazily)
            fn()
    spent = dict.fromkeys(timed, 0.0)
    done = 0
    while done < decisions:
        n = min(ROUND, decisions - done)
        for name, fn in timed.items():
            started = time.perf_counter()
            for _ in range(n):
                fn()
            spent[name] += time.perf_counter() - started
        done += n
    return {name: spent[name] / decisions * 1e6 for name in timed}


def memory_of(name: str, decisions: int) -> tuple[float, float]:
    """(KiB still allocated after ``decisions`` decisions, peak KiB) for one way."""
    fn = ways()[name]
    fn()
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(decisions):
            fn()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (current - base) / 1024, (peak - base) / 1024


def run(quick: bool = False, decisions: int | None = None, memory: int | None = None) -> list[Figure]:
    decisions = decisions or (5_000 if quick else 20_000)
    memory = memory or (20_000 if quick else 100_000)
    per = time_ways(decisions)
    base = per["dispatch (Santongbu)"]
    figures: list[Figure] = []
    for name, us in per.items():
        print(f"  machine: {name}: {us:.1f} µs per decision", flush=True)
        if name == "dispatch (Santongbu)":
            figures.append(Figure("machine", f"{name}, µs/decision", us, "µs"))
        else:
            figures.append(
                Figure("machine", f"{name}, µs/decision", us, "µs", baseline=base, baseline_name="dispatch")
            )
    for name in (
        "dispatch (Santongbu)",
        "add_model + remove_model",
        "add_model, never removed",
        "Machine per document",
    ):
        # The two slow ways (every decision builds or keeps a machine's worth of objects, and
        # tracemalloc records each allocation) get a fifth of the decisions, to keep the whole
        # run within its time budget; their per-decision figure is what compares.
        count = memory if name in ("dispatch (Santongbu)", "add_model + remove_model") else memory // 5
        kept, peak = memory_of(name, count)
        per_decision = kept * 1024 / count
        print(
            f"  machine: {name}: {kept:,.0f} KiB kept after {count:,} decisions "
            f"({per_decision:,.1f} B each, peak {peak:,.0f} KiB)",
            flush=True,
        )
        figures.append(
            Figure(
                "machine",
                f"{name}, memory kept after {count:,} decisions",
                kept,
                "KiB",
                note=f"{per_decision:,.1f} B/decision, peak {peak:,.0f} KiB",
                # Flat: what stays does not grow with the number of decisions (< 8 B each is a
                # one-off cache, not a leak).
                target="flat" if name == "dispatch (Santongbu)" else "",
                met=per_decision < 8 if name == "dispatch (Santongbu)" else None,
            )
        )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=None, help="timed decisions per way")
    parser.add_argument("--memory", type=int, default=None, help="decisions per way under tracemalloc")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    finish(run(args.quick, args.decisions, args.memory), args.json)


if __name__ == "__main__":
    main()
