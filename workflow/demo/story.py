"""The scripted story ``santongbu demo`` plays: its seven documents and the moments of February 2024.

Kept apart from :mod:`workflow.demo.run`, which starts the worker and moves the clock, because
this is the *what* of the demo — who drafts, signs, rejects and posts which document, and when —
and changes for different reasons (a new scene, another example) than the machinery that plays
it. Nothing here starts a worker or touches the database directly: the people act through
:class:`workflow.services.documents.Workflow`, handed in as ``Story.wf``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from states.deadline import overdue_words
from workflow.kernel.clock import FixedClock


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


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
    Moment(local(2024, 2, 22, 0, 0), (overdue_words(1, "zh"), overdue_words(1, "en"))),
    Moment(
        local(2024, 2, 23, 10, 0),
        (
            "#signoff 提交审签,吴处长已签,待张局长签署",
            "#signoff: sign-off requested, signed by wu.kxc, awaiting the director",
        ),
        _signoff,
    ),
    Moment(local(2024, 2, 24, 0, 0), (overdue_words(3, "zh"), overdue_words(3, "en"))),
    Moment(
        local(2024, 2, 26, 10, 0),
        ("周一:最后一次巡检,审计检查点", "Monday: a last sweep and an audit checkpoint"),
    ),
]
