"""Random users firing random triggers at random documents (hypothesis stateful testing).

Invariants after every step:
- nothing is published without a plan, a material and every required signature on the
  package as it now stands;
- nothing is ``interpretation_posted`` without a portal and a news-media posting;
- every trigger, accepted or refused, leaves exactly one audit event of its own;
- every chain verifies.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from states.lifecycle import Trigger
from tests.conftest import shanghai, truncate_all
from tests.factories import SAMPLE
from workflow.kernel import audit
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.errors import SantongbuError
from workflow.kernel.models import AuditEvent, Document, Posting, Signature, Signer
from workflow.kernel.settings import Settings
from workflow.services.directory import Directory
from workflow.services.documents import Workflow

REACHED: set[str] = set()  # states met across a run, to show the invariants were not vacuous
USERS = ["liu.spc", "chen.spc", "director", "xu.kxc", "lin.zfc", "admin"]
TRIGGERS = [t.value for t in Trigger]


class Lifecycle(RuleBasedStateMachine):
    make_db: staticmethod  # set per backend below
    folder: Path

    def __init__(self) -> None:
        super().__init__()
        self.db: Database = self.make_db()
        self.clock = FixedClock(shanghai(2024, 2, 8, 9, 0))
        self.wf = Workflow(self.db, self.clock, Settings(database_url=self.db.url, mail_folder=self.folder))
        self.docs: list[int] = []
        self.clerk_of: dict[int, str] = {}

    @initialize()
    def seed(self) -> None:
        """The bureau, plus one document taken to ``published`` and one to
        ``interpretation_posted``, so every example starts with the invariants in play."""
        Directory(self.db, self.clock).import_file(None, SAMPLE)
        for steps in (3, 4):
            doc = self.wf.create_document(
                "liu.spc",
                title="起点文件",
                doc_number="榕交〔2024〕1号",
                allow_duplicate_number=True,
                disclosure="proactive",
                risk_assessment_needed=False,
            ).document_id
            self.docs.append(doc)
            self.clerk_of[doc] = "liu.spc"
            for _ in range(steps):
                self._one_state_forward(doc)

    def teardown(self) -> None:
        if self.db.is_sqlite:
            self.db.dispose()

    def _count(self, doc: int, action: str) -> int:
        with self.db.transaction() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.chain == f"doc:{doc}", AuditEvent.action == action)
                )
                or 0
            )

    def _attempt(self, doc: int, action: str, call) -> None:  # type: ignore[no-untyped-def]
        """Run one command; whatever happens, exactly one event of its own is added, unless
        the input itself was rejected before any rule ran (InvalidInput/NotFound)."""
        before = self._count(doc, action)
        try:
            call()
            added = 1
        except SantongbuError as exc:
            added = 1 if exc.code in ("refused", "forbidden") else 0
        assert self._count(doc, action) - before == added

    @rule(
        user=st.sampled_from(USERS),
        risk=st.booleans(),
        disclosure=st.sampled_from(["proactive", "not_disclosed", None]),
    )
    def create(self, user: str, risk: bool, disclosure: str | None) -> None:
        try:
            out = self.wf.create_document(
                user,
                title="随机文件",
                doc_number="榕交〔2024〕9号",
                disclosure=disclosure,
                risk_assessment_needed=risk,
            )
            self.docs.append(out.document_id)
            self.clerk_of[out.document_id] = user
        except SantongbuError:
            pass

    @rule(
        data=st.data(),
        user=st.sampled_from(USERS),
        trigger=st.sampled_from(TRIGGERS),
        reason=st.sampled_from(["", "需修改"]),
    )
    def fire(self, data: st.DataObject, user: str, trigger: str, reason: str) -> None:
        if not self.docs:
            return
        doc = data.draw(st.sampled_from(self.docs))
        self._attempt(
            doc,
            trigger,
            lambda: self.wf.fire(
                user, doc, trigger, reason=reason or None, publication_url="https://p.example.cn/x"
            ),
        )

    @rule(
        data=st.data(),
        user=st.sampled_from(USERS),
        change=st.sampled_from(
            [
                {"plan": "方案"},
                {"body": "新正文"},
                {"interpreter": "liu.spc"},
                {"interpreter": "xu.kxc"},
                {"risk_assessment": "评估", "response_plan": "预案"},
                {"disclosure": "proactive"},
            ]
        ),
    )
    def edit(self, data: st.DataObject, user: str, change: dict[str, str]) -> None:
        if self.docs:
            doc = data.draw(st.sampled_from(self.docs))
            self._attempt(doc, "edit", lambda: self.wf.edit_document(user, doc, change))

    @rule(data=st.data(), user=st.sampled_from(USERS))
    def attach(self, data: st.DataObject, user: str) -> None:
        if self.docs:
            doc = data.draw(st.sampled_from(self.docs))
            self._attempt(
                doc,
                "attach_material",
                lambda: self.wf.add_material(user, doc, form="text", title="解读", body="内容"),
            )

    @rule(
        data=st.data(),
        user=st.sampled_from(USERS),
        signers=st.sampled_from([["chen.spc"], ["chen.spc", "director"], ["director"]]),
    )
    def name_signers(self, data: st.DataObject, user: str, signers: list[str]) -> None:
        if self.docs:
            doc = data.draw(st.sampled_from(self.docs))
            self._attempt(doc, "set_signers", lambda: self.wf.set_signers(user, doc, signers))

    @rule(data=st.data(), user=st.sampled_from(USERS))
    def sign(self, data: st.DataObject, user: str) -> None:
        if self.docs:
            doc = data.draw(st.sampled_from(self.docs))
            self._attempt(doc, "sign", lambda: self.wf.sign(user, doc))

    @rule(
        data=st.data(),
        user=st.sampled_from(USERS),
        channel=st.sampled_from(["portal", "news_media", "new_media"]),
    )
    def post(self, data: st.DataObject, user: str, channel: str) -> None:
        if self.docs:
            doc = data.draw(st.sampled_from(self.docs))
            self._attempt(
                doc,
                "record_posting",
                lambda: self.wf.record_posting(user, doc, channel=channel, url="https://m.example.cn/1"),
            )

    @rule(data=st.data())
    def progress(self, data: st.DataObject) -> None:
        """A diligent clerk takes the next right step, so random moves meet every state."""
        if not self.docs:
            return
        doc = data.draw(st.sampled_from(self.docs))
        for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
            self._one_state_forward(doc)

    def _one_state_forward(self, doc: int) -> None:
        clerk = self.clerk_of[doc]
        with self.db.transaction() as s:
            state = s.get(Document, doc).state
        steps = {
            "draft": [
                lambda: self.wf.edit_document(clerk, doc, {"disclosure": "proactive"}),
                lambda: self.wf.fire(clerk, doc, "prepare_plan"),
            ],
            "interpretation_plan": [
                lambda: self.wf.edit_document(
                    clerk,
                    doc,
                    {
                        "plan": "方案",
                        "interpreter": clerk,
                        "risk_assessment": "评估",
                        "response_plan": "预案",
                    },
                ),
                lambda: self.wf.add_material(
                    clerk, doc, form="video", title="视频", uri="https://v.example.cn/1"
                ),
                lambda: self.wf.set_signers(clerk, doc, ["chen.spc", "director"]),
                lambda: self.wf.fire(clerk, doc, "request_signoff"),
            ],
            "joint_signoff": [
                lambda: self.wf.sign("chen.spc", doc),
                lambda: self.wf.sign("director", doc),
                lambda: self.wf.fire(clerk, doc, "publish", publication_url="https://p.example.cn/1"),
            ],
            "published": [
                lambda: self.wf.record_posting(clerk, doc, channel="portal", url="https://p.example.cn/2"),
                lambda: self.wf.record_posting(clerk, doc, channel="news_media", evidence="报纸"),
            ],
        }.get(state, [])
        for step in steps:
            try:
                step()
            except SantongbuError:
                pass
        with self.db.transaction() as s:
            REACHED.add(s.get(Document, doc).state)

    @rule(hours=st.integers(min_value=1, max_value=72))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @invariant()
    def published_only_when_complete_and_signed(self) -> None:
        with self.db.transaction() as s:
            for doc in s.scalars(
                select(Document).where(Document.state.in_(["published", "interpretation_posted"]))
            ):
                assert doc.plan and doc.materials, doc.id
                signers = {x.user_id for x in s.scalars(select(Signer).where(Signer.document_id == doc.id))}
                valid = {
                    x.user_id
                    for x in s.scalars(
                        select(Signature).where(
                            Signature.document_id == doc.id,
                            Signature.voided_at.is_(None),
                            Signature.package_hash == doc.package_hash,
                        )
                    )
                }
                assert signers and signers <= valid, doc.id
                assert doc.disclosure != "not_disclosed"
                assert doc.due_at is not None and doc.published_at is not None

    @invariant()
    def posted_only_with_portal_and_news_media(self) -> None:
        with self.db.transaction() as s:
            for doc in s.scalars(select(Document).where(Document.state == "interpretation_posted")):
                channels = {
                    p.channel for p in s.scalars(select(Posting).where(Posting.document_id == doc.id))
                }
                assert {"portal", "news_media"} <= channels
                assert doc.on_time is not None and doc.posted_at is not None

    @invariant()
    def the_chain_verifies(self) -> None:
        with self.db.transaction() as s:
            report = audit.verify(s)
            assert report.ok, report.as_dict()


def _run(make_db, folder: Path, examples: int) -> None:  # type: ignore[no-untyped-def]
    machine = type("Machine", (Lifecycle,), {"make_db": staticmethod(make_db), "folder": folder})
    machine.TestCase.settings = hsettings(
        max_examples=examples,
        stateful_step_count=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine.TestCase().runTest()


def test_random_triggers_on_sqlite(sqlite_template: Path, tmp_path: Path) -> None:
    counter = iter(range(10_000))

    def make_db() -> Database:
        path = tmp_path / f"s{next(counter)}.db"
        shutil.copy(sqlite_template, path)
        return Database(f"sqlite:///{path}")

    REACHED.clear()
    _run(make_db, tmp_path / "mail", examples=12)
    assert {"published", "interpretation_posted"} <= REACHED, REACHED


@pytest.mark.postgres
def test_random_triggers_on_postgresql(pg_migrated: Database, tmp_path: Path) -> None:
    def make_db() -> Database:
        truncate_all(pg_migrated)
        return pg_migrated

    REACHED.clear()
    _run(make_db, tmp_path / "mail", examples=6)
    assert {"published", "interpretation_posted"} <= REACHED, REACHED
