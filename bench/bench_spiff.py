"""Benchmark 4: the same five-step workflow in SpiffWorkflow (BPMN) and in Santongbu.

Run:  .venv/bin/python bench/bench_spiff.py [--workflows 40] [--backends sqlite,postgresql]
Needs: ``pip install SpiffWorkflow`` (the ``bench`` extra).

The workflow: draft → interpretation plan → joint sign-off by two signers → publish →
interpretation posted (``bench/bpmn/santongbu_lifecycle.bpmn``, written by hand: user tasks where
people act, a parallel gateway forking and joining the two signatures).

What one step does on each side — each step is what a person does at that point, with the same
data, and each side persists it to the same database (same engine, same settings; on SQLite the
same ``BEGIN IMMEDIATE``):

=================  ===================================================  =========================================
step               Santongbu (``Workflow``; each call one transaction)  SpiffWorkflow (one transaction)
=================  ===================================================  =========================================
draft              ``create_document`` + ``fire(prepare_plan)``          new ``BpmnWorkflow``, run ``draft`` with
                                                                          the draft's fields, ``INSERT`` its JSON
plan               ``edit_document`` (plan, interpreter) +               load + deserialize, run ``plan`` with the
                   ``add_material`` + ``set_signers`` +                   plan, material, interpreter, signers,
                   ``fire(request_signoff)``                              serialize, ``UPDATE``
sign (head)        ``sign``                                               … run ``sign_head`` …
sign (director)    ``sign``                                               … run ``sign_director`` (the join fires) …
publish            ``fire(publish, publication_url)``                     … run ``publish`` with the URL …
post               ``record_posting`` (portal) + ``record_posting``       … run ``post_interpretation`` with both
                   (news media; completes the document)                   postings (the workflow completes) …
=================  ===================================================  =========================================

Santongbu does more per step, and it is counted: permissions, guards, the package hash, the
deadline on the working-day calendar, a hash-chained audit event per change, outbox rows with
rendered emails (sign-off requested, published), a version check on the document. The Spiff side
does what BPMN engines do: it moves tokens, keeps task data and stores the serialized workflow
(``BpmnWorkflowSerializer.serialize_json``, spec included, as the library does by default) in
a ``spiff_workflows`` table (id, version, JSON text) with the same version check
(``UPDATE … WHERE id = ? AND version = ?``). The BPMN spec is parsed once per process, not per
step. Steps alternate between the two sides, workflow by workflow, so load falls on both alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import App, Figure, Stats, application, backend, finish

BPMN = Path(__file__).resolve().parent / "bpmn" / "santongbu_lifecycle.bpmn"
PROCESS = "santongbu_lifecycle"
STEPS = ("draft", "plan", "sign (head)", "sign (director)", "publish", "post")
URL = "https://jtj.fuzhou.example.cn/zcwj/1.htm"
TARGET = 10.0

CREATE_TABLE = {
    "sqlite": "CREATE TABLE spiff_workflows (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
    "state TEXT NOT NULL)",
    "postgresql": "CREATE TABLE spiff_workflows (id SERIAL PRIMARY KEY, version INTEGER NOT NULL, "
    "state TEXT NOT NULL)",
}


class SpiffSide:
    """SpiffWorkflow persisting each step with its own serializer, one commit per step."""

    def __init__(self, app: App) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from sqlalchemy import text

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(PROCESS)
        self.serializer = BpmnWorkflowSerializer()
        self.db = app.db
        with self.db.transaction() as session:  # type: ignore[attr-defined]
            session.execute(text(CREATE_TABLE["sqlite" if self.db.is_sqlite else "postgresql"]))  # type: ignore[attr-defined]

    def _run(self, workflow: Any, task_name: str, data: dict[str, Any]) -> None:
        from SpiffWorkflow.util.task import TaskState

        task = next(
            (
                t
                for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                if t.task_spec.name == task_name
            ),
            None,
        )
        if task is None:
            raise RuntimeError(f"spiff: {task_name} is not ready")
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()

    def start(self, data: dict[str, Any]) -> int:
        """The draft step: a new instance, its first task run, stored."""
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from sqlalchemy import text

        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()
        self._run(workflow, "draft", data)
        state = self.serializer.serialize_json(workflow)
        with self.db.transaction() as session:  # type: ignore[attr-defined]
            return session.execute(
                text("INSERT INTO spiff_workflows (version, state) VALUES (1, :s) RETURNING id"), {"s": state}
            ).scalar_one()

    def step(self, instance: int, task_name: str, data: dict[str, Any]) -> bool:
        """Load, deserialize, run one task, serialize, store; True once the workflow is done."""
        from sqlalchemy import text

        with self.db.transaction() as session:  # type: ignore[attr-defined]
            version, state = session.execute(
                text("SELECT version, state FROM spiff_workflows WHERE id = :id"), {"id": instance}
            ).one()
            workflow = self.serializer.deserialize_json(state)
            self._run(workflow, task_name, data)
            moved = session.execute(
                text(
                    "UPDATE spiff_workflows SET state = :s, version = version + 1 "
                    "WHERE id = :id AND version = :v"
                ),
                {"s": self.serializer.serialize_json(workflow), "id": instance, "v": version},
            ).rowcount
            if moved != 1:
                raise RuntimeError("spiff: changed meanwhile")
            return bool(workflow.is_completed())


def spiff_steps(side: SpiffSide) -> list[Callable[[dict[str, Any]], None]]:
    """The six steps as callables sharing a small context (the instance id)."""

    def draft(ctx: dict[str, Any]) -> None:
        ctx["id"] = side.start(
            {
                "title": "福州市道路运输管理办法",
                "doc_number": "榕交〔2024〕1号",
                "body": "第一条 …",
                "disclosure": "proactive",
                "risk_assessment_needed": False,
                "unit": "spc",
                "clerk": "liu.spc",
            }
        )

    def plan(ctx: dict[str, Any]) -> None:
        side.step(
            ctx["id"],
            "plan",
            {
                "plan": "解读方案:政策背景、主要内容、关键词解释",
                "interpreter": "liu.spc",
                "materials": [{"form": "text", "title": "文字解读", "body": "一、制定背景 …"}],
                "signers": ["chen.spc", "director"],
            },
        )

    def sign(who: str, task: str) -> Callable[[dict[str, Any]], None]:
        def run(ctx: dict[str, Any]) -> None:
            side.step(ctx["id"], task, {f"signed_by_{who}": who})

        return run

    def publish(ctx: dict[str, Any]) -> None:
        side.step(ctx["id"], "publish", {"publication_url": URL, "published_at": "2024-02-05T10:00:00+08:00"})

    def post(ctx: dict[str, Any]) -> None:
        done = side.step(
            ctx["id"],
            "post_interpretation",
            {
                "postings": [
                    {"channel": "portal", "url": "https://jtj.fuzhou.example.cn/zcjd/1.htm"},
                    {"channel": "news_media", "outlet": "福州日报", "url": "https://news.example.cn/1.htm"},
                ]
            },
        )
        if not done:
            raise RuntimeError("spiff: the workflow did not complete")

    return [draft, plan, sign("chen.spc", "sign_head"), sign("director", "sign_director"), publish, post]


def santongbu_steps(app: App) -> list[Callable[[dict[str, Any]], None]]:
    from tests.factories import CLERK, HEAD, SIGNER2

    wf: Any = app.wf

    def draft(ctx: dict[str, Any]) -> None:
        ctx["id"] = wf.create_document(
            CLERK,
            title="福州市道路运输管理办法",
            doc_number="榕交〔2024〕1号",
            body="第一条 …",
            disclosure="proactive",
            risk_assessment_needed=False,
        ).document_id
        wf.fire(CLERK, ctx["id"], "prepare_plan")

    def plan(ctx: dict[str, Any]) -> None:
        doc = ctx["id"]
        wf.edit_document(
            CLERK, doc, {"plan": "解读方案:政策背景、主要内容、关键词解释", "interpreter": CLERK}
        )
        wf.add_material(CLERK, doc, form="text", title="文字解读", body="一、制定背景 …")
        wf.set_signers(CLERK, doc, [HEAD, SIGNER2])
        wf.fire(CLERK, doc, "request_signoff")

    def sign(who: str) -> Callable[[dict[str, Any]], None]:
        def run(ctx: dict[str, Any]) -> None:
            wf.sign(who, ctx["id"])

        return run

    def publish(ctx: dict[str, Any]) -> None:
        wf.fire(CLERK, ctx["id"], "publish", publication_url=URL)

    def post(ctx: dict[str, Any]) -> None:
        wf.record_posting(CLERK, ctx["id"], channel="portal", url="https://jtj.fuzhou.example.cn/zcjd/1.htm")
        out = wf.record_posting(
            CLERK, ctx["id"], channel="news_media", outlet="福州日报", url="https://news.example.cn/1.htm"
        )
        if out.state_after != "interpretation_posted":
            raise RuntimeError(f"santongbu: the document ended in {out.state_after}")

    return [draft, plan, sign(HEAD), sign(SIGNER2), publish, post]


def run_backend(kind: str, workflows: int, warmup: int = 3) -> tuple[list[Stats], list[Stats]]:
    """Per step: (Santongbu timings, Spiff timings) over ``workflows`` complete workflows."""
    with backend(kind, "spiff") as url, application(url) as app:
        ours, theirs = santongbu_steps(app), spiff_steps(SpiffSide(app))
        s_stats = [Stats() for _ in STEPS]
        p_stats = [Stats() for _ in STEPS]
        for i in range(warmup + workflows):
            sides = [(ours, s_stats), (theirs, p_stats)]
            for steps, stats in sides if i % 2 == 0 else sides[::-1]:
                ctx: dict[str, Any] = {}
                for k, step in enumerate(steps):
                    started = time.perf_counter()
                    step(ctx)
                    if i >= warmup:
                        stats[k].add(time.perf_counter() - started)
        return s_stats, p_stats


def run(
    quick: bool = False, backends: tuple[str, ...] = ("sqlite", "postgresql"), workflows: int | None = None
) -> list[Figure]:
    try:
        import SpiffWorkflow  # noqa: F401
    except ImportError as exc:
        raise SystemExit(
            "bench_spiff needs SpiffWorkflow: .venv/bin/pip install 'SpiffWorkflow>=3.1,<4'"
        ) from exc
    workflows = workflows or (8 if quick else 40)
    figures: list[Figure] = []
    for kind in backends:
        ours, theirs = run_backend(kind, workflows)
        total_ours = sum(s.p50 for s in ours)
        total_theirs = sum(s.p50 for s in theirs)
        for name, s, p in zip(STEPS, ours, theirs):
            print(
                f"  spiff/{kind} {name:16s} santongbu p50 {s.p50 * 1e3:8.2f} ms   "
                f"spiff p50 {p.p50 * 1e3:8.2f} ms   spiff/santongbu {p.p50 / s.p50:5.2f}",
                flush=True,
            )
            figures.append(
                Figure(
                    "spiff",
                    f"{kind}: {name}, Santongbu p50",
                    s.p50 * 1e3,
                    "ms",
                    baseline=p.p50 * 1e3,
                    baseline_name="SpiffWorkflow",
                )
            )
        speedup = total_theirs / total_ours
        figures.append(
            Figure(
                "spiff",
                f"{kind}: whole workflow (sum of step p50s), Santongbu",
                total_ours * 1e3,
                "ms",
                baseline=total_theirs * 1e3,
                baseline_name="SpiffWorkflow",
                target="Santongbu ≥ 10× faster (ratio ≤ 0.10)",
                met=speedup >= TARGET,
                note=(
                    f"Santongbu {speedup:.1f}× faster"
                    if speedup >= 1
                    else f"SpiffWorkflow {1 / speedup:.1f}× faster"
                ),
            )
        )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=None, help="timed workflows per side (40)")
    parser.add_argument("--quick", action="store_true", help="8 workflows per side")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    finish(run(args.quick, tuple(args.backends.split(",")), args.workflows), args.json)


if __name__ == "__main__":
    main()
