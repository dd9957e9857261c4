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
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

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


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


# ------------------------------------------------------------------ the documents
@dataclass(frozen=True)
class Spec:
    key: str
    title: str
    number: str
    clerk: str
    signers: tuple[str, ...]
    disclosure: str = "proactive"
    risk: bool = False

    @property
    def serial(self) -> str:
        """The serial of the document number (榕交〔2024〕3号 → 3), for example URLs."""
        return self.number.rsplit("〕", 1)[-1].rstrip("号")


SPECS = {
    s.key: s
    for s in (
        Spec(
            "on_time",
            "福州市网络预约出租汽车经营服务管理实施细则",
            "榕交〔2024〕3号",
            "liu.spc",
            ("chen.spc", "director"),
        ),
        # Flagged for a risk assessment: the legality reviewer (政法处) signs too.
        Spec(
            "late",
            "福州市道路运输驾驶员从业资格管理办法",
            "榕交〔2024〕4号",
            "liu.spc",
            ("chen.spc", "director", "lin.zfc"),
            risk=True,
        ),
        Spec(
            "overdue",
            "福州市交通运输数据资源共享管理办法",
            "榕交〔2024〕5号",
            "xu.kxc",
            ("wu.kxc", "director"),
        ),
        Spec(
            "fixed",
            "福州市道路客运班线经营许可实施办法",
            "榕交〔2024〕6号",
            "liu.spc",
            ("chen.spc", "director"),
        ),
        Spec("withdrawn", "福州市出租汽车运价调整方案", "榕交〔2024〕7号", "liu.spc", ("chen.spc",)),
        Spec(
            "filed",
            "福州市交通运输行业安全生产内部督查规程",
            "榕交〔2024〕8号",
            "liu.spc",
            ("chen.spc", "director"),
            disclosure="not_disclosed",
        ),
        Spec(
            "signoff", "福州市智慧交通建设三年行动方案", "榕交〔2024〕9号", "xu.kxc", ("wu.kxc", "director")
        ),
    )
}
ORDER = list(SPECS)


@dataclass
class Moment:
    """An instant of the story: what people do then; the worker then sweeps and delivers."""

    at: datetime
    note: tuple[str, str]  # (zh, en)
    act: Callable[[Story], None] | None = None


@dataclass
class StepResult:
    at: datetime
    note: tuple[str, str]
    fired: list[tuple[int, str]] = field(default_factory=list)
    emails_sent: int = 0


class Story:
    """The people of the sample bureau acting through the real service."""

    def __init__(self, wf: Any, clock: FixedClock) -> None:
        self.wf = wf
        self.clock = clock
        self.ids: dict[str, int] = {}

    def doc(self, key: str) -> int:
        return self.ids[key]

    def create(self, key: str) -> None:
        s = SPECS[key]
        self.ids[key] = self.wf.create_document(
            s.clerk,
            title=s.title,
            doc_number=s.number,
            disclosure=s.disclosure,
            risk_assessment_needed=s.risk,
            body="第一条 为规范……,根据有关法律法规,结合本市实际,制定本办法。",
        ).document_id

    def plan(self, key: str) -> None:
        s, doc = SPECS[key], self.ids[key]
        changes: dict[str, Any] = {
            "plan": "解读方案:政策背景、主要内容、关键词解释、咨询渠道;门户网站与福州日报同步发布。",
            "interpreter": s.clerk,
        }
        if s.risk:
            changes["risk_assessment"] = "涉及从业人员切身利益,舆情风险中等。"
            changes["response_plan"] = "设专人回应咨询;发布当日开展舆情监测。"
        self.wf.edit_document(s.clerk, doc, changes)
        self.wf.add_material(
            s.clerk, doc, form="text", title="文字解读", body="一、制定背景\n二、主要内容\n三、适用对象"
        )
        self.wf.add_material(s.clerk, doc, form="qa", title="答记者问", body="问:……\n答:……")
        self.wf.set_signers(s.clerk, doc, list(s.signers))
        self.wf.fire(s.clerk, doc, "request_signoff")

    def sign_all(self, key: str) -> None:
        for signer in SPECS[key].signers:
            self.wf.sign(signer, self.ids[key])

    def publish(self, key: str) -> None:
        n = SPECS[key].serial
        self.wf.fire(
            SPECS[key].clerk,
            self.ids[key],
            "publish",
            publication_url=f"https://jtj.fuzhou.example.cn/zwgk/zcwj/2024/{n}.htm",
        )

    def post(self, key: str) -> None:
        s, doc = SPECS[key], self.ids[key]
        n = s.serial
        self.wf.record_posting(
            s.clerk, doc, channel="portal", url=f"https://jtj.fuzhou.example.cn/zwgk/zcjd/2024/{n}.htm"
        )
        self.wf.record_posting(
            s.clerk,
            doc,
            channel="news_media",
            outlet="福州日报",
            url=f"https://fzrb.example.cn/2024/jd-{n}.htm",
        )


def _monday(story: Story) -> None:
    for key in ORDER[:-1]:  # the sign-off example starts later
        story.create(key)
    for key in ("on_time", "late", "overdue", "fixed", "filed"):
        story.wf.fire(SPECS[key].clerk, story.doc(key), "prepare_plan")


def _tuesday(story: Story) -> None:
    for key in ("on_time", "late", "overdue", "fixed", "filed"):
        story.plan(key)


def _wednesday(story: Story) -> None:
    story.wf.fire("director", story.doc("fixed"), "reject", reason="解读材料缺少图解,请补充后重新提交。")
    story.wf.fire("liu.spc", story.doc("withdrawn"), "withdraw", reason="上级政策调整,暂缓出台。")


def _thursday(story: Story) -> None:
    fixed = story.doc("fixed")
    story.wf.add_material(
        "liu.spc",
        fixed,
        form="graphic",
        title="一图读懂",
        uri="https://jtj.fuzhou.example.cn/zwgk/zcjd/2024/6-tj.png",
    )
    story.wf.fire("liu.spc", fixed, "request_signoff")
    for key in ("on_time", "late", "overdue", "fixed", "filed"):
        story.sign_all(key)
    story.wf.fire("liu.spc", story.doc("filed"), "file_undisclosed", reason="涉及内部管理事项,不予公开。")


def _friday(story: Story) -> None:
    for key in ("on_time", "late", "overdue"):
        story.publish(key)


def _back_at_work(story: Story) -> None:
    story.post("on_time")
    story.publish("fixed")
    story.create("signoff")
    story.wf.fire("xu.kxc", story.doc("signoff"), "prepare_plan")


def _late_posting(story: Story) -> None:
    story.post("late")
    story.post("fixed")


def _signoff(story: Story) -> None:
    story.plan("signoff")
    story.wf.sign("wu.kxc", story.doc("signoff"))


MOMENTS = [
    Moment(
        local(2024, 2, 5, 9, 0),
        (
            "审批处、科信处起草 6 份文件;5 份进入解读方案(谁起草谁解读)",
            "审批处 and 科信处 draft 6 documents; 5 move on to their interpretation plan",
        ),
        _monday,
    ),
    Moment(
        local(2024, 2, 6, 10, 0),
        (
            "方案、解读材料、审签人就绪,提交同步审签",
            "plans, materials and signers ready; joint sign-off requested",
        ),
        _tuesday,
    ),
    Moment(
        local(2024, 2, 7, 15, 0),
        (
            "张局长退回 #fixed(缺图解);#withdrawn 撤回",
            "the director rejects #fixed (no graphic); #withdrawn is withdrawn",
        ),
        _wednesday,
    ),
    Moment(
        local(2024, 2, 8, 10, 0),
        (
            "#fixed 补充图解后重新提交;全部签署;#filed 不予公开归档",
            "#fixed adds a graphic and is re-submitted; all signed; #filed filed as 不予公开",
        ),
        _thursday,
    ),
    Moment(
        local(2024, 2, 9, 10, 0),
        (
            "春节前的周五公开 #on_time #late #overdue:截止 2月20日(周二)",
            "published on the Friday before the Spring Festival: due Tue 20 February",
        ),
        _friday,
    ),
    Moment(
        local(2024, 2, 14, 10, 0),
        ("春节假期(2月10日—17日):不计工作日", "Spring Festival holiday (10–17 Feb): no working days"),
    ),
    Moment(
        local(2024, 2, 18, 10, 0),
        ("周日调休上班:第 1 个工作日", "make-up working Sunday: working day 1 of 3"),
    ),
    Moment(
        local(2024, 2, 19, 10, 0),
        (
            "#on_time 在门户网站和福州日报发布解读;#fixed 公开(截止 2月22日)",
            "#on_time posts its interpretation (portal + 福州日报); #fixed is published, due 22 Feb",
        ),
        _back_at_work,
    ),
    Moment(local(2024, 2, 20, 9, 0), ("截止日 09:00", "09:00 on the due day")),
    Moment(local(2024, 2, 21, 0, 0), ("截止时间已过", "the deadline has passed")),
    Moment(
        local(2024, 2, 21, 15, 0),
        ("#late 逾期后发布解读;#fixed 按时发布解读", "#late posts after the deadline; #fixed posts on time"),
        _late_posting,
    ),
    Moment(local(2024, 2, 22, 0, 0), ("逾期满 1 个工作日", "1 whole working day overdue")),
    Moment(
        local(2024, 2, 23, 10, 0),
        (
            "#signoff 提交审签,吴处长已签,待张局长签署",
            "#signoff: sign-off requested, signed by wu.kxc, awaiting the director",
        ),
        _signoff,
    ),
    Moment(local(2024, 2, 24, 0, 0), ("逾期满 3 个工作日", "3 whole working days overdue")),
    Moment(
        local(2024, 2, 26, 10, 0),
        ("周一:最后一次巡检,审计检查点", "Monday: a last sweep and an audit checkpoint"),
    ),
]


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
    from workflow.demo.report import label
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
    from workflow.demo.report import LEVELS, fmt_time, label

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
