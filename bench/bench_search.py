"""Benchmark: document search at 100,000 documents, SQLite and PostgreSQL; target p99 < 50 ms.

Run:  .venv/bin/python bench/bench_search.py [--scale 100000] [--runs 40] [--only sqlite|postgresql]

The documents are generated in Python from word lists (titles such as 福州市网约车经营服务管理
实施细则, a 文号, a body of ~900 Chinese characters assembled from the bureau's kind of
sentences, a plan of ~150), spread over the sample bureau's drafting units and every state,
created from 2019 to 2024 in the order of their ids (as a real table grows), and inserted in
batches through the migrated schema, so the search index is built the way the application
builds it (SQLite's triggers, PostgreSQL's GIN indexes); then ``ANALYZE``.

Measured: the real :meth:`Workflow.search_documents` (a transaction, the searcher's row, the read
rule, the match, 50 hits and their excerpts), each query ``--runs`` times after a warm-up, as a
supervisor (reads everything) and as a clerk (reads one unit's). The queries span what clerks
type: one 文号 (one hit), a rare phrase (~0.1 %), a subject (~5 %), a common phrase (~30 %),
a phrase almost every body holds, two words, a short word (titles and 文号 only), a word with
filters, and nothing found.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, Stats, application, backend, finish, shanghai

SUBJECTS = [
    "网约车",
    "出租汽车",
    "城市公交",
    "道路运输",
    "水路运输",
    "港口经营",
    "危险货物运输",
    "驾驶员培训",
    "机动车维修",
    "公路养护",
    "停车场",
    "新能源汽车充电",
    "货运物流",
    "客运站",
    "交通安全",
    "治超",
    "轨道交通",
    "共享单车",
    "城市配送",
    "汽车租赁",
]
KINDS = ["管理办法", "实施细则", "若干规定", "实施意见", "工作方案", "暂行办法", "通知", "指导意见"]
PREFIX = ["福州市", "福州市交通运输局关于", "关于进一步加强", "关于规范", "关于印发"]
SENTENCES = [
    "为规范{s}经营行为,保障乘客和经营者合法权益,根据有关法律法规,结合本市实际,制定本办法。",
    "本办法适用于本市行政区域内{s}的经营、服务及其监督管理活动。",
    "市交通运输主管部门负责本市{s}的监督管理工作,县(市)区交通运输主管部门按照职责分工负责本辖区内的监督管理。",
    "经营者应当依法取得相应许可,建立健全安全生产管理制度,落实安全生产主体责任。",
    "从业人员应当遵守法律法规和服务规范,文明服务,不得拒载、议价或者故意绕道。",
    "交通运输主管部门应当建立信用评价制度,对经营者和从业人员实施信用管理。",
    "违反本办法规定的,由交通运输主管部门责令改正,并依照有关法律法规予以处罚。",
    "鼓励{s}经营者采用新技术、新能源,提高服务质量和运营效率。",
    "有关部门应当加强对{s}的宣传和政策解读,及时回应社会关切。",
]
RARE = "氢燃料电池示范"  # planted in ~0.1 % of bodies
COMMON = "安全生产主体责任"  # in ~30 % of bodies (one sentence above, picked at random)
STATES = [
    "draft",
    "interpretation_plan",
    "joint_signoff",
    "published",
    "interpretation_posted",
    "interpretation_posted",
    "interpretation_posted",
    "withdrawn",
]
BATCH = 2000
FIRST_DAY = shanghai(2019, 1, 2, 9, 0)
SPAN_DAYS = 6 * 365  # 2019–2024


def _document(
    rng: random.Random, i: int, scale: int, units: list[int], clerk_of: dict[int, int]
) -> dict[str, object]:
    subject = rng.choice(SUBJECTS)
    title = f"{rng.choice(PREFIX)}{subject}{rng.choice(KINDS)}"
    created = FIRST_DAY + timedelta(days=SPAN_DAYS * i // scale, hours=i % 8)  # ids grow with time
    year = created.year
    sentences = [rng.choice(SENTENCES).format(s=subject) for _ in range(14)]
    if rng.random() < 0.001:
        sentences.insert(3, f"支持开展{RARE}应用。")
    body = "".join(f"第{n + 1}条 {text}" for n, text in enumerate(sentences))
    state = STATES[i % len(STATES)]
    published = created + timedelta(days=20) if state in ("published", "interpretation_posted") else None
    unit = units[i % len(units)]
    return {
        "unit_id": unit,
        "title": title,
        "doc_number": f"榕交〔{year}〕{i}号",
        "body": body,
        "disclosure": "proactive",
        "risk_assessment_needed": False,
        "plan": f"解读方案:{subject}政策背景、主要内容、关键词解释和{rng.choice(['图解', '问答', '视频'])}形式。",
        "state": state,
        "version": 1,
        "package_hash": "",
        "created_by": clerk_of[unit],
        "created_at": created,
        "updated_at": created,
        "published_at": published,
        "due_provisional": False,
    }


def populate(app, scale: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert, select, text

    from workflow.kernel.models import Document, Unit, User

    rng = random.Random(19)
    with app.db.transaction() as s:
        units = [u for (u,) in s.execute(select(Unit.id).where(Unit.kind == "drafting").order_by(Unit.id))]
        clerk_of = {
            unit: s.scalars(select(User.id).where(User.unit_id == unit)).first() or 1 for unit in units
        }
    started = time.perf_counter()
    for first in range(0, scale, BATCH):
        rows = [_document(rng, i, scale, units, clerk_of) for i in range(first, min(scale, first + BATCH))]
        with app.db.transaction() as s:
            s.execute(insert(Document), rows)
    with app.db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(
        f"  {scale:,} documents inserted and indexed in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


ONE = 4711  # an early document; its 文号 is one_number(scale)
QUERIES = [
    ("one 文号", "", {}),
    ("rare phrase (~0.1 %)", RARE, {}),
    ("subject (~5 %)", "网约车", {}),
    ("common phrase (~30 %)", COMMON, {}),
    ("in almost every body", "交通运输主管部门", {}),
    ("two words", "网约车 信用评价", {}),
    ("short word: titles only", "公交", {}),
    ("subject, published in 2023", "出租汽车", {"state": "interpretation_posted", "period": "2023"}),
    ("nothing found", "不存在的词语组合", {}),
]


def one_number(scale: int) -> str:
    return f"榕交〔{(FIRST_DAY + timedelta(days=SPAN_DAYS * ONE // scale)).year}〕{ONE}号"


def measure(app, runs: int, backend_name: str, scale: int) -> list[Figure]:  # type: ignore[no-untyped-def]
    figures: list[Figure] = []
    overall = {"supervisor": Stats(), "clerk": Stats()}
    for who, login in (("supervisor", "lin.zfc"), ("clerk", "liu.spc")):
        for name, q, kw in QUERIES:
            q = q or one_number(scale)
            found = app.wf.search_documents(login, q, **kw)  # warm-up, and a look at the answer
            stats = Stats()
            for _ in range(runs):
                started = time.perf_counter()
                app.wf.search_documents(login, q, **kw)
                stats.add(time.perf_counter() - started)
                overall[who].add(stats.samples[-1])
            print(
                f"  {backend_name} {who:<10} {name:<28} hits {len(found.hits):>3}{'+' if found.next_before_id else ' '}"
                f"  {stats.describe()}",
                file=sys.stderr,
            )
            figures.append(
                Figure(
                    "search",
                    f"{backend_name}, {who}: {name}, p99",
                    stats.p99 * 1e3,
                    "ms",
                    target="p99 < 50 ms",
                    met=stats.p99 < 0.050,
                )
            )
    for who, stats in overall.items():
        figures.append(
            Figure(
                "search",
                f"{backend_name}, {who}: every query, p99 (p50 {stats.p50 * 1e3:.1f} ms)",
                stats.p99 * 1e3,
                "ms",
                target="p99 < 50 ms",
                met=stats.p99 < 0.050,
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--json")
    parser.add_argument(
        "--quick", action="store_true", help="10,000 documents, 10 runs (python -m bench --quick)"
    )
    args = parser.parse_args()
    if args.quick:
        args.scale, args.runs = min(args.scale, 10_000), min(args.runs, 10)
    figures: list[Figure] = []
    for kind in ("sqlite", "postgresql"):
        if args.only and kind != args.only:
            continue
        with backend(kind, "search") as url, application(url) as app:
            populate(app, args.scale)
            figures += measure(app, args.runs, kind, args.scale)
    finish(figures, args.json)


if __name__ == "__main__":
    main()
