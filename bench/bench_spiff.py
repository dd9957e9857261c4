"""Benchmark 4: the same workflow in SpiffWorkflow (BPMN) and in Santongbu, compared fairly.

Run:  .venv/bin/python bench/bench_spiff.py [--workflows 40] [--backends sqlite,postgresql] [--quick]
Needs: ``pip install SpiffWorkflow`` (the ``bench`` extra).

The workflow: draft → interpretation plan → joint sign-off by two signers → publish →
interpretation posted (``bench/bpmn/santongbu_lifecycle.bpmn``, written by hand: user tasks where
people act, a parallel gateway forking and joining the two signatures), as **eleven user
actions** — what people do, one at a time:

==  ===============  ===================================  ==========================================
 #  step             Santongbu (one service call)          SpiffWorkflow
==  ===============  ===================================  ==========================================
 1  draft            ``create_document``                   new ``BpmnWorkflow``, draft's data set
 2  draft            ``fire(prepare_plan)``                run ``draft``
 3  plan             ``edit_document`` (plan, interpreter) set on the ready ``plan`` task's data
 4  plan             ``add_material``                      … (a material added to the task data)
 5  plan             ``set_signers``                       … (signers set in the task data)
 6  plan             ``fire(request_signoff)``             run ``plan`` (the fork fires)
 7  sign (head)      ``sign``                              run ``sign_head``
 8  sign (director)  ``sign``                              run ``sign_director`` (the join fires)
 9  publish          ``fire(publish, publication_url)``    run ``publish``
10  post             ``record_posting`` (portal)           set on ``post_interpretation``'s data
11  post             ``record_posting`` (news media)       run ``post_interpretation`` (completes)
==  ===============  ===================================  ==========================================

**The same durability on both sides: one transaction per user action** (11 commits per
workflow each; counted on the engine and checked before anything is timed). A Spiff action
loads its row, deserializes, acts, serializes (``BpmnWorkflowSerializer.serialize_json``, spec
included, the library's default) and stores it with a version check (``UPDATE … WHERE id = ?
AND version = ?``) in a ``spiff_workflows`` table. The BPMN spec is parsed once per process.

Two comparisons (issue 20):

(a) **durable, with the same rows.** Spiff also writes, in each action's transaction, the audit
    events and outbox rows Santongbu wrote for that action: the same number, the same columns and
    bytes (copied from Santongbu's own rows of a workflow run first), into the same
    ``audit_events`` and ``outbox`` tables (so the same indexes and the same chain-head trigger),
    hash-chained (SHA-256 of each row, chain ``spiff:<id>``, the chain's advisory lock first on
    PostgreSQL, the head read, one multi-row insert; outbox rows by ``INSERT … ON CONFLICT DO
    NOTHING RETURNING``). Spiff is handed the emails' rendered text: it does not render, check
    permissions, hash packages or compute deadlines — what it is spared is Santongbu's
    application work, what it pays is the same I/O. Spiff writing its state only (as the
    previous version of this benchmark measured) is reported beside it.
(b) **engine CPU alone**, no database: ``time.process_time`` of what each engine does to decide
    an action, on state already in memory. Santongbu: the permission check and, where the action
    moves the state, ``states.lifecycle.decide`` (guards and the shared machine), on the
    document snapshots of a real workflow. Spiff: finding the ready task, setting its data,
    ``task.run()`` and ``do_engine_steps()`` on an in-memory workflow; and the same with the
    deserialize/serialize a persisted Spiff action cannot skip. Median per action, summed over
    the eleven.

Sides alternate workflow by workflow, so load on this shared machine falls on all alike.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
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
URL = "https://jtj.fuzhou.example.cn/zcwj/1.htm"
# (step, action): the eleven user actions and the step of the table each belongs to.
ACTIONS: tuple[tuple[str, str], ...] = (
    ("draft", "create"),
    ("draft", "prepare_plan"),
    ("plan", "edit"),
    ("plan", "add_material"),
    ("plan", "set_signers"),
    ("plan", "request_signoff"),
    ("sign (head)", "sign"),
    ("sign (director)", "sign"),
    ("publish", "publish"),
    ("post", "posting (portal)"),
    ("post", "posting (news media)"),
)
STEPS = tuple(dict.fromkeys(step for step, _ in ACTIONS))
ENGINE_TARGET = 20.0  # Santongbu ≥ 20× less engine CPU (issue 20)
CHAIN_LOCK_CLASS = 0x5A4E4348  # workflow.kernel.audit's advisory-lock class for chains
GENESIS = "0" * 64

CREATE_TABLE = {
    "sqlite": "CREATE TABLE spiff_workflows (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
    "state TEXT NOT NULL)",
    "postgresql": "CREATE TABLE spiff_workflows (id SERIAL PRIMARY KEY, version INTEGER NOT NULL, "
    "state TEXT NOT NULL)",
}

DRAFT = {
    "title": "福州市道路运输管理办法",
    "doc_number": "榕交〔2024〕1号",
    "body": "第一条 …",
    "disclosure": "proactive",
    "risk_assessment_needed": False,
    "unit": "spc",
    "clerk": "liu.spc",
}
PLAN = {"plan": "解读方案:政策背景、主要内容、关键词解释", "interpreter": "liu.spc"}
MATERIAL = {"form": "text", "title": "文字解读", "body": "一、制定背景 …"}
PORTAL = {"channel": "portal", "url": "https://jtj.fuzhou.example.cn/zcjd/1.htm"}
NEWS = {"channel": "news_media", "outlet": "福州日报", "url": "https://news.example.cn/1.htm"}


# --------------------------------------------------------------------------- SpiffWorkflow
def spiff_spec() -> Any:
    from SpiffWorkflow.bpmn.parser import BpmnParser

    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    return parser.get_spec(PROCESS)


def _ready(workflow: Any, task_name: str) -> Any:
    from SpiffWorkflow.util.task import TaskState

    for t in workflow.get_tasks(state=TaskState.READY, manual=True):
        if t.task_spec.name == task_name:
            return t
    raise RuntimeError(f"spiff: {task_name} is not ready")


def _set(workflow: Any, task_name: str, data: dict[str, Any]) -> None:
    _ready(workflow, task_name).data.update(data)


def _run(workflow: Any, task_name: str, data: dict[str, Any]) -> None:
    task = _ready(workflow, task_name)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def _add(workflow: Any, task_name: str, key: str, item: dict[str, Any]) -> None:
    task = _ready(workflow, task_name)
    task.data[key] = [*task.data.get(key, []), item]


# What each action does to an in-memory Spiff workflow (action 1 makes the workflow itself).
SPIFF_ACTIONS: tuple[Callable[[Any], None], ...] = (
    lambda w: _set(w, "draft", DRAFT),
    lambda w: _run(w, "draft", {}),
    lambda w: _set(w, "plan", PLAN),
    lambda w: _add(w, "plan", "materials", MATERIAL),
    lambda w: _set(w, "plan", {"signers": ["chen.spc", "director"]}),
    lambda w: _run(w, "plan", {}),
    lambda w: _run(w, "sign_head", {"signed_by_head": "chen.spc"}),
    lambda w: _run(w, "sign_director", {"signed_by_director": "director"}),
    lambda w: _run(w, "publish", {"publication_url": URL, "published_at": "2024-02-05T10:00:00+08:00"}),
    lambda w: _add(w, "post_interpretation", "postings", PORTAL),
    lambda w: (_add(w, "post_interpretation", "postings", NEWS), _run(w, "post_interpretation", {})),
)


class Trail:
    """The audit events and outbox rows Santongbu wrote for each action, for Spiff to write too."""

    def __init__(self, events: list[list[dict[str, Any]]], mails: list[list[dict[str, Any]]]) -> None:
        self.events, self.mails = events, mails

    def counts(self) -> tuple[int, int]:
        return sum(map(len, self.events)), sum(map(len, self.mails))


class SpiffSide:
    """SpiffWorkflow persisting each action in a transaction of its own (and, with ``trail``,
    the same audit and outbox rows as Santongbu in it)."""

    def __init__(self, app: App, spec: Any, trail: Trail | None) -> None:
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

        self.spec = spec
        self.serializer = BpmnWorkflowSerializer()
        self.db: Any = app.db
        self.trail = trail
        self.pg = not self.db.is_sqlite

    def create_table(self) -> None:
        from sqlalchemy import text

        with self.db.transaction() as session:
            session.execute(text(CREATE_TABLE["postgresql" if self.pg else "sqlite"]))

    def action(self, k: int, ctx: dict[str, Any]) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from sqlalchemy import text

        with self.db.transaction() as session:
            if k == 0:
                workflow = BpmnWorkflow(self.spec)
                workflow.do_engine_steps()
                SPIFF_ACTIONS[0](workflow)
                ctx["id"] = session.execute(
                    text("INSERT INTO spiff_workflows (version, state) VALUES (1, :s) RETURNING id"),
                    {"s": self.serializer.serialize_json(workflow)},
                ).scalar_one()
            else:
                version, state = session.execute(
                    text("SELECT version, state FROM spiff_workflows WHERE id = :id"), {"id": ctx["id"]}
                ).one()
                workflow = self.serializer.deserialize_json(state)
                SPIFF_ACTIONS[k](workflow)
                moved = session.execute(
                    text(
                        "UPDATE spiff_workflows SET state = :s, version = version + 1 "
                        "WHERE id = :id AND version = :v"
                    ),
                    {"s": self.serializer.serialize_json(workflow), "id": ctx["id"], "v": version},
                ).rowcount
                if moved != 1:
                    raise RuntimeError("spiff: changed meanwhile")
            if self.trail is not None:
                self._write_trail(session, ctx["id"], k)
            if k == len(ACTIONS) - 1 and not workflow.is_completed():
                raise RuntimeError("spiff: the workflow did not complete")

    def _write_trail(self, session: Any, instance: int, k: int) -> None:
        """Santongbu's rows of action ``k``, re-chained on ``spiff:<instance>``."""
        from sqlalchemy import insert, select, text

        from workflow.kernel.models import AuditEvent, AuditHead, OutboxMessage

        assert self.trail is not None
        events, mails = self.trail.events[k], self.trail.mails[k]
        chain = f"spiff:{instance}"
        if mails:
            table = OutboxMessage.__table__
            rows = [{**m, "dedupe_key": f"{chain}:{k}:{j}"} for j, m in enumerate(mails)]
            if self.pg:
                from sqlalchemy.dialects.postgresql import insert as upsert
            else:
                from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
            session.execute(
                upsert(table)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(table.c.id)
            ).all()
        if events:
            if self.pg:
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:cls, hashtext(:c))"),
                    {"cls": CHAIN_LOCK_CLASS, "c": chain},
                )
            head = session.execute(
                select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)
            ).first()
            seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
            rows = []
            for event in events:
                seq += 1
                row = {**event, "chain": chain, "seq": seq, "prev_hash": prev}
                row["hash"] = prev = _sha256(row)
                rows.append(row)
            session.execute(insert(AuditEvent.__table__).values(rows))


def _sha256(row: dict[str, Any]) -> str:
    """SHA-256 of the row's canonical JSON: the work of an unkeyed audit chain's hash."""
    fields = {k: v for k, v in row.items() if k not in ("hash", "key_id")}
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- Santongbu
def santongbu_actions(app: App) -> list[Callable[[dict[str, Any]], Any]]:
    from tests.factories import CLERK, HEAD, SIGNER2

    wf: Any = app.wf

    def create(ctx: dict[str, Any]) -> None:
        ctx["id"] = wf.create_document(
            CLERK,
            title=DRAFT["title"],
            doc_number=DRAFT["doc_number"],
            body=DRAFT["body"],
            disclosure=DRAFT["disclosure"],
            risk_assessment_needed=DRAFT["risk_assessment_needed"],
            allow_duplicate_number=True,  # every run repeats one draft
        ).document_id

    def post_news(ctx: dict[str, Any]) -> None:
        out = wf.record_posting(CLERK, ctx["id"], **NEWS)
        if out.state_after != "interpretation_posted":
            raise RuntimeError(f"santongbu: the document ended in {out.state_after}")

    return [
        create,
        lambda ctx: wf.fire(CLERK, ctx["id"], "prepare_plan"),
        lambda ctx: wf.edit_document(CLERK, ctx["id"], {"plan": PLAN["plan"], "interpreter": CLERK}),
        lambda ctx: wf.add_material(CLERK, ctx["id"], **MATERIAL),
        lambda ctx: wf.set_signers(CLERK, ctx["id"], [HEAD, SIGNER2]),
        lambda ctx: wf.fire(CLERK, ctx["id"], "request_signoff"),
        lambda ctx: wf.sign(HEAD, ctx["id"]),
        lambda ctx: wf.sign(SIGNER2, ctx["id"]),
        lambda ctx: wf.fire(CLERK, ctx["id"], "publish", publication_url=URL),
        lambda ctx: wf.record_posting(CLERK, ctx["id"], **PORTAL),
        post_news,
    ]


ACTORS = ("liu.spc",) * 6 + ("chen.spc", "director") + ("liu.spc",) * 3


def _max_ids(db: Any) -> tuple[int, int]:
    from sqlalchemy import func, select

    from workflow.kernel.models import AuditEvent, OutboxMessage

    with db.engine.connect() as conn:
        return (
            conn.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one(),
            conn.execute(select(func.coalesce(func.max(OutboxMessage.id), 0))).scalar_one(),
        )


def _rows_after(db: Any, table: Any, after: int) -> list[dict[str, Any]]:
    from sqlalchemy import select

    with db.engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.id > after).order_by(table.c.id)).mappings().all()
    return [{k: v for k, v in r.items() if k not in ("id", "document_id")} for r in rows]


def record_workflow(app: App) -> tuple[Trail, list[tuple[Any, Any, Any]]]:
    """One Santongbu workflow, untimed: the rows each action wrote (for Spiff's side of (a)),
    and the actor and document snapshots before and after each action (for (b))."""
    from workflow.kernel.models import AuditEvent, Document, OutboxMessage
    from workflow.kernel.snapshots import document_snapshot
    from workflow.services import authz

    def snapshots(login: str, doc_id: int | None) -> tuple[Any, Any]:
        with app.db.transaction() as s:  # type: ignore[attr-defined]
            _, actor = authz.actor(s, login)
            doc = s.get(Document, doc_id) if doc_id is not None else None
            return actor, document_snapshot(s, doc) if doc is not None else None

    events: list[list[dict[str, Any]]] = []
    mails: list[list[dict[str, Any]]] = []
    snaps: list[tuple[Any, Any, Any]] = []
    ctx: dict[str, Any] = {}
    for login, act in zip(ACTORS, santongbu_actions(app)):
        actor, before = snapshots(login, ctx.get("id"))
        last_event, last_mail = _max_ids(app.db)
        act(ctx)
        events.append(_rows_after(app.db, AuditEvent.__table__, last_event))
        mails.append(_rows_after(app.db, OutboxMessage.__table__, last_mail))
        snaps.append((actor, before, snapshots(login, ctx["id"])[1]))
    return Trail(events, mails), snaps


# --------------------------------------------------------------------------- (a) durable
def count_commits(app: App, run: Callable[[], None]) -> int:
    from sqlalchemy import event

    commits = [0]

    def on_commit(_conn: Any) -> None:
        commits[0] += 1

    engine = app.db.engine  # type: ignore[attr-defined]
    event.listen(engine, "commit", on_commit)
    try:
        run()
    finally:
        event.remove(engine, "commit", on_commit)
    return commits[0]


def run_backend(kind: str, workflows: int, spec: Any, warmup: int = 2) -> dict[str, list[Stats]]:
    """Per side, per action: timings over ``workflows`` complete workflows."""
    with backend(kind, "spiff") as url, application(url) as app:
        trail, _ = record_workflow(app)
        ours = santongbu_actions(app)
        bare, audited = SpiffSide(app, spec, None), SpiffSide(app, spec, trail)
        bare.create_table()

        def workflow(side: Any) -> Callable[[], None]:
            def run() -> None:
                ctx: dict[str, Any] = {}
                for k in range(len(ACTIONS)):
                    side(k, ctx)

            return run

        sides: dict[str, Callable[[int, dict[str, Any]], Any]] = {
            "santongbu": lambda k, ctx: ours[k](ctx),
            "spiff+trail": audited.action,
            "spiff": bare.action,
        }
        commits = {name: count_commits(app, workflow(side)) for name, side in sides.items()}
        if set(commits.values()) != {len(ACTIONS)}:
            raise RuntimeError(f"not one transaction per user action on every side: {commits}")
        before = _max_ids(app.db)
        workflow(audited.action)()
        after = _max_ids(app.db)
        if (after[0] - before[0], after[1] - before[1]) != trail.counts():
            raise RuntimeError(f"spiff wrote {after} - {before} rows, santongbu {trail.counts()}")
        print(
            f"  spiff/{kind}: {len(ACTIONS)} transactions per workflow on each side; "
            f"{trail.counts()[0]} audit events and {trail.counts()[1]} outbox rows per workflow",
            flush=True,
        )
        stats = {name: [Stats() for _ in ACTIONS] for name in sides}
        order = list(sides)
        for i in range(warmup + workflows):
            for name in order[i % 3 :] + order[: i % 3]:  # rotate who goes first
                ctx: dict[str, Any] = {}
                for k in range(len(ACTIONS)):
                    started = time.perf_counter()
                    sides[name](k, ctx)
                    if i >= warmup:
                        stats[name][k].add(time.perf_counter() - started)
        return stats


def per_step(stats: list[Stats]) -> dict[str, float]:
    """Sum of the actions' p50s within each step, in seconds."""
    out = dict.fromkeys(STEPS, 0.0)
    for (step, _), s in zip(ACTIONS, stats):
        out[step] += s.p50
    return out


# --------------------------------------------------------------------------- (b) engine CPU
def _cpu(fn: Callable[[], object], repeats: int) -> float:
    """Median ``process_time`` of ``fn`` in seconds (each call timed on its own)."""
    samples = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def santongbu_engine(snaps: list[tuple[Any, Any, Any]], repeats: int) -> list[float]:
    """Per action: the permission check and, where the state moves, ``decide``."""
    from datetime import datetime

    from states import permissions
    from states.lifecycle import State, decide
    from states.snapshot import DocumentSnapshot

    now = datetime.fromisoformat("2024-02-05T10:00:00+08:00")
    fire = {"reason": None, "publication_url": None, "published_at": None, "now": now}
    calls: list[Callable[[], object]] = []
    for (_, action), (actor, before, after) in zip(ACTIONS, snaps):
        if action == "create":
            new = DocumentSnapshot(state=State.DRAFT, unit_id=actor.unit_id, unit_code=actor.unit_code)
            calls.append(lambda a=actor, d=new: permissions.may_edit(a, d))
        elif action in ("prepare_plan", "request_signoff", "publish"):
            args = {**fire, "publication_url": URL, "published_at": now} if action == "publish" else fire

            def fired(a: Any = actor, d: Any = before, t: str = action, g: Any = args) -> object:
                return permissions.may_fire(a, d, t) or decide(d, t, g).allowed

            calls.append(fired)
        elif action == "sign":
            calls.append(lambda a=actor, d=before: permissions.may_sign(a, d))
        elif action.startswith("posting"):

            def posted(a: Any = actor, d: Any = before, n: Any = after) -> object:
                return permissions.may_edit(a, d) or decide(n, "post_interpretation", {"now": now})

            calls.append(posted)
        else:  # edit, add_material, set_signers
            calls.append(lambda a=actor, d=before: permissions.may_edit(a, d))
    return [_cpu(call, repeats) for call in calls]


def spiff_engine(spec: Any, workflows: int) -> tuple[list[float], list[float]]:
    """Per action, median over ``workflows``: (engine alone, engine with deserialize + serialize)."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

    serializer = BpmnWorkflowSerializer()
    alone: list[list[float]] = [[] for _ in ACTIONS]
    persisted: list[list[float]] = [[] for _ in ACTIONS]
    for _ in range(workflows):
        workflow: Any = None
        state = ""
        for k, act in enumerate(SPIFF_ACTIONS):
            # the engine alone, on the workflow in memory
            started = time.process_time()
            if k == 0:
                workflow = BpmnWorkflow(spec)
                workflow.do_engine_steps()
            act(workflow)
            alone[k].append(time.process_time() - started)
            # the same action as a persisted Spiff application runs it: from its JSON to its JSON
            started = time.process_time()
            if k == 0:
                restored = BpmnWorkflow(spec)
                restored.do_engine_steps()
            else:
                restored = serializer.deserialize_json(state)
            act(restored)
            state = serializer.serialize_json(restored)
            persisted[k].append(time.process_time() - started)
        assert workflow.is_completed()
    return [statistics.median(x) for x in alone], [statistics.median(x) for x in persisted]


# --------------------------------------------------------------------------- the run
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
    spec = spiff_spec()
    figures: list[Figure] = []
    snaps: list[tuple[Any, Any, Any]] = []
    for kind in backends:
        stats = run_backend(kind, workflows, spec)
        ours, theirs, bare = (per_step(stats[n]) for n in ("santongbu", "spiff+trail", "spiff"))
        for step in STEPS:
            print(
                f"  spiff/{kind} {step:16s} santongbu {ours[step] * 1e3:8.2f} ms   "
                f"spiff+trail {theirs[step] * 1e3:8.2f} ms   spiff state only {bare[step] * 1e3:8.2f} ms",
                flush=True,
            )
            figures.append(
                Figure(
                    "spiff",
                    f"(a) {kind}: {step}, Santongbu (sum of its actions' p50s)",
                    ours[step] * 1e3,
                    "ms",
                    baseline=theirs[step] * 1e3,
                    baseline_name="Spiff + audit + outbox",
                )
            )
        total, total_theirs, total_bare = (sum(x.values()) for x in (ours, theirs, bare))
        figures += [
            Figure(
                "spiff",
                f"(a) {kind}: whole workflow, 11 transactions each, Santongbu vs Spiff writing the same rows",
                total * 1e3,
                "ms",
                baseline=total_theirs * 1e3,
                baseline_name="Spiff + audit + outbox",
                target="Santongbu faster (ratio < 1)",
                met=total < total_theirs,
                note=_faster(total, total_theirs),
            ),
            Figure(
                "spiff",
                f"(a) {kind}: whole workflow, 11 transactions each, Santongbu vs Spiff writing its state only",
                total * 1e3,
                "ms",
                baseline=total_bare * 1e3,
                baseline_name="Spiff, its state only",
                note=_faster(total, total_bare),
            ),
        ]
    # (b) needs no database but the snapshots of a real workflow (taken on SQLite).
    with backend("sqlite", "spiff_cpu") as url, application(url) as app:
        _, snaps = record_workflow(app)
    repeats = 200 if quick else 2000
    ours_cpu = santongbu_engine(snaps, repeats)
    alone, persisted = spiff_engine(spec, 30 if quick else 200)
    for (step, action), s, a, p in zip(ACTIONS, ours_cpu, alone, persisted):
        print(
            f"  spiff/engine {step:16s} {action:22s} santongbu {s * 1e6:8.1f} µs   "
            f"spiff {a * 1e6:8.1f} µs   spiff with (de)serialize {p * 1e6:8.1f} µs",
            flush=True,
        )
    total, total_alone, total_persisted = sum(ours_cpu) * 1e6, sum(alone) * 1e6, sum(persisted) * 1e6
    figures += [
        Figure(
            "spiff",
            "(b) engine CPU per workflow (11 actions), Santongbu (permissions + decide) vs Spiff (run + engine steps)",
            total,
            "µs",
            baseline=total_alone,
            baseline_name="Spiff: run + engine steps",
            target=f"≥ {ENGINE_TARGET:.0f}× less (ratio ≤ {1 / ENGINE_TARGET:.2f})",
            met=total_alone / total >= ENGINE_TARGET,
            note=f"Spiff {total_alone / total:.1f}× more",
        ),
        Figure(
            "spiff",
            "(b) engine CPU per workflow (11 actions), Santongbu vs Spiff with its serializer",
            total,
            "µs",
            baseline=total_persisted,
            baseline_name="Spiff with (de)serialize",
            note=f"Spiff {total_persisted / total:.1f}× more",
        ),
    ]
    return figures


def _faster(ours: float, theirs: float) -> str:
    return (
        f"Santongbu {theirs / ours:.2f}× faster" if ours <= theirs else f"Spiff {ours / theirs:.2f}× faster"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=None, help="timed workflows per side (40)")
    parser.add_argument("--quick", action="store_true", help="8 workflows per side, fewer CPU repeats")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    finish(run(args.quick, tuple(args.backends.split(",")), args.workflows), args.json)


if __name__ == "__main__":
    main()
