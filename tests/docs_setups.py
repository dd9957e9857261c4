"""The data a document of docs/ queries, made by the product's own services before the docs
test runs the document's commands (``<!-- docs-test: setup tests.docs_setups:NAME -->``).

Each builds ``santongbu.db`` in the folder the document runs in, through the services with an
injected clock, so the examples show what the product prints for the story the page tells.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import shanghai
from tests.factories import seed_bureau
from tests.integration.test_reports import SPC, Beat, publish
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.documents import Workflow


def _database(folder: Path) -> tuple[Database, FixedClock, Settings]:
    db = Database(f"sqlite:///{folder / 'santongbu.db'}")
    db.upgrade()
    clock = FixedClock(shanghai(2024, 1, 2, 9, 0))
    seed_bureau(db, clock)
    return db, clock, Settings(database_url=db.url, mail_folder=folder / "santongbu-mail")


def bureau(folder: Path) -> None:
    """The sample bureau, nothing else: a set-up installation."""
    _database(folder)[0].dispose()


def overdue_document(folder: Path) -> None:
    """One document published Fri 2024-02-09 (due Tue 20), swept as beat would until Wed 21
    10:00: reminded and overdue, not yet escalated (docs/enforcement.md's sweep by hand)."""
    db, clock, settings = _database(folder)
    beat = Beat(db, clock, settings)
    publish(
        Workflow(db, clock, settings),
        beat,
        SPC,
        number="榕交〔2024〕7号",
        title="福州市网约车管理办法",
        at=shanghai(2024, 2, 9, 10, 0),
    )
    beat.set(shanghai(2024, 2, 21, 10, 0))
    db.dispose()


def calendar_files(folder: Path) -> None:
    """docs/calendar.md: two documents with provisional deadlines in 2027, the corrected 2027
    schedule and two files with mistakes."""
    db, clock, settings = _database(folder)
    wf = Workflow(db, clock, settings)
    for n, day in enumerate((30, 31), start=1):
        publish(
            wf,
            clock,
            SPC,
            number=f"榕交〔2026〕{n}号",
            title=f"年末文件{n}",
            at=shanghai(2026, 12, day, 10, 0),
        )
    db.dispose()
    example = Path(__file__).resolve().parents[1] / "docs" / "calendar" / "2027-example.toml"
    (folder / "2027.toml").write_bytes(example.read_bytes())
    text = example.read_text(encoding="utf-8")
    (folder / "bad.toml").write_text(text.replace("date = 2027-02-20", "date = 2027-02-15"), encoding="utf-8")
    (folder / "bad2.toml").write_text(
        'year = 2027\nsource = "国办发明电"\nofficial = true\n\n[[holidays]]\nname = "元旦\n',
        encoding="utf-8",
    )
