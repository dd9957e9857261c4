"""``santongbu demo``: the whole product in one command, with nothing installed or running.

What it does, in a folder of its own (``./santongbu-demo/`` by default, fresh each run):

1. creates an SQLite database, an audit keyring (``audit.key``, its public half
   ``audit.key.pub``) that keys the trail, and seeds the sample bureau (the units of the Fuzhou
   transport bureau's 2019 disclosure plan);
2. starts a **real** Celery worker and beat in this process, on kombu's in-memory transport,
   with emails going to ``santongbu-demo/mail/*.eml`` — the same tasks, schedule and code paths
   as production, only the broker and the mail transport differ. (Worker and beat share this
   process, so memory is enough, and nothing is left behind outside the demo folder.);
3. moves an injected clock through February 2024 — across the Spring Festival holiday and its
   make-up working Sunday — while clerks, signers and the worker act "as of" each instant:
   one document is posted on time, one late, one stays overdue and climbs the whole escalation
   ladder, one is rejected and fixed, one withdrawn, one filed as 不予公开, one waits in sign-off;
4. prints what happened (see :mod:`workflow.demo.report`), the audit trail checked against
   the signed anchors the worker exported to ``anchors/``.

The people act through :class:`workflow.services.documents.Workflow` exactly as the CLI and HTTP API do;
the sweep and the deliveries are done only by the worker's tasks, triggered by the beat.

The story itself (the documents and the moments) is :mod:`workflow.demo.story`; this module
prepares the folder and settings and plays the story against a real in-process worker and beat.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from workflow.demo.formatting import LEVELS, fmt_time, label
from workflow.demo.story import MOMENTS, Story
from workflow.kernel import audit
from workflow.kernel.auditkeys import generate_keyring, write_public_keyring
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings

MARKER = ".santongbu-demo"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample_bureau.toml"
TICK = 0.1  # the demo's beat: sweep and deliver every 0.1 s of real time
STEP_TIMEOUT = 30.0


class DemoError(Exception):
    """Something stopped the demo; the message says what and what to do."""


def prepare_folder(folder: Path) -> None:
    """A fresh demo folder. An existing one is replaced only if an earlier demo made it: a
    mistyped ``--dir`` must never wipe someone's files."""
    if folder.exists():
        if not folder.is_dir():
            raise DemoError(f"{folder} exists and is not a folder; choose another --dir")
        if any(folder.iterdir()) and not (folder / MARKER).exists():
            raise DemoError(
                f"{folder} is not empty and was not made by 'santongbu demo'; "
                "choose another --dir or remove it yourself"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by 'santongbu demo'; replaced on the next run\n", encoding="utf-8")


def demo_settings(folder: Path, lang: str) -> Settings:
    """Everything the demo depends on, set explicitly so a ``.env`` or ``SANTONGBU_*`` variable
    for a real installation cannot point it at a real database, broker or mail server."""
    return Settings(
        database_url=f"sqlite:///{folder / 'santongbu.db'}",
        language=lang,  # type: ignore[arg-type]
        timezone="Asia/Shanghai",
        deadline_days=3,
        broker_url="memory://",
        mail_transport="folder",
        mail_folder=folder / "mail",
        mail_from="santongbu@jtj.example.cn",
        audit_key_file=folder / "audit.key",
        audit_export_dir=folder / "anchors",
        sweep_interval_seconds=TICK,
        outbox_interval_seconds=TICK,
        sweep_batch_size=500,
        base_url="http://127.0.0.1:8000",
        allow_clock_override=True,  # the story sets its own clock
    )


@dataclass
class StepResult:
    at: datetime
    note: tuple[str, str]
    fired: list[tuple[int, str]] = field(default_factory=list)
    emails_sent: int = 0


# ------------------------------------------------------------------ running it
@dataclass
class DemoRun:
    folder: Path
    settings: Settings
    db: Database
    clock: FixedClock
    ids: dict[str, int]
    steps: list[StepResult]
    checkpoint: dict[str, Any] | None
    seconds: float


def run_demo(folder: Path, lang: str, progress: Callable[[str], None]) -> DemoRun:
    """Play the story with a real in-process worker and beat; see the module docstring. The
    story's clock is set by hand, so every event also records the real time (a clock override)."""
    from workflow.kernel import attribution

    started = time.perf_counter()
    folder = folder.resolve()
    prepare_folder(folder)
    settings = demo_settings(folder, lang)
    db = Database(settings.database_url)
    db.upgrade()
    clock = FixedClock(MOMENTS[0].at)
    keyring = generate_keyring(settings.audit_key_file, now=clock.now())  # type: ignore[arg-type]
    write_public_keyring(folder / "audit.key.pub", keyring)
    previous = audit.current_keyring()  # bootstrap takes up the demo's keyring; put back after
    attribution.set_clock_override(True)
    try:
        return _play(folder, lang, progress, settings, db, clock, started)
    finally:
        attribution.set_clock_override(False)
        audit.use_keyring(previous)


def _play(
    folder: Path,
    lang: str,
    progress: Callable[[str], None],
    settings: Settings,
    db: Database,
    clock: FixedClock,
    started: float,
) -> DemoRun:
    from workers.app import make_app
    from workers.delivery_tasks import DELIVER_OUTBOX
    from workers.inprocess import running
    from workers.sweep_tasks import AUDIT_CHECKPOINT, SWEEP_DEADLINES
    from workflow.bootstrap import bootstrap
    from workflow.kernel.models import Escalation
    from workflow.kernel.models.outbox import OutboxMessage

    # After importing workers.app, whose module-level app takes up the environment's settings:
    # from here on the demo's keyring (settings.audit_key_file) keys the trail.
    services = bootstrap(settings, db=db, clock=clock)
    counts = services.directory.import_file(None, SAMPLE)
    progress(
        label(
            lang,
            f"示例单位已导入:{counts['units']} 个处室、{counts['users']} 名用户",
            f"sample bureau imported: {counts['units']} units, {counts['users']} users",
        )
    )
    story = Story(services.workflow, clock)

    app = make_app(services=services, name="santongbu-demo")
    app.conf.broker_transport_options = {"polling_interval": 0.02}

    def pending() -> int:
        with db.transaction() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status.in_(("pending", "sending")))
                )
                or 0
            )

    steps: list[StepResult] = []
    checkpoint: dict[str, Any] | None = None
    with running(
        app,
        beat=True,
        pool="threads",
        concurrency=2,
        beat_loop_seconds=TICK / 2,
        shutdown_timeout=STEP_TIMEOUT,
        wake_task=SWEEP_DEADLINES,
    ) as rt:
        progress(
            label(
                lang,
                "Celery worker 与 beat 已在本进程启动(内存传输,无需 Redis)",
                "Celery worker and beat started in this process (in-memory transport, no Redis)",
            )
        )
        for i, moment in enumerate(MOMENTS, 1):
            clock.set(moment.at)
            if moment.act is not None:
                moment.act(story)
            # Two more sweeps: at least one began after the clock moved; then every queued
            # email is delivered by the worker (the sweep nudges delivery; the beat also ticks).
            try:
                rt.probe.wait_more(SWEEP_DEADLINES, 2, STEP_TIMEOUT)
                deadline = time.monotonic() + STEP_TIMEOUT
                while pending():
                    if time.monotonic() > deadline:
                        raise TimeoutError("emails still waiting after a minute")
                    rt.probe.wait_more(DELIVER_OUTBOX, 1, STEP_TIMEOUT)
            except TimeoutError as exc:
                raise DemoError(f"the in-process worker did not keep up: {exc}") from exc
            if rt.probe.failures:
                name, error = rt.probe.failures[0]
                raise DemoError(f"task {name} failed in the worker: {error!r}")
            now = clock.now()
            with db.transaction() as s:
                fired = [
                    (d, lv)
                    for d, lv in s.execute(
                        select(Escalation.document_id, Escalation.level)
                        .where(Escalation.fired_at == now)
                        .order_by(Escalation.id)
                    )
                ]
                sent = (
                    s.scalar(
                        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at == now)
                    )
                    or 0
                )
            step = StepResult(moment.at, moment.note, fired, sent)
            steps.append(step)
            progress(_step_line(i, step, story.ids, lang))
        before = rt.probe.count(AUDIT_CHECKPOINT)
        app.send_task(AUDIT_CHECKPOINT, kwargs={"force": True})
        try:
            rt.probe.wait(AUDIT_CHECKPOINT, before + 1, STEP_TIMEOUT)
        except TimeoutError as exc:
            raise DemoError(f"the audit checkpoint task did not run: {exc}") from exc
        results = rt.probe.returned(AUDIT_CHECKPOINT)
        checkpoint = results[-1] if results else None
        progress(
            label(
                lang,
                "审计检查点已由 worker 记录;正在停止 worker……",
                "audit checkpoint recorded by the worker; stopping the worker…",
            )
        )
    return DemoRun(
        folder, settings, db, clock, dict(story.ids), steps, checkpoint, time.perf_counter() - started
    )


def _step_line(i: int, step: StepResult, ids: dict[str, int], lang: str) -> str:

    note = step.note[0] if lang == "zh" else step.note[1]
    for key, doc_id in ids.items():
        note = note.replace(f"#{key}", f"#{doc_id}")
    line = f"[{i:2d}/{len(MOMENTS)}] {fmt_time(step.at, lang)}  {note}"
    if step.fired:
        by_level: dict[str, list[int]] = {}
        for doc_id, level in step.fired:
            by_level.setdefault(level, []).append(doc_id)
        fired = "; ".join(
            f"{LEVELS.get(lv, (lv, lv))[0 if lang == 'zh' else 1]} " + ", ".join(f"#{d}" for d in docs)
            for lv, docs in by_level.items()
        )
        line += "\n" + " " * 9 + label(lang, f"巡检 → {fired}", f"sweep → {fired}")
    if step.emails_sent:
        line += (
            "\n"
            + " " * 9
            + label(
                lang,
                f"worker 已发送 {step.emails_sent} 封邮件",
                f"worker delivered {step.emails_sent} email(s)",
            )
        )
    return line
