"""The Alembic migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from workflow.kernel.db import Database
from workflow.kernel.models import Base
from workflow.kernel.search import not_search_object


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": not_search_object}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_is_idempotent_and_reaches_head(db: Database) -> None:
    from alembic.script import ScriptDirectory

    from workflow.kernel.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    db.upgrade()
    assert db.current_revision() == head
